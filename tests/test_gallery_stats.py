"""Spike statistics against analytic cases: regular trains (CV 0), Poisson trains (CV of ISIs
about 1, synchrony about 1/sqrt(spikes per bin)), volleys (high synchrony), the transient
window, and the boundary checks."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.gallery.stats import population_rate, spike_statistics

DT = 1e-4  # 0.1 ms


def regular_trains(n_neurons, n_steps, period, phase=None):
    """Neuron k fires every ``period`` steps from step ``phase[k]``."""
    phase = np.arange(n_neurons) % period if phase is None else phase
    steps, indices = [], []
    for k in range(n_neurons):
        s = np.arange(phase[k], n_steps, period)
        steps.append(s)
        indices.append(np.full(s.size, k))
    return np.concatenate(steps), np.concatenate(indices)


def poisson_trains(rng, n_neurons, n_steps, rate_hz):
    """Independent Bernoulli(rate * dt) spikes per neuron and step (Poisson in the limit)."""
    fired = rng.random((n_steps, n_neurons)) < rate_hz * DT
    steps, indices = np.nonzero(fired)
    return steps, indices


def test_regular_train_has_cv_zero_and_exact_rate():
    # 10 neurons, one spike every 100 steps (10 ms -> 100 Hz), staggered phases
    steps, idx = regular_trains(10, 10_000, 100)
    s = spike_statistics(steps, idx, 10, 10_000, DT)
    assert s["cv_isi"] == 0.0
    assert s["n_cv_neurons"] == 10
    assert s["rate_hz"] == pytest.approx(100.0)
    assert s["n_spikes"] == 1000
    assert s["fraction_active"] == 1.0
    assert s["window_s"] == pytest.approx(1.0)
    assert s["bin_s"] == pytest.approx(1e-3)
    assert all(isinstance(v, (int, float)) and not isinstance(v, np.generic) for v in s.values())


def test_poisson_trains_cv_and_synchrony():
    rng = np.random.default_rng(1)
    n, n_steps, rate = 200, 20_000, 20.0  # 2 s, 20 Hz: ~40 spikes per neuron
    steps, idx = poisson_trains(rng, n, n_steps, rate)
    s = spike_statistics(steps, idx, n, n_steps, DT)
    assert s["rate_hz"] == pytest.approx(rate, rel=0.03)
    # ISIs of a Bernoulli train in steps are geometric: CV = sqrt(1 - p), p = rate * dt
    assert s["cv_isi"] == pytest.approx(math.sqrt(1 - rate * DT), abs=0.05)
    per_bin = n * rate * 1e-3  # 4 expected spikes per 1 ms bin
    assert s["synchrony"] == pytest.approx(1 / math.sqrt(per_bin), rel=0.06)


def test_volleys_have_high_synchrony():
    # every neuron fires in the same 1 ms bin every 10 ms, at a random step inside it
    rng = np.random.default_rng(2)
    n, n_steps = 100, 10_000
    volley = np.arange(0, n_steps, 100)
    steps = (volley[:, None] + rng.integers(0, 10, (volley.size, n))).ravel()
    idx = np.tile(np.arange(n), volley.size)
    s = spike_statistics(steps, idx, n, n_steps, DT)
    # 1 bin in 10 holds all spikes: counts c in 1/10 of bins, mean c/10 -> CV = 3
    assert s["synchrony"] == pytest.approx(3.0)
    # the same spikes spread over the whole 10 ms of each period
    spread = (volley[:, None] + rng.integers(0, 100, (volley.size, n))).ravel()
    flat = spike_statistics(spread, idx, n, n_steps, DT)
    assert flat["synchrony"] < 0.5


def test_start_step_drops_a_transient():
    # a burst of 1000 Hz in the first 100 ms, then regular 10 Hz firing
    n, n_steps = 20, 10_000
    burst_steps, burst_idx = regular_trains(n, 1000, 10)
    steps, idx = regular_trains(n, n_steps, 1000, phase=1000 + np.arange(n))
    all_steps = np.concatenate([burst_steps, steps])
    all_idx = np.concatenate([burst_idx, idx])
    s = spike_statistics(all_steps, all_idx, n, n_steps, DT, start_step=1000)
    assert s["rate_hz"] == pytest.approx(10.0)
    assert s["cv_isi"] == 0.0
    assert s["window_s"] == pytest.approx(0.9)
    whole = spike_statistics(all_steps, all_idx, n, n_steps, DT)
    assert whole["rate_hz"] > 100 and whole["cv_isi"] > 1


def test_silent_and_sparse_populations():
    s = spike_statistics(np.array([], dtype=np.int64), [], 5, 100, DT)
    assert s["rate_hz"] == 0.0 and s["synchrony"] == 0.0 and s["n_spikes"] == 0
    assert math.isnan(s["cv_isi"]) and s["n_cv_neurons"] == 0
    assert s["fraction_active"] == 0.0
    # two spikes per neuron: no CV, but a rate and the active fraction
    s = spike_statistics([3, 50, 7, 60], [0, 0, 2, 2], 4, 100, DT)
    assert math.isnan(s["cv_isi"]) and s["fraction_active"] == 0.5
    assert s["rate_hz"] == pytest.approx(4 / (4 * 100 * DT))


def test_partial_bin_is_dropped_and_order_does_not_matter():
    # 25 steps of 0.1 ms with 1 ms bins: two whole bins, the last 5 steps dropped from synchrony
    steps = np.array([0, 12, 22, 24, 3, 8])
    idx = np.array([0, 1, 0, 1, 2, 0])
    s = spike_statistics(steps, idx, 3, 25, DT)
    counts = np.array([3, 1])  # spikes at 22 and 24 are in the partial bin
    assert s["synchrony"] == pytest.approx(counts.std() / counts.mean())
    assert s["rate_hz"] == pytest.approx(6 / (3 * 25 * DT))
    isi = np.array([8, 14])  # neuron 0: steps 0, 8, 22 (the partial bin counts for ISIs)
    assert s["cv_isi"] == pytest.approx(isi.std() / isi.mean()) and s["n_cv_neurons"] == 1
    perm = np.random.default_rng(0).permutation(steps.size)
    assert spike_statistics(steps[perm], idx[perm], 3, 25, DT) == s


def test_population_rate_bins():
    steps, idx = regular_trains(10, 10_000, 100)
    t_s, rate = population_rate(steps, 10, 10_000, DT, bin_s=10e-3, start_step=500)
    assert t_s[0] == pytest.approx(0.05) and np.allclose(np.diff(t_s), 10e-3)
    assert rate.size == 95 and np.allclose(rate, 100.0)  # each bin: one spike per neuron


@pytest.mark.parametrize("kwargs, error", [
    ({"steps": [1, 2], "indices": [0]}, ValueError),               # lengths differ
    ({"steps": [[1]], "indices": [[0]]}, ValueError),              # 2-D
    ({"indices": [0, 5]}, ValueError),                             # index >= n_neurons
    ({"indices": [0, -1]}, ValueError),                            # negative index
    ({"steps": [0, 100]}, ValueError),                             # step >= n_steps
    ({"steps": [1.0, 2.0]}, TypeError),                            # float steps
    ({"steps": ["a", "b"]}, TypeError),                            # strings
    ({"start_step": 100}, ValueError),                             # empty window
    ({"start_step": 95}, ValueError),                              # window shorter than a bin
    ({"dt_s": 0.0}, ValueError),
    ({"dt_s": -1e-4}, ValueError),
    ({"bin_s": 1e-5}, ValueError),                                 # bin below one step
    ({"n_neurons": 0}, ValueError),
    ({"n_neurons": 2.5}, ValueError),
    ({"steps": [3, 3], "indices": [1, 1]}, ValueError),            # two spikes in one step
])
def test_bad_inputs_raise(kwargs, error):
    args = {"steps": [1, 2], "indices": [0, 1], "n_neurons": 5, "n_steps": 100, "dt_s": DT}
    args.update(kwargs)
    extra = {k: args.pop(k) for k in ("start_step", "bin_s") if k in args}
    with pytest.raises(error):
        spike_statistics(args["steps"], args["indices"], args["n_neurons"], args["n_steps"],
                         args["dt_s"], **extra)


@settings(max_examples=60, deadline=None)
@given(n_neurons=st.integers(1, 20), n_steps=st.integers(10, 200),
       steps=st.lists(st.integers(-5, 250), max_size=30),
       indices=st.lists(st.integers(-3, 25), max_size=30))
def test_any_integer_input_gives_a_result_or_a_value_error(n_neurons, n_steps, steps, indices):
    try:
        s = spike_statistics(np.array(steps, dtype=np.int64), np.array(indices, dtype=np.int64),
                             n_neurons, n_steps, DT)
    except ValueError:
        return
    assert len(steps) == len(indices)
    assert 0 <= s["fraction_active"] <= 1 and s["synchrony"] >= 0
    assert s["n_spikes"] == len(steps)
