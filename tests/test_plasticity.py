"""STDP and adaptive thresholds in the network loop, checked weight by weight against the NumPy
twin (``tests/naive.py``: ``StdpTwin``) on small random networks with delays, and against
analytic pair updates."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.network import (
    STDP,
    Network,
    PoissonGroup,
    Population,
    SpikeMonitor,
    SpikeSource,
    connect_dense,
    connect_explicit,
    connect_fixed_probability,
)
from neurosim.neurons.lif import LIFParams
from tests import naive

RULES = {
    "pair additive": STDP(a_plus=0.02, a_minus=0.021, w_max=1.0),
    "pair multiplicative nearest": STDP(a_plus=0.05, a_minus=0.04, w_max=1.0,
                                        weight_dependence="multiplicative", traces="nearest"),
    "triplet": STDP(tau_x_s=0.05, tau_y_s=0.04, a_plus=0.005, a3_plus=0.02, a_minus=0.01,
                    a3_minus=0.003, w_min=-0.2, w_max=1.0),
    "diehl-cook": STDP(tau_y_s=0.04, a_plus=0.0, a3_plus=0.01, a_minus=0.0001, traces="nearest"),
}


def _network(rule: STDP, seed: int, *, theta: bool = False, backend: str = "cpu") -> tuple:
    """Poisson inputs -> 12 excitatory LIF (plastic, random delays) -> 4 inhibitory ->
    back (fixed), plus a plastic recurrent projection with delays."""
    rng = np.random.default_rng(seed)
    net = Network(1e-3, dtype=np.float64, backend=backend)
    inp = PoissonGroup(30, 40.0, seed=seed)
    exc = Population(12, LIFParams(tau_m_s=0.02, v_th=1.0, t_ref_s=0.002), tau_exc_s=0.005,
                     tau_inh_s=0.01, name="exc",
                     theta_plus=0.05 if theta else 0.0, tau_theta_s=0.5 if theta else None)
    inh = Population(4, LIFParams(tau_m_s=0.01, v_th=0.5), tau_exc_s=0.005, name="inh")
    feed = connect_dense(inp, exc, rng.uniform(0.0, 0.6, (30, 12)),
                         delay_steps=rng.integers(0, 4, 360), plasticity=rule)
    recurrent = connect_fixed_probability(exc, exc, 0.3, weight=lambda r, n: r.uniform(0, .3, n),
                                          delay_steps=2, target="v", seed=seed,
                                          plasticity=rule)
    to_inh = connect_fixed_probability(exc, inh, 0.5, weight=0.4, seed=seed + 1)
    back = connect_dense(inh, exc, np.full((4, 12), 0.5), target="inh", delay_steps=1)
    net.add(inp, exc, inh, feed, recurrent, to_inh, back)
    return net, (exc, inh), (feed, recurrent)


@pytest.mark.parametrize("name", sorted(RULES))
def test_stdp_matches_twin_weight_for_weight(name):
    net, pops, plastic = _network(RULES[name], seed=3)
    monitors = [SpikeMonitor(p) for p in pops]
    net.add(*monitors)
    n_steps = 400
    expected, _ = naive.network_run(net, n_steps)
    weights = naive.network_run.weights
    net.run(n_steps * net.dt_s, progress=False)
    for pop, mon in zip(pops, monitors):
        np.testing.assert_array_equal(mon.as_raster(n_steps).astype(bool), expected[id(pop)])
    assert expected[id(pops[0])].sum() > 50  # the rule was exercised
    for proj in plastic:
        got = net.weights_of(proj)
        np.testing.assert_allclose(got, weights[id(proj)], rtol=0, atol=1e-12)
        assert not np.allclose(got, proj.weight)  # learning changed them


def test_parallel_variant_gives_the_serial_weights(monkeypatch):
    """The parallel variant (neurons split into one range per thread, forced here on 16
    neurons, parts splitting cache lines) runs plasticity between the parts' deliveries and
    their slot: spikes, weights and state equal the serial run's, bit for bit."""
    from neurosim.kernels import cpu_network

    runs = []
    for forced in (False, True):
        if forced:
            monkeypatch.setattr(cpu_network, "PARALLEL_MIN_WORK", 0)
            monkeypatch.setattr(cpu_network, "PART_ALIGN", 1)
        net, pops, plastic = _network(RULES["triplet"], seed=4, theta=True)
        monitors = [SpikeMonitor(p) for p in pops]
        net.add(*monitors)
        net.run(0.4, progress=False)
        runs.append((monitors, [net.weights_of(p) for p in plastic],
                     [net.state_of(p) for p in pops]))
    (mon_s, w_s, st_s), (mon_p, w_p, st_p) = runs
    for a, b in zip(mon_s, mon_p):
        assert np.array_equal(a.steps, b.steps) and np.array_equal(a.indices, b.indices)
    assert sum(m.steps.size for m in mon_s) > 50
    for a, b in zip(w_s, w_p):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(st_s, st_p):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_adaptive_threshold_matches_twin():
    net, pops, _ = _network(RULES["pair additive"], seed=5, theta=True)
    mon = SpikeMonitor(pops[0])
    net.add(mon)
    expected, _ = naive.network_run(net, 300)
    net.run(0.3, progress=False)
    np.testing.assert_array_equal(mon.as_raster(300).astype(bool), expected[id(pops[0])])
    theta = net.state_of(pops[0])["theta"]
    np.testing.assert_allclose(theta, naive.network_run.theta[id(pops[0])], atol=1e-12)
    assert theta.max() > 0


def _pair(pre_step: int, post_step: int, rule: STDP, delay: int = 0) -> float:
    """One synapse, one presynaptic spike (a spike source) and one postsynaptic spike in
    ``post_step`` (forced by a strong jump one step before: a jump lands after the step's
    threshold test); returns the weight change."""
    net = Network(1e-3, dtype=np.float64)
    pre = SpikeSource(1, [0], [pre_step * 1e-3])
    kick = SpikeSource(1, [0], [(post_step - 1) * 1e-3])
    post = Population(1, LIFParams(tau_m_s=0.02, v_th=1.0))
    syn = connect_explicit(pre, post, [0], [0], 0.5, delay_steps=delay, target="v",
                           plasticity=rule)
    drive = connect_explicit(kick, post, [0], [0], 5.0, target="v")
    spikes = SpikeMonitor(post)
    net.add(pre, kick, post, syn, drive, spikes)
    net.run(0.1, progress=False)
    assert list(spikes.steps) == [post_step]
    return float(net.weights_of(syn)[0] - 0.5)


def test_pair_updates_are_the_exponential_window():
    rule = STDP(tau_pre_s=0.02, tau_post_s=0.03, a_plus=0.01, a_minus=0.012)
    # pre 10 ms before post: potentiation a_plus exp(-10/20)
    assert _pair(20, 30, rule) == pytest.approx(0.01 * np.exp(-10 / 20), rel=1e-9)
    # post 10 ms before pre: depression a_minus exp(-10/30)
    assert _pair(30, 20, rule) == pytest.approx(-0.012 * np.exp(-10 / 30), rel=1e-9)
    # the same step: the arrival comes first (Brian2: on_pre before on_post): potentiation
    assert _pair(20, 20, rule) == pytest.approx(0.01, rel=1e-9)
    # a delay of 5 steps: what counts is the arrival time (pre at 20 arrives at 25)
    assert _pair(20, 30, rule, delay=5) == pytest.approx(0.01 * np.exp(-5 / 20), rel=1e-9)
    assert _pair(28, 30, rule, delay=5) == pytest.approx(-0.012 * np.exp(-3 / 30), rel=1e-9)


def test_frozen_learning_keeps_weights_and_normalisation():
    net, pops, (feed, recurrent) = _network(RULES["pair additive"], seed=1)
    net.set_learning(False)
    net.run(0.2, progress=False)
    np.testing.assert_array_equal(net.weights_of(feed), feed.weight)
    net.set_learning(True, feed)
    net.run(0.2, progress=False)
    assert not np.array_equal(net.weights_of(feed), feed.weight)
    np.testing.assert_array_equal(net.weights_of(recurrent), recurrent.weight)
    net.normalize_weights(feed, 3.0)
    sums = np.bincount(feed.post_idx, net.weights_of(feed), minlength=12)
    np.testing.assert_allclose(sums, 3.0)
    new = np.linspace(0, 1, feed.n_synapses)
    net.set_weights(feed, new)
    np.testing.assert_array_equal(net.weights_of(feed), new)


def test_plasticity_bad_input():
    with pytest.raises(ValueError, match="w_min must be below w_max"):
        STDP(w_min=1.0, w_max=1.0)
    with pytest.raises(ValueError, match="tau_y_s"):
        STDP(a3_plus=0.1)
    with pytest.raises(ValueError):
        STDP(traces="all")
    with pytest.raises(ValueError):
        STDP(a_plus=-1.0)
    net, pops, (feed, _) = _network(RULES["pair additive"], seed=1)
    with pytest.raises(TypeError, match="STDP"):
        connect_dense(pops[0], pops[1], np.ones((12, 4)), plasticity="stdp")
    with pytest.raises(ValueError, match="finite"):
        net.set_weights(feed, np.full(feed.n_synapses, np.nan))
    with pytest.raises(ValueError, match="no plasticity"):
        net.weights_of(net.projections[2]) is not None and net.normalize_weights(
            net.projections[2], 1.0)
    with pytest.raises(ValueError, match="rate_hz"):
        net.set_poisson_rates(net.poisson[0], -1.0)
    with pytest.raises(ValueError, match="set_state"):
        net.set_state(pops[0], refractory=0)
    exact = Network(1e-3, accumulate="exact")
    exact.add(*net.populations, *net.poisson, *net.projections)
    with pytest.raises(ValueError, match="accumulate='float'"):
        exact.run(0.01, progress=False)


def test_memory_estimate_counts_plastic_synapses():
    """What plasticity adds to the estimate is what its record allocates (within 20%)."""
    net, _, (feed, recurrent) = _network(RULES["pair additive"], seed=1)
    with_plasticity = net.memory_estimate()
    plastic = net.build().records.plasticity
    allocated = sum(a.nbytes for a in plastic if hasattr(a, "nbytes"))
    assert allocated > 28 * (feed.n_synapses + recurrent.n_synapses)
    without, _, dropped = _network(None, seed=1)
    for proj in dropped:
        without.projections.remove(proj)
    added = with_plasticity - without.memory_estimate()
    assert 0.8 * allocated <= added <= 1.2 * allocated
