"""benchmarks/bench_gallery.py: the networks it times are the ones it says (fresh networks of
a gallery model repeat the run; Brunel's scaling network has the paper's in-degrees), its
throughput figures follow from the spikes and times it recorded, its checks compare the rates
as stated, and render()/render_scaling() turn results files into the README tables. (Brian2's
side compiles a C++ project per row: too slow for a unit test; ``bench_gallery.py speed
--quick`` runs it.)"""

import argparse
import json

import numpy as np
import pytest

from neurosim import gallery
from neurosim.studies import brian2_gallery as b2g
from tests.benchmark_scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_gallery.py")


def test_fresh_networks_of_a_gallery_model_repeat_the_run(bench):
    model = gallery.build("coba", n=300, seed=1, dtype=np.float32)
    runs = []
    for _ in range(2):
        net, monitors = bench.fresh_network(model)
        net.run(0.05, progress=False)
        runs.append(bench.global_spikes(model.populations, monitors))
    steps, idx = runs[0]
    assert steps.size > 0 and idx.max() >= model.populations[0].n  # inhibitory ones numbered
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_brunel_scaling_network_has_the_papers_in_degrees(bench):
    net, (exc, inh), _ = bench.brunel_fixed_indegree(1300, g=5.0, seed=2, dtype=np.float32)
    assert (exc.n, inh.n) == (1040, 260)
    for proj in net.projections:
        k = bench.BRUNEL_C_E if proj.pre is exc else bench.BRUNEL_C_I
        assert np.array_equal(np.bincount(proj.post_idx, minlength=proj.post.n),
                              np.full(proj.post.n, k))
        assert np.allclose(proj.weight, 0.1 if proj.pre is exc else -0.5)
        assert proj.target == "v" and np.all(proj.delay_steps == 15)
    assert net.n_synapses == 1300 * (bench.BRUNEL_C_E + bench.BRUNEL_C_I)
    # C_ext = C_E inputs at nu_ratio * theta / (J C_E tau) = 2 * 10 Hz
    assert [(d.n, d.rate_hz) for d in net.drives] == [(1000, pytest.approx(20.0))] * 2
    with pytest.raises(ValueError, match="too few"):
        bench.brunel_fixed_indegree(1000)


def test_scaling_figures_follow_from_the_recorded_spikes(bench):
    row = bench.neurosim_scaling("cuba", 600, 0.02, "float32", 2, seed=0)
    steps = 200
    assert row["steps"] == steps and len(row["spikes_per_run"]) == 2
    median_s = row["timing"]["median_s"]
    assert row["neuron_updates_per_s"] == pytest.approx(600 * steps / median_s)
    assert row["synaptic_events_per_s"] == pytest.approx(
        np.median(row["spikes_per_run"]) * row["synapses"] / 600 / median_s)
    assert row["rate_hz"] == pytest.approx(sum(row["spikes_per_run"]) / (600 * 0.02 * 2))
    assert row["rate_hz"] > 0 and row["memory_estimate_bytes"] > 8 * row["synapses"]


def test_a_size_too_large_is_skipped_before_building(bench):
    args = argparse.Namespace(max_gb=1.0, repeats=5, seed=0, brian2_sizes="")
    row = bench.scaling_row("brunel", 1_000_000, 0.1, args, "float32", 1)
    assert row["skipped"].startswith("needs about 83 GB")
    assert row["planned_bytes"] == bench.planned_bytes("brunel", 1_000_000)
    assert "skipped: needs about 83 GB" in bench.render_scaling(
        {"dtype": "float32", "threads": 2, "repeats": 5, "rows": [row]})


def test_scaling_command_writes_its_table(bench, tmp_path):
    out = tmp_path / "scaling.json"
    result = bench.main(["scaling", "--quick", "--repeats", "1", "--sizes", "400",
                         "--networks", "cuba", "--brian2-sizes", "", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["rows"][0]["neurons"] == 400 and saved["environment"]["settings"]["quick"]
    assert "| CUBA (80 synapses/neuron) | 400 |" in bench.render_scaling(result)


def test_speed_row_compares_rates_and_takes_the_ratio_of_medians(bench, monkeypatch):
    seen = {}

    class Peer:  # Brian2's binary: ready at once, each re-run "takes" 0.3 s
        def ready(self):
            seen["ready"] = True

        def rerun(self):
            seen["reruns"] = seen.get("reruns", 0) + 1
            return 0.3

    def fake_brian2(spec, args, dtype, threads, repeats, duration_s, transient_s, seed,
                    between=None):
        seen.update(args=args, dtype=dtype, threads=threads, reruns=0)
        stats = {"rate_hz": seen["rate"], "synchrony": 0.5, "cv_isi": float("nan")}
        times = [0.3, 0.2, 0.4]
        ours = between(Peer())  # neurosim's timed runs, interleaved with the re-runs
        assert seen["ready"] and seen["reruns"] == repeats
        return {"timing": {"median_s": 0.3, "min_s": 0.2, "max_s": 0.4, "times_s": times},
                "stats": stats, "neurons": 1000, "build_s": 1.0,
                "between": ours}

    monkeypatch.setattr(bench, "brian2_speed", fake_brian2)
    args = argparse.Namespace(quick=True, seed=0, repeats=1, duration=0.1, transient=0.02)
    seen["rate"] = 1.0
    ours = bench.speed_row("coba", "float32", 1, args)["stats"]["neurosim"]["rate_hz"]
    assert ours > 1.0  # quick COBA: 1,000 neurons
    for factor, passed in ((1.04, True), (1.2, False)):
        seen["rate"] = ours * factor
        row = bench.speed_row("coba", "float32", 1, args)
        assert row["stats"]["neurosim"]["rate_hz"] == ours  # the same run again
        assert row["ratio_brian2_over_neurosim"] == pytest.approx(
            0.3 / row["sides"]["neurosim"]["median_s"])
        assert row["check"]["rate_rel_diff"] == pytest.approx(abs(ours - seen["rate"])
                                                              / seen["rate"])
        assert row["check"]["passed"] is passed and row["check"]["tolerance"] == 0.05
        assert seen["args"] == {"n": 1000} and seen["dtype"] == "float32"
        assert row["neurons"] == 1000 and row["check"]["neurons_equal"]
    spread = {"seeds": [1, 2], "rates_hz": [15.0, 16.0], "dtype": "float32", "rel_sd": 0.0456}
    text = bench.render({"duration_s": 0.1, "transient_s": 0.02, "repeats": 1,
                         "goal_ratio": 3.0, "rows": [row], "checks_passed": False,
                         "seed_spread": {"coba": spread},
                         "environment": {"cpu": "cpu", "cores": 2,
                                         "versions": {"brian2": "2.9.0"}}})
    assert "| COBA | 1,000 | float32 | 1 |" in text and "0.3 (0.2-0.4)" in text
    assert "/ - |" in text  # a NaN CV is shown as a dash
    assert "All checks passed: **no**" in text
    assert "realizations with 2 other seeds: COBA 4.6%" in text


def test_seed_spread_runs_other_seeds(bench):
    args = argparse.Namespace(quick=True, seed=0, seed_spread=2, duration=0.05, transient=0.01)
    spread = bench.seed_spread("coba", args, "float32")
    assert spread["seeds"] == [1, 2] and len(spread["rates_hz"]) == 2
    rates = [gallery.simulate("coba", n=1000, seed=s, duration_s=0.05,
                              transient_s=0.01).stats["rate_hz"] for s in (1, 2)]
    assert spread["rates_hz"] == rates


def test_brian2_reruns_are_checked():
    with pytest.raises(ValueError):
        b2g.brian2_coba(100, duration_s=0.01, reruns=-1)
