"""Networks against Brian2 (numpy target, no compiler, float64): the checks of
`neurosim validate brian2`. Deterministic networks must give identical spikes (same neuron, same
step); the chaotic CUBA network is identical until its first differing spike, which must be a
rounding-level threshold decision."""

import numpy as np
import pytest

from neurosim.studies import brian2_crosscheck

pytest.importorskip("brian2")
pytestmark = pytest.mark.brian2


def test_first_difference_finds_the_earliest_spike_in_one_set_only():
    ours = {(3, 1), (5, 2), (5, 7), (9, 0)}
    theirs = {(3, 1), (5, 7), (6, 4), (9, 0)}
    first = brian2_crosscheck.first_difference(ours, theirs)
    assert first == {"step": 5, "neuron": 2, "spiked_in": "neurosim", "same_spikes_before": 1}
    assert brian2_crosscheck.first_difference(ours, set(ours)) is None


def test_lif_population_spike_for_spike():
    result = brian2_crosscheck.check_lif_population(n=100, steps=2000)
    assert result["neurosim_spikes"] > 500
    assert result["identical"] and result["passed"], result


def test_feedforward_network_identical_spikes():
    result = brian2_crosscheck.check_feedforward(n=300, duration_s=0.2)
    assert result["neurosim_spikes"] > 300
    assert result["identical"] and result["passed"], result


def test_feedforward_layers_identical_spikes():
    result = brian2_crosscheck.check_feedforward_layers(duration_s=0.2)
    assert result["neurosim_spikes"] > 400  # layer 2 fires only when layer 1 drives it
    assert result["identical"] and result["passed"], result


def test_recurrent_network_identical_spikes():
    result = brian2_crosscheck.check_recurrent(n=300, duration_s=0.3)
    assert result["neurosim_spikes"] > 300
    assert result["identical"] and result["passed"], result


def test_jumps_onto_v_during_refractoriness_are_discarded_as_in_brian2():
    result = brian2_crosscheck.check_refractory_jumps(n=200, duration_s=0.3)
    assert result["neurosim_spikes"] > 500
    assert result["identical"] and result["passed"], result


def test_one_neuron_refractory_jumps_match_brian2_step_for_step():
    """+15 mV jumps at 1.0, 1.1 (the spike step), 1.5, 3.0 (last refractory step) and 3.1 ms
    onto one neuron (threshold 10 mV, t_ref 2 ms): Brian2 and neurosim spike at the same steps
    and have the same v after every step."""
    from neurosim.studies.brian2_gallery import brian2_refractory_probe
    from tests.test_network_models import _one_neuron

    times_ms = [1.0, 1.1, 1.5, 3.0, 3.1]
    probe = brian2_refractory_probe(times_ms, 15.0, t_ref_ms=2.0, duration_ms=5.0)
    net, mon, state = _one_neuron([t * 1e-3 for t in times_ms], 15.0)
    net.run(0.005, progress=False)
    assert mon.steps.tolist() == list(probe.spike_steps) == [11, 32]
    np.testing.assert_allclose(state.v[:, 0], np.asarray(probe.v_mv)[:len(state.v)],
                               rtol=1e-9, atol=1e-9)


def test_cuba_diagnosis_reads_both_simulators_state_at_a_shared_spike():
    """The diagnosis machinery on a small CUBA network, at a spike both simulators emit: the
    states entering the step agree to rounding, and each side's update, recomputed with its own
    formula, crosses the threshold (so it is not a rounding-decided difference)."""
    from neurosim.studies.peer_benchmarks import cuba_arrays, cuba_parts

    parts = cuba_parts(400, 0)
    arrays = cuba_arrays(parts)
    ours, _, _ = brian2_crosscheck._cuba_neurosim(parts, 0.05)
    theirs, _ = brian2_crosscheck._cuba_brian2(arrays, 0.05)
    assert brian2_crosscheck.first_difference(ours, theirs) is None  # float64: identical
    shared = sorted(s for s in ours & theirs if s[0] > 20)
    assert shared, "no spike both simulators emit"
    step, neuron = shared[0]
    diag = brian2_crosscheck.diagnose_cuba(parts, arrays, step, neuron)
    assert max(diag["max_rel_diff_before"].values()) < 1e-12, diag
    ours_v, theirs_v = diag["neurosim_v_after_update_mV"], diag["brian2_v_after_update_V"]
    assert ours_v > -50.0 and theirs_v is not None and theirs_v > -0.05
    assert ours_v == pytest.approx(theirs_v * 1e3, rel=1e-12)
    assert not diag["rounding_decided"]
    state = diag["state_entering_step"]
    assert state["neurosim_mV"]["v"] == pytest.approx(state["brian2_V"]["v"] * 1e3, rel=1e-12)
    assert np.isfinite(diag["margin_mV"])


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuba_identical_until_a_rounding_decided_divergence(dtype):
    """float64: no differing spike in 1 s; float32: the first one (at 16.7 ms on this network)
    is a threshold decision a few ulp from -50 mV."""
    result = brian2_crosscheck.check_cuba(n=4000, duration_s=1.0, dtype=dtype)
    assert result["rate_rel_diff"] <= 0.05, result
    assert result["passed"], result
    if not result["identical"]:
        assert result["diagnosis"]["rounding_decided"], result
        assert result["first_difference"]["same_spikes_before"] > 0
