"""benchmarks/bench_cuba.py and the CUBA code behind it: the network neurosim times is the one
handed to Brian2 (same synapses, initial potentials and weights), a fresh network of the same
parts repeats the same run, and render() turns a results file into the README table. (The
benchmark itself compiles Brian2's C++ project: too slow for a unit test.)"""


import numpy as np
import pytest

from neurosim.studies import peer_benchmarks as pb
from tests.benchmark_scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_cuba.py")


def test_brian2_gets_the_network_neurosim_runs():
    parts = pb.cuba_parts(500, seed=3)
    arrays = pb.cuba_arrays(parts)
    net, _ = pb.cuba_network(parts, np.float64)
    assert arrays["n"] == 500 and arrays["n_exc"] == 400
    assert arrays["exc_i"].size + arrays["inh_i"].size == net.n_synapses
    assert arrays["exc_i"].max() < 400 and arrays["inh_i"].min() >= 400
    assert arrays["w_exc"] == float(np.float32(1.62)) and arrays["w_inh"] == -9.0
    assert np.array_equal(arrays["v0"][:400], parts["exc"].v0)
    # the same synapses as the projections, in global numbering
    pairs = {(int(i), int(j)) for i, j in zip(arrays["inh_i"], arrays["inh_j"])}
    inh_inh = next(p for p in parts["projections"] if p.pre is parts["inh"]
                   and p.post is parts["inh"])
    assert {(int(i) + 400, int(j) + 400) for i, j in zip(inh_inh.pre_idx, inh_inh.post_idx)} \
        <= pairs


def test_fresh_networks_of_the_same_parts_repeat_the_run():
    parts = pb.cuba_parts(400, seed=0)
    runs = []
    for _ in range(2):
        net, mons = pb.cuba_network(parts, np.float64)
        net.run(0.05, progress=False)
        runs.append(pb.spike_arrays(mons))
    assert runs[0][0].size > 0
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_neurosim_side_reports_a_median_of_repeats():
    result = pb.bench_cuba(300, 0.02, compare=None, dtype=np.float64, repeats=2)
    timing = result["neurosim_timing"]
    assert timing["repeats"] == 2 and len(timing["times_s"]) == 2
    assert result["neurosim_s"] == timing["median_s"] and result["neurosim_dtype"] == "float64"


def test_render_shows_medians_ratio_and_check(bench):
    side = {"median_s": 0.5, "min_s": 0.4, "max_s": 0.6, "times_s": [0.4, 0.5, 0.6],
            "repeats": 3, "warmup_calls": 1}
    row = {"neurons": 4000, "dtype": "float64", "threads": 1, "neurosim_rate_hz": 5.6,
           "brian2_rate_hz": 5.7, "sides": {"neurosim": side, "brian2": {**side,
                                                                           "median_s": 1.5}},
           "ratio_brian2_over_neurosim": 3.0,
           "check": {"passed": True, "rate_rel_diff": 0.0175, "tolerance": 0.1,
                     "same_spike_count": False}}
    text = bench.render({"duration_s": 1.0, "repeats": 3, "rate_tolerance": 0.1,
                         "rows": [row], "checks_passed": True,
                         "environment": {"cpu": "cpu", "cores": 2,
                                         "versions": {"brian2": "2.9.0"}}})
    assert "| 4,000 | float64 | 1 | 0.5 (0.4-0.6) | 1.5 (0.4-0.6) | 3.00x |" in text
    assert "ok (1.8% <= 10%)" in text and "All checks passed: yes" in text
