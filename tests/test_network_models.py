"""Refractoriness, Poisson drives and conductance-based synapses in the network loop: against
the NumPy twin (tests/naive.py), analytic results, the binomial distribution and Brian2."""

import math

import numpy as np
import pytest
from scipy import stats

import neurosim as ns
from neurosim import network as nw
from neurosim.kernels import scalar_network as scalar
from neurosim.network.drives import binomial_thresholds
from tests import naive

DT = 1e-4


def model_network(backend="cpu", dtype=np.float64, refractory_input="discard"):
    """Delays shorter than the refractory period, jumps onto v from synapses and Poisson
    drives, a population that buffers refractory input (NEST), a conductance-based (COBA)
    population with initial conductances, and a drive large enough for the normal branch.
    Weights are multiples of 1/8 (sums exact in any order, for the CUDA comparison)."""
    rng = np.random.default_rng(5)
    lif = ns.LIFParams(tau_m_s=0.02, v_rest=0.0, v_reset=10.0, v_th=20.0, t_ref_s=0.002)
    exc = nw.Population(40, lif, v0=rng.uniform(0, 20, 40), name="exc",
                        refractory_input=refractory_input)
    buf = nw.Population(12, lif, v0=rng.uniform(0, 20, 12), name="buf",
                        refractory_input="buffer")
    coba = nw.Population(20, ns.LIFParams(tau_m_s=0.02, v_rest=-60.0, v_reset=-60.0,
                                          v_th=-50.0, t_ref_s=0.005),
                         tau_exc_s=0.005, tau_inh_s=0.01, synapse_model="conductance",
                         e_exc=0.0, e_inh=-80.0, v0=rng.uniform(-60, -50, 20),
                         ge0=rng.uniform(0, 0.5, 20), gi0=rng.uniform(0, 2, 20), name="coba")
    projections = [
        nw.connect_fixed_indegree(exc, exc, 8, 0.875, delay_steps=5, seed=1, target="v"),
        nw.connect_fixed_indegree(exc, buf, 8, 1.25, delay_steps=3, seed=2, target="v"),
        nw.connect_fixed_probability(exc, coba, 0.3, 0.125, target="exc", seed=3),
        nw.connect_fixed_probability(coba, exc, 0.3, -1.5, target="v", delay_steps=1, seed=4),
        nw.connect_fixed_probability(coba, coba, 0.2, 0.5, target="inh", seed=5),
    ]
    drives = [nw.PoissonInput(exc, 500, 40.0, 0.25, "v", seed=7),
              nw.PoissonInput(buf, 300, 60.0, 0.375, "v", seed=7),
              nw.PoissonInput(coba, 200, 50.0, 0.0625, "exc", seed=7),
              nw.PoissonInput(coba, 20000, 400.0, 2.0**-15, "inh", seed=7)]  # mean 800
    mons = [nw.SpikeMonitor(p) for p in (exc, buf, coba)]
    net = nw.Network(DT, dtype=dtype, backend=backend)
    net.add(exc, buf, coba, *projections, *drives, *mons)
    return net, mons


@pytest.mark.parametrize("refractory_input", ["discard", "buffer"])
def test_models_network_matches_twin(refractory_input):
    steps = 400
    net, mons = model_network(refractory_input=refractory_input)
    net.run(steps * DT, progress=False)
    twin = model_network(refractory_input=refractory_input)[0]
    expected, v_final = naive.network_run(twin, steps)
    for pop, mon, twin_pop in zip(net.populations, mons, twin.populations):
        assert np.array_equal(mon.as_raster(steps), expected[id(twin_pop)]), pop.name
        np.testing.assert_allclose(net.state_of(pop)["v"], v_final[id(twin_pop)], rtol=1e-9,
                                   atol=1e-9)
    assert all(m.steps.size > 20 for m in mons), [m.steps.size for m in mons]


def test_float32_serial_and_parallel_agree(monkeypatch):
    """The parallel variant, the neurons split into one range per thread in every phase of
    a step (forced here at any size), gives the serial result bit for bit."""
    from neurosim.kernels import cpu_network

    serial, ms = model_network(dtype=np.float32)
    serial.run(0.03, progress=False)
    monkeypatch.setattr(cpu_network, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(cpu_network, "PART_ALIGN", 1)  # parts that split cache lines too
    parallel, mp = model_network(dtype=np.float32)
    parallel.run(0.03, progress=False)
    for a, b in zip(ms, mp):
        assert np.array_equal(a.steps, b.steps) and np.array_equal(a.indices, b.indices)
    for pop_s, pop_p in zip(serial.populations, parallel.populations):
        for name, value in serial.state_of(pop_s).items():
            assert np.array_equal(value, parallel.state_of(pop_p)[name]), (pop_s.name, name)


def test_sort_rows_sorts_each_row_stably():
    from neurosim.kernels.cpu_delivery import sort_rows

    rng = np.random.default_rng(3)
    indptr = np.array([[0, 5, 5, 12], [12, 13, 20, 20]], np.int64)
    post = rng.integers(0, 4, 20).astype(np.int32)
    weight = np.arange(20, dtype=np.float32)  # the original position: stability shows
    want_post, want_weight = post.copy(), weight.copy()
    for lo, hi in ((0, 5), (5, 12), (12, 13), (13, 20)):
        order = np.argsort(post[lo:hi], kind="stable")
        want_post[lo:hi], want_weight[lo:hi] = post[lo:hi][order], weight[lo:hi][order]
    sort_rows(indptr, post, weight)
    assert np.array_equal(post, want_post) and np.array_equal(weight, want_weight)
    assert sort_rows(indptr, post, weight) == 0  # sorted rows are left alone


def _one_neuron(times_s, weight, refractory_input="discard", t_ref_s=0.002, v0=0.0):
    pop = nw.Population(1, ns.LIFParams(tau_m_s=0.02, v_rest=0.0, v_reset=0.0, v_th=10.0,
                                        t_ref_s=t_ref_s), refractory_input=refractory_input,
                        v0=v0)
    src = nw.SpikeSource(1, np.zeros(len(times_s), int), times_s)
    mon, state = nw.SpikeMonitor(pop), nw.StateMonitor(pop, ("v",))
    net = nw.Network(DT, dtype=np.float64).add(
        pop, src, nw.connect_explicit(src, pop, [0], [0], weight, target="v"), mon, state)
    return net, mon, state


def test_jumps_during_refractoriness_are_discarded():
    """Spike at step 11 (input at 10); refractory for steps 12..30 (2 ms = 20 steps, the
    spike step included): inputs at steps 11 (the spike step), 15 and 30 are discarded,
    the one at 31 is taken and fires at 32."""
    times = np.array([10, 11, 15, 30, 31]) * DT
    net, mon, state = _one_neuron(times, 15.0)
    net.run(0.005, progress=False)
    assert mon.steps.tolist() == [11, 32]
    v = state.v[:, 0]
    assert v[10] == 15.0 and v[11] == 0.0 and v[15] == 0.0 and v[30] == 0.0


def test_buffered_refractory_input_arrives_decayed_after_the_period():
    """NEST's refractory_input: spike at step 0 (v0 above threshold), t_ref 1 ms: held in
    steps 1..9. A jump at step 5, with 4 held steps to come, enters v at the end of step 9,
    the last held one, as w * decay**4; the neuron integrates from there at step 10."""
    times = np.array([5]) * DT
    net, mon, state = _one_neuron(times, 8.0, "buffer", t_ref_s=0.001, v0=20.0)
    net.run(0.003, progress=False)
    assert mon.steps.tolist() == [0]
    decay = math.exp(-DT / 0.02)
    v = state.v[:, 0]
    assert v[8] == 0.0
    assert v[9] == pytest.approx(8.0 * decay ** 4, rel=1e-12)
    assert v[10] == pytest.approx(8.0 * decay ** 4 * decay, rel=1e-12)
    assert v[11] == pytest.approx(v[10] * decay, rel=1e-12)
    discarded = _one_neuron(times, 8.0, "discard", t_ref_s=0.001, v0=20.0)
    discarded[0].run(0.003, progress=False)
    assert np.all(discarded[2].v[1:, 0] == 0.0)


@pytest.mark.parametrize("n,p", [(1000, 0.002), (50, 0.3), (1, 0.5), (4000, 0.01),
                                 (20000, 0.02)])
def test_binomial_count_follows_the_binomial_distribution(n, p):
    index = np.arange(40_000)
    counts = naive.binomial_counts(12345, 7, index, n, p)
    rule = scalar.binomial_count  # the rule itself, as plain Python, on a sample
    key2 = np.uint64(naive._drive_key(12345, 0))
    table = np.array([binomial_thresholds(n, p)], np.uint64)
    sample = [rule(np.uint64(12345), key2, np.uint64(7), np.uint64(i), n, p, table, 0)
              for i in range(300)]
    assert sample == counts[:300].tolist()
    mean, var = n * p, n * p * (1 - p)
    assert abs(counts.mean() - mean) < 5 * math.sqrt(var / len(index))
    assert counts.var() == pytest.approx(var, rel=0.05)
    lo, hi = int(stats.binom.ppf(0.01, n, p)), int(stats.binom.ppf(0.99, n, p))
    observed = np.array([np.sum(counts <= lo)] + [np.sum(counts == k) for k in
                                                  range(lo + 1, hi)] + [np.sum(counts >= hi)])
    expected = len(index) * np.array([stats.binom.cdf(lo, n, p)] + [
        stats.binom.pmf(k, n, p) for k in range(lo + 1, hi)] + [stats.binom.sf(hi - 1, n, p)])
    if n * p <= scalar.BINOMIAL_EXACT_MEAN:  # exact inversion: a chi-square test
        assert stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-3


def test_poisson_input_mean_drive_matches_theory():
    """A PoissonInput onto v of non-spiking neurons: the mean jump per step is n r dt w, and
    v settles at tau_m n r w (the mean of shot noise through the leak)."""
    pop = nw.Population(400, ns.LIFParams(tau_m_s=0.01, v_rest=0.0, v_reset=0.0, v_th=1e9))
    drive = nw.PoissonInput(pop, 1000, 10.0, 0.1, "v", seed=3)
    net = nw.Network(DT, dtype=np.float64).add(pop, drive)
    net.run(0.1, progress=False)
    v = net.state_of(pop)["v"]
    assert v.mean() == pytest.approx(0.01 * 1000 * 10.0 * 0.1, rel=0.03)


def test_conductance_population_relaxes_to_the_conductance_weighted_mean():
    """Constant conductances (no decay: tau enormous) pull v to (E_l + ge E_e + gi E_i) /
    (1 + ge + gi) with time constant tau_m / (1 + ge + gi)."""
    pop = nw.Population(1, ns.LIFParams(tau_m_s=0.02, v_rest=-60.0, v_reset=-60.0, v_th=100.0),
                        tau_exc_s=1e9, tau_inh_s=1e9, synapse_model="conductance", e_exc=0.0,
                        e_inh=-80.0, ge0=0.5, gi0=1.5, v0=-60.0)
    state = nw.StateMonitor(pop, ("v",))
    net = nw.Network(DT, dtype=np.float64).add(pop, state)
    net.run(0.01, progress=False)
    g = 1 + 0.5 + 1.5
    v_inf = (-60.0 + 0.5 * 0.0 + 1.5 * -80.0) / g
    t = (np.arange(100) + 1) * DT
    expected = v_inf + (-60.0 - v_inf) * np.exp(-t * g / 0.02)
    np.testing.assert_allclose(state.v[:, 0], expected, rtol=1e-6)


@pytest.mark.parametrize("bad, match", [
    (dict(synapse_model="chemical"), "synapse_model"),
    (dict(refractory_input="keep"), "refractory_input"),
    (dict(ge0=[1.0, 2.0]), "ge0"),
    (dict(e_exc=float("nan")), "e_exc"),
])
def test_population_rejects_bad_model_options(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        nw.Population(3, ns.LIFParams(), **bad)


def test_conductance_needs_leak_and_nonnegative_weights():
    with pytest.raises(ValueError, match="leaky"):
        nw.Population(3, ns.IFParams(), synapse_model="conductance")
    pop = nw.Population(3, ns.LIFParams(), tau_exc_s=0.005, synapse_model="conductance")
    net = nw.Network(DT).add(pop, nw.connect_dense(pop, pop, -np.ones((3, 3)), target="exc"))
    with pytest.raises(ValueError, match="conductance weights must be >= 0"):
        net.run(0.001, progress=False)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0), "n"), (dict(rate_hz=-1.0), "rate_hz"), (dict(var="w"), "var"),
    (dict(weight=float("inf")), "weight"), (dict(seed=-1), "seed"),
])
def test_poisson_input_rejects_bad_input(kwargs, match):
    pop = nw.Population(3, ns.LIFParams())
    args = dict(n=10, rate_hz=5.0, weight=0.1, var="v", seed=0) | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        nw.PoissonInput(pop, **args)


def test_poisson_input_rate_above_one_per_step_is_refused():
    pop = nw.Population(3, ns.LIFParams())
    net = nw.Network(DT).add(pop, nw.PoissonInput(pop, 10, 2e4, 0.1))
    with pytest.raises(ValueError, match="exceeds 1/dt_s"):
        net.run(0.001, progress=False)


def test_vectorisable_exp_matches_the_c_library():
    xs = np.concatenate([np.linspace(-40, 5, 4001), -np.logspace(-12, 0, 100), [0.0]])
    got = np.array([scalar.exp_vectorisable(float(x)) for x in xs])
    np.testing.assert_allclose(got, np.exp(xs), rtol=1e-13)
    assert scalar.exp_vectorisable(-1e9) == pytest.approx(math.exp(-40.0), rel=1e-13)
    assert np.isfinite(scalar.exp_vectorisable(1e9))


def test_row_part_searches_match_numpy():
    """A thread's share of a sorted CSR row (searched outwards from an interpolated guess)
    is exactly NumPy's searchsorted, wherever the guess lands."""
    from neurosim.kernels.cpu_delivery import _lower_bound_near, _row_part

    rng = np.random.default_rng(11)
    lower = cpu_delivery_jit(_lower_bound_near)
    part = cpu_delivery_jit(_row_part)
    for _ in range(300):
        n = int(rng.integers(1, 200))
        row = np.sort(rng.integers(0, n, int(rng.integers(0, 60)))).astype(np.int32)
        post = np.concatenate([rng.integers(0, n, 5), row, rng.integers(0, n, 5)]).astype(np.int32)
        lo, hi = 5, 5 + row.size
        x = int(rng.integers(0, n + 1))
        guess = int(rng.integers(lo - 3, hi + 4))
        assert lower(post, lo, hi, x, guess) == lo + np.searchsorted(row, x, side="left")
        first = int(rng.integers(0, n + 1))
        last = int(rng.integers(first, n + 1))
        want = (lo + np.searchsorted(row, first) if first > 0 else lo,
                lo + np.searchsorted(row, last) if last < n else hi)
        assert part(post, lo, hi, first, last, n) == want


def cpu_delivery_jit(function):
    """A callable compiled copy of one of cpu_delivery's inlined helpers."""
    from numba import njit

    return njit(function.py_func)
