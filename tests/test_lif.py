import math

import numba
import numpy as np
import pytest

import neurosim as ns
from tests import naive

DT = 1e-4


def _random_currents(steps, n, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return rng.random((steps, n)) * scale


@pytest.mark.parametrize("params", [
    ns.LIFParams(tau_m_s=0.01, v_th=1.0, v_reset=0.0, t_ref_s=0.002),
    ns.LIFParams(tau_m_s=0.02, v_rest=-0.7, v_reset=-0.6, v_th=-0.5, r_m=0.5, reset="subtract"),
    ns.IFParams(tau_m_s=0.005, v_th=1.0),
    ns.IFParams(tau_m_s=0.005, v_th=0.5, reset="value", t_ref_s=0.0005),
])
def test_kernel_matches_naive(params):
    currents = _random_currents(400, 257)
    run = ns.lif_run(currents, params, DT, record_v=True)
    spikes, trace = naive.lif_run(currents, params, DT)
    assert np.array_equal(run.spikes, spikes)
    np.testing.assert_allclose(run.v, trace, rtol=1e-12, atol=1e-12)
    assert 0 < spikes.mean() < 0.5  # neither silent nor saturated


@pytest.mark.parametrize("current", [1.2, 1.5, 2.0, 5.0, 20.0])
@pytest.mark.parametrize("t_ref_s", [0.0, 0.002])
def test_isi_matches_theory_within_one_step(current, t_ref_s):
    params = ns.LIFParams(tau_m_s=0.02, v_th=1.0, v_reset=0.0, t_ref_s=t_ref_s)
    steps = 20_000
    run = ns.lif_run(np.full((steps, 1), current), params, DT)
    spike_steps = np.flatnonzero(run.spikes[:, 0])
    isis = np.diff(spike_steps) * DT
    assert len(isis) >= 3
    theory = t_ref_s + params.tau_m_s * math.log(current / (current - 1.0))
    assert theory == pytest.approx(ns.lif_isi_theory(params, current))
    assert np.all(np.abs(isis - theory) <= DT + 1e-12), (isis[:5], theory)


@pytest.mark.parametrize("current", [0.0, 0.5, 0.999, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_spike_when_drive_at_or_below_threshold(current, dtype):
    params = ns.LIFParams(tau_m_s=0.01, v_th=1.0, r_m=1.0)
    run = ns.lif_run(np.full((100_000, 2), current, dtype), params, DT, dtype=dtype)
    assert not run.spikes.any()
    assert math.isinf(ns.lif_isi_theory(params, current))


def test_if_neuron_rate_is_input_over_threshold():
    """IF with reset by subtraction and the strict threshold ``v > v_th``: over T steps the count
    is exactly ceil(T * gain * I / v_th) - 1 (the potential keeps every remainder)."""
    params = ns.IFParams(tau_m_s=DT, v_th=1.0)  # gain = r_m dt / tau = 1
    drive = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 0.999])
    counts = ns.lif_run(np.tile(drive, (64, 1)), params, DT).spikes.sum(axis=0)
    expected = np.maximum(np.ceil(64 * drive - 1e-9) - 1, 0)
    assert counts.tolist() == expected.tolist() == [0, 6, 15, 31, 47, 63]


def test_step_loop_equals_run_and_batched_shape():
    params = ns.LIFParams(tau_m_s=0.01, t_ref_s=0.001)
    currents = _random_currents(120, 3 * 40, seed=4).reshape(120, 3, 40)
    whole = ns.lif_run(currents, params, DT)
    pop = ns.LIFCell((3, 40), params, dt_s=DT)
    stepped = np.array([pop.step(c) for c in currents])
    assert stepped.shape == (120, 3, 40)
    assert np.array_equal(stepped, whole.spikes)
    np.testing.assert_array_equal(pop.state.v, whole.state.v)
    np.testing.assert_array_equal(pop.state.refractory, whole.state.refractory)
    # two half runs continue exactly where the first stopped
    first = ns.lif_run(currents[:50], params, DT)
    second = ns.lif_run(currents[50:], params, DT, first.state)
    assert np.array_equal(np.concatenate([first.spikes, second.spikes]), whole.spikes)


def test_float32_close_to_float64():
    params = ns.LIFParams(tau_m_s=0.01, t_ref_s=0.001)
    currents = _random_currents(300, 500, seed=2)
    r64 = ns.lif_run(currents, params, DT, dtype=np.float64, record_v=True)
    r32 = ns.lif_run(currents, params, DT, dtype=np.float32, record_v=True)
    assert r32.v.dtype == np.float32 and r32.state.v.dtype == np.float32
    # a spike can move only where v lands within float32 rounding of threshold
    assert (r32.spikes != r64.spikes).mean() < 1e-3
    assert r32.spikes.sum() == pytest.approx(r64.spikes.sum(), rel=1e-2)


def test_bit_identical_across_runs_and_thread_counts():
    params = ns.LIFParams(tau_m_s=0.01, t_ref_s=0.001, reset="subtract")
    currents = _random_currents(50, 50_000, seed=5).astype(np.float32)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = ns.lif_run(currents, params, DT, dtype=np.float32, record_v=True)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = ns.lif_run(currents, params, DT, dtype=np.float32, record_v=True)
        again = ns.lif_run(currents, params, DT, dtype=np.float32, record_v=True)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one.spikes, two.spikes) and np.array_equal(two.spikes, again.spikes)
    assert np.array_equal(one.v, two.v)


def test_given_state_is_not_modified():
    params = ns.LIFParams()
    state = ns.LIFState.initial(4, params, v0=0.9)
    ns.lif_run(np.full((10, 4), 2.0), params, DT, state)
    assert np.all(state.v == 0.9)


@pytest.mark.parametrize("make, err, match", [
    (lambda: ns.LIFParams(tau_m_s=0), ValueError, "tau_m_s"),
    (lambda: ns.LIFParams(tau_m_s=-1e-3), ValueError, "tau_m_s"),
    (lambda: ns.LIFParams(v_th=float("nan")), ValueError, "v_th"),
    (lambda: ns.LIFParams(v_th=0.0, v_reset=0.5), ValueError, "v_th must be above v_reset"),
    (lambda: ns.LIFParams(t_ref_s=-1.0), ValueError, "t_ref_s"),
    (lambda: ns.LIFParams(reset="zero"), ValueError, "reset"),
    (lambda: ns.LIFParams(r_m=float("inf")), ValueError, "r_m"),
    (lambda: ns.LIFParams(tau_m_s="20ms"), TypeError, "tau_m_s"),
    (lambda: ns.lif_run(np.ones((5, 3)), ns.LIFParams(), 0.0), ValueError, "dt_s"),
    (lambda: ns.lif_run(np.ones((5, 3)), ns.LIFParams(), -1e-4), ValueError, "dt_s"),
    (lambda: ns.lif_run(np.ones(5), ns.LIFParams(), DT), ValueError, "currents"),
    (lambda: ns.lif_run(np.ones((5, 0)), ns.LIFParams(), DT), ValueError, "currents"),
    (lambda: ns.lif_run(np.full((5, 3), np.nan), ns.LIFParams(), DT), ValueError, "finite"),
    (lambda: ns.lif_run(np.full((5, 3), "a"), ns.LIFParams(), DT), TypeError, "currents"),
    (lambda: ns.lif_run(np.ones((5, 3)), {"v_th": 1}, DT), TypeError, "params"),
    (lambda: ns.lif_run(np.ones((5, 3)), ns.LIFParams(), DT, dtype=np.int32), TypeError,
     "dtype"),
    (lambda: ns.lif_run(np.ones((5, 3)), ns.LIFParams(), DT,
                        ns.LIFState.initial(4, ns.LIFParams())), ValueError, "shape"),
    (lambda: ns.lif_run(np.ones((5, 3)), ns.LIFParams(), DT,
                        ns.LIFState.initial(3, ns.LIFParams()), dtype=np.float32), TypeError,
     "dtype"),
    (lambda: ns.LIFState.initial(0, ns.LIFParams()), ValueError, "non-empty"),
    (lambda: ns.LIFCell(4, backend="gpu"), ValueError, "backend"),
])
def test_bad_input_raises_clear_errors(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_constant_input_mode_equals_explicit_currents():
    params = ns.LIFParams(tau_m_s=0.01, t_ref_s=0.001)
    levels = np.linspace(0.5, 4.0, 300).reshape(3, 100)
    explicit = ns.lif_run(np.broadcast_to(levels, (700, 3, 100)), params, DT, record_v=True)
    constant = ns.lif_run(levels, params, DT, steps=700, record_v=True)
    assert constant.spikes.shape == (700, 3, 100)
    assert np.array_equal(constant.spikes, explicit.spikes) and constant.spikes.any()
    np.testing.assert_array_equal(constant.v, explicit.v)


def test_nan_found_in_large_input_by_the_chunked_check():
    currents = np.ones((10, 100_000), np.float32)
    currents[7, 99_999] = np.nan
    with pytest.raises(ValueError, match="currents must be finite"):
        ns.lif_run(currents, ns.LIFParams(), DT)
    currents[7, 99_999] = np.inf
    with pytest.raises(ValueError, match="currents must be finite"):
        ns.lif_run(currents, ns.LIFParams(), DT)


def test_parameter_records_are_classes_and_old_names_warn():
    params = ns.IFParams(v_th=2.0)
    assert isinstance(params, ns.IFParams) and isinstance(params, ns.LIFParams)
    assert not params.leaky and params.reset == "subtract"
    assert ns.IFParams(reset="value").reset == "value"
    with pytest.raises(ValueError, match="non-leaky"):
        ns.IFParams(leaky=True)
    with pytest.warns(DeprecationWarning, match="LIFCell"):
        cell = ns.LIFPopulation(3)
    assert isinstance(cell, ns.LIFCell)
