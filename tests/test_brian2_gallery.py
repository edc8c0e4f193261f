"""The gallery's Brian2 references (numpy target, tiny sizes): Brunel_2000.py and COBA give
spikes neurosim's statistics can read, and the one-neuron probes show how Brian2 treats jumps
onto ``v`` around a spike (discarded in the firing step and during the refractory period)."""

import numpy as np
import pytest

pytest.importorskip("brian2")

from neurosim.gallery.stats import spike_statistics  # noqa: E402
from neurosim.studies import brian2_gallery as b2g  # noqa: E402

pytestmark = pytest.mark.brian2


def check_run(run, n_neurons, n_steps):
    assert run.n_neurons == n_neurons and run.n_steps == n_steps and run.dt_s == 1e-4
    assert run.steps.dtype == np.int64 and run.indices.dtype == np.int64
    assert run.steps.shape == run.indices.shape
    assert run.indices.min() >= 0 and run.indices.max() < n_neurons
    assert run.steps.min() >= 0 and run.steps.max() < n_steps
    order = np.lexsort((run.indices, run.steps))
    assert np.array_equal(order, np.arange(run.steps.size))  # sorted by step, then index
    assert run.run_s > 0 and run.build_s >= 0 and run.target == "numpy"
    return spike_statistics(run.steps, run.indices, n_neurons, n_steps, run.dt_s)


def test_brunel_sizes_follow_the_example():
    assert b2g.brunel_sizes(1.0) == {"n_exc": 10_000, "n_inh": 2500, "epsilon": 0.1,
                                     "c_e": 1000.0, "c_ext": 1000}
    small = b2g.brunel_sizes(0.02)
    assert (small["n_exc"], small["n_inh"], small["c_ext"]) == (200, 50, 20)


def test_brunel_small_runs_and_is_reproducible():
    run = b2g.brian2_brunel(5, 2, scale=0.02, duration_s=0.1, seed=3)
    stats = check_run(run, 250, 1000)
    # an excitatory neuron's first recurrent kick arrives after D = 1.5 ms, the Poisson drive
    # (2 x threshold rate) fires every neuron within the first 100 ms
    assert 5 < stats["rate_hz"] < 300 and stats["fraction_active"] > 0.9
    again = b2g.brian2_brunel(5, 2, scale=0.02, duration_s=0.1, seed=3)
    assert np.array_equal(run.steps, again.steps) and np.array_equal(run.indices, again.indices)
    assert run.params["c_ext"] == 20 and run.params["g"] == 5.0


def test_brunel_inhibition_lowers_the_rate():
    weak = check_run(b2g.brian2_brunel(2, 2, scale=0.02, duration_s=0.1), 250, 1000)
    strong = check_run(b2g.brian2_brunel(8, 2, scale=0.02, duration_s=0.1), 250, 1000)
    assert strong["rate_hz"] < weak["rate_hz"]


def test_coba_small_runs():
    run = b2g.brian2_coba(400, duration_s=0.1, seed=1)
    stats = check_run(run, 400, 1000)
    assert run.params["n_exc"] == 320 and run.params["p"] == pytest.approx(0.2)
    assert 0 < stats["rate_hz"] < 100


def test_refractory_probe_discards_jumps_in_and_after_the_firing_step():
    # kicks of 6 mV at steps 10, 11 (v ~ 11.97 mV > 10 mV): spike at step 12, when the next
    # kick lands; 2 ms of refractoriness = steps 12..31; kicks at 15 and 31 lost, 32 lands
    probe = b2g.brian2_refractory_probe([1.0, 1.1, 1.2, 1.5, 3.1, 3.2], 6.0, t_ref_ms=2.0,
                                        duration_ms=4.0)
    assert probe.refractory_steps == 20
    assert probe.spike_steps.tolist() == [12]
    decay = np.exp(-1e-4 / 20e-3)
    assert probe.v_mv[10] == pytest.approx(6.0)
    assert probe.v_mv[11] == pytest.approx(6.0 * decay + 6.0)
    assert np.all(probe.v_mv[12:32] == 0.0)  # the firing-step kick and later ones discarded
    assert probe.v_mv[32] == pytest.approx(6.0)
    assert probe.v_mv[33] == pytest.approx(6.0 * decay)


def test_refractory_probe_without_refractoriness_still_loses_the_firing_step_kick():
    probe = b2g.brian2_refractory_probe([1.0, 1.1, 1.2, 1.3], 6.0, t_ref_ms=0.0,
                                        duration_ms=2.0)
    assert probe.spike_steps.tolist() == [12]
    assert probe.v_mv[12] == 0.0 and probe.v_mv[13] == pytest.approx(6.0)


def test_poisson_input_is_discarded_during_refractoriness():
    probe = b2g.brian2_poisson_input_probe(10, n_inputs=100, rate_hz=200.0, weight_mv=1.0,
                                           t_ref_ms=2.0, duration_ms=50.0, seed=0)
    assert probe.steps.size > 20
    n_steps = probe.v_mv.shape[1]
    for step, neuron in zip(probe.steps, probe.indices):
        held = probe.v_mv[neuron, step:min(step + probe.refractory_steps, n_steps)]
        assert np.all(held == 10.0)  # v = V_r for the whole period despite ~2 kicks a step


@pytest.mark.parametrize("call, error", [
    (lambda: b2g.brian2_brunel(5, 2, scale=0.0001), ValueError),
    (lambda: b2g.brian2_brunel(5, 2, scale=0.02, target="cuda"), ValueError),
    (lambda: b2g.brian2_brunel(5, 2, scale=0.02, dtype=np.int32), TypeError),
    (lambda: b2g.brian2_brunel(-1, 2, scale=0.02), ValueError),
    (lambda: b2g.brian2_coba(400, duration_s=0.0), ValueError),
    (lambda: b2g.brian2_coba(3), ValueError),
    (lambda: b2g.brian2_refractory_probe([1.0, 1.01], 6.0), ValueError),
    (lambda: b2g.brian2_refractory_probe([5.0], 6.0, duration_ms=2.0), ValueError),
])
def test_bad_arguments_raise_before_brian2_runs(call, error):
    with pytest.raises(error):
        call()
