import numpy as np
import pytest

import neurosim as ns
from neurosim import network as nw
from neurosim.kernels import cpu_network
from neurosim.network import build
from tests import naive

DT = 1e-4


def _rich_network(dtype=np.float64, backend="cpu"):
    """Every feature at once: LIF + IF populations, reset to value and by subtraction,
    refractoriness, Poisson and spike-time sources, a time-varying current, exc/inh/v targets,
    heterogeneous delays, recurrence."""
    rng = np.random.default_rng(0)
    exc = nw.Population(60, ns.LIFParams(tau_m_s=0.01, v_rest=-65.0, v_reset=-65.0, v_th=-50.0,
                                         t_ref_s=0.002), tau_exc_s=0.005, tau_inh_s=0.008,
                        v0=rng.uniform(-65, -50, 60), i_bias=rng.uniform(0, 12, 60), name="exc")
    inh = nw.Population(25, ns.IFParams(tau_m_s=0.02, v_th=1.0, t_ref_s=0.0005),
                        tau_exc_s=0.004, name="inh")
    poisson = nw.PoissonGroup(40, rng.uniform(20, 80, 40), seed=11)
    times = nw.SpikeSource(5, indices=[0, 1, 2, 3, 4, 0], times_s=[0.001, 0.002, 0.0105, 0.02,
                                                                     0.03, 0.0301])
    projections = [
        nw.connect_fixed_probability(poisson, exc, 0.2, 2.5, delay_steps=rng.integers(0, 15, 1)[0],
                                     seed=1),
        nw.connect_fixed_indegree(exc, exc, 5, 1.0, delay_steps=3, seed=2),
        nw.connect_fixed_outdegree(exc, inh, 4, 0.3, target="exc", seed=3),
        nw.connect_explicit(inh, exc, np.arange(25), np.arange(25) * 2, -4.0, target="inh",
                            delay_steps=np.arange(25) % 4),
        nw.connect_dense(times, exc, rng.uniform(0, 3, (5, 60)), target="v", delay_steps=2),
    ]
    current = nw.CurrentInput(inh, rng.uniform(0, 80, (300, 25)))
    monitors = [nw.SpikeMonitor(exc), nw.SpikeMonitor(inh), nw.RateMonitor(exc),
                nw.StateMonitor(exc, ("v", "ge", "gi"), indices=[0, 7], every=5)]
    net = nw.Network(DT, dtype=dtype, backend=backend)
    net.add(exc, inh, poisson, times, *projections, current, *monitors)
    return net, exc, inh, monitors


def test_network_kernel_matches_naive_twin():
    net, exc, inh, (m_exc, m_inh, rate, state) = _rich_network()
    steps = 800
    net.run(steps * DT, progress=False)
    twin = _rich_network()[0]
    expected, _ = naive.network_run(twin, steps)
    for k, mon in enumerate((m_exc, m_inh)):
        assert np.array_equal(mon.as_raster(steps), expected[id(twin.populations[k])]), k
    assert m_exc.steps.size > 50 and m_inh.steps.size > 20
    np.testing.assert_allclose(rate.spike_counts, m_exc.as_raster(steps).sum(axis=1))
    assert rate.mean_rate_hz() == pytest.approx(m_exc.steps.size / (60 * steps * DT))
    assert state.v.shape == (steps // 5, 2) and state.ge.shape == (steps // 5, 2)


def test_naive_comparison_sees_final_state():
    net, exc, _, _ = _rich_network()
    net.run(300 * DT, progress=False)
    twin_net = _rich_network()[0]
    _, v_final = naive.network_run(twin_net, 300)
    np.testing.assert_allclose(net.state_of(exc)["v"], v_final[id(twin_net.populations[0])],
                               rtol=1e-12, atol=1e-12)


def test_chunking_and_continuation_do_not_change_results():
    one, exc1, _, mons1 = _rich_network()
    one.run(600 * DT, progress=False)
    two, exc2, _, mons2 = _rich_network()
    two.run(250 * DT, progress=False, chunk_steps=7)
    two.run(350 * DT, progress=False, chunk_steps=100)
    assert np.array_equal(mons1[0].steps, mons2[0].steps)
    assert np.array_equal(mons1[0].indices, mons2[0].indices)
    np.testing.assert_array_equal(mons1[3].v, mons2[3].v)


def test_parallel_variant_bit_identical(monkeypatch):
    serial, _, _, ms = _rich_network(np.float32)
    serial.run(500 * DT, progress=False)
    monkeypatch.setattr(cpu_network, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(cpu_network, "PART_ALIGN", 1)
    parallel, _, _, mp = _rich_network(np.float32)
    parallel.run(500 * DT, progress=False)
    assert np.array_equal(ms[0].steps, mp[0].steps) and np.array_equal(ms[0].indices,
                                                                       mp[0].indices)
    np.testing.assert_array_equal(ms[3].v, mp[3].v)


def test_parallel_variant_with_early_returns_gives_the_serial_run(monkeypatch):
    """The parallel variant integrates the next step inside the step's last parallel loop;
    it must not do so before a chunk's end, a state-monitor row or a return because the
    spike buffer might overflow (a tiny buffer: the kernel returns every few steps)."""
    serial, _, _, ms = _rich_network(np.float64)
    serial.run(400 * DT, progress=False)
    monkeypatch.setattr(cpu_network, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(cpu_network, "PART_ALIGN", 1)
    monkeypatch.setattr(build, "MONITOR_CAPACITY", 1)
    parallel, _, _, mp = _rich_network(np.float64)
    parallel.run(150 * DT, progress=False, chunk_steps=7)
    parallel.run(250 * DT, progress=False, chunk_steps=250)  # (returns every ~90 steps)
    for a, b in zip(ms[:2], mp[:2]):
        assert np.array_equal(a.steps, b.steps) and np.array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(ms[2].spike_counts, mp[2].spike_counts)
    np.testing.assert_array_equal(ms[3].v, mp[3].v)
    np.testing.assert_array_equal(ms[3].ge, mp[3].ge)


def test_spike_monitor_subset_and_trains():
    pop = nw.Population(10, ns.LIFParams(tau_m_s=0.01), i_bias=np.linspace(1.1, 3, 10))
    mon = nw.SpikeMonitor(pop, indices=[2, 9])
    full = nw.SpikeMonitor(pop)
    nw.Network(DT, dtype=np.float64).add(pop, mon, full).run(0.05, progress=False)
    assert set(mon.indices.tolist()) == {2, 9}
    trains = mon.spike_trains()
    np.testing.assert_array_equal(trains[9], full.spike_trains()[9])
    isi = np.diff(trains[9]).mean()
    assert isi == pytest.approx(ns.lif_isi_theory(pop.params, 3.0), abs=DT)


def test_connectivity_builders():
    a, b = nw.Population(300), nw.Population(200, tau_exc_s=0.005)
    indeg = nw.connect_fixed_indegree(a, b, 7, seed=1)
    assert np.array_equal(np.bincount(indeg.post_idx, minlength=200), np.full(200, 7))
    for post in range(0, 200, 37):  # distinct sources per target
        pres = indeg.pre_idx[indeg.post_idx == post]
        assert len(set(pres.tolist())) == 7
    outdeg = nw.connect_fixed_outdegree(a, b, 9, seed=1)
    assert np.array_equal(np.bincount(outdeg.pre_idx, minlength=300), np.full(300, 9))
    prob = nw.connect_fixed_probability(a, b, 0.05, seed=4)
    assert prob.n_synapses == pytest.approx(0.05 * 300 * 200, rel=0.1)
    pairs = prob.pre_idx.astype(np.int64) * 200 + prob.post_idx
    assert len(np.unique(pairs)) == prob.n_synapses  # no duplicate pair
    assert np.all(np.diff(prob.pre_idx) >= 0)  # CSR order
    no_self = nw.connect_fixed_probability(b, b, 0.3, autapses=False, seed=2)
    assert not np.any(no_self.pre_idx == no_self.post_idx)
    assert prob.weight.dtype == np.float32 and prob.post_idx.dtype == np.int32


def test_memory_is_refused_with_an_estimate():
    big = nw.Population(2_000_000, tau_exc_s=0.005)
    with pytest.raises(nw.NetworkTooLargeError, match="GiB"):
        nw.connect_fixed_probability(big, big, 0.5)  # 2e12 synapses: refused before drawing


def test_bytes_per_synapse():
    a, b = nw.Population(1000), nw.Population(1000, tau_exc_s=0.005)
    proj = nw.connect_fixed_probability(a, b, 0.1, seed=0)
    assert proj.pre_idx.nbytes == proj.post_idx.nbytes == 4 * proj.n_synapses
    net = nw.Network(DT).add(a, b, proj)
    synapses = net.build().records.synapses
    assert synapses.post.nbytes + synapses.weight.nbytes == 8 * proj.n_synapses


@pytest.mark.parametrize("make, err, match", [
    (lambda a, b: nw.connect_dense(a, b, np.ones((3, 3))), ValueError, "shape"),
    (lambda a, b: nw.connect_explicit(a, b, [0, 10], [0, 1]), ValueError, "pre_idx"),
    (lambda a, b: nw.connect_explicit(a, b, [0, 1], [0, -1]), ValueError, "post_idx"),
    (lambda a, b: nw.connect_explicit(a, b, [0, 1], [0]), ValueError, "same length"),
    (lambda a, b: nw.connect_explicit(a, b, [0], [0], delay_steps=-1), ValueError, "delay"),
    (lambda a, b: nw.connect_explicit(a, b, [0], [0], float("nan")), ValueError, "finite"),
    (lambda a, b: nw.connect_fixed_probability(a, b, 1.5), ValueError, "p must"),
    (lambda a, b: nw.connect_fixed_indegree(a, b, 20), ValueError, "distinct"),
    (lambda a, b: nw.connect_explicit(a, b, [0], [0], target="inh"), ValueError, "tau_inh"),
    (lambda a, b: nw.PoissonGroup(4, -1.0), ValueError, "rate_hz"),
    (lambda a, b: nw.PoissonGroup(4, [1.0, 2.0]), ValueError, "rate_hz"),
    (lambda a, b: nw.SpikeSource(3, [5], [0.1]), ValueError, "indices"),
    (lambda a, b: nw.CurrentInput(b, np.ones((10, 3))), ValueError, "columns"),
    (lambda a, b: nw.Population(0), ValueError, "n must be > 0"),
])
def test_bad_construction(make, err, match):
    a, b = nw.Population(10), nw.Population(8, tau_exc_s=0.005)
    with pytest.raises(err, match=match):
        make(a, b)


def test_bad_runs():
    a, b = nw.Population(10), nw.Population(8, tau_exc_s=0.005)
    proj = nw.connect_explicit(a, b, [0], [0], delay_steps=50)
    net = nw.Network(DT).add(a, b, proj)
    with pytest.raises(ValueError, match="multiple of dt"):
        net.run(0.00015, progress=False)
    with pytest.raises(ValueError, match="not added"):
        nw.Network(DT).add(a, proj).run(0.01, progress=False)
    with pytest.raises(TypeError, match="cannot add"):
        nw.Network(DT).add("population")


def test_ctrl_c_keeps_what_was_recorded(monkeypatch):
    pop = nw.Population(20, ns.LIFParams(tau_m_s=0.01), i_bias=2.0)
    mon = nw.SpikeMonitor(pop)
    net = nw.Network(DT).add(pop, mon)
    real = cpu_network.network_run
    calls = {"n": 0}

    def interrupt_second_chunk(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args)

    from neurosim.kernels import cpu
    monkeypatch.setattr(cpu, "network_run", interrupt_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        net.run(0.1, progress=False, chunk_steps=300)
    assert net.interrupted and net.steps_done == 300
    assert mon.steps.size > 0 and mon.steps.max() < 300


def _converging_network(order, accumulate, backend="cpu", dtype=np.float32):
    """Many inputs with weights that are not binary fractions converge on few neurons. The
    sources are numbered in ``order``, which sets the order their spikes are delivered in:
    float sums depend on it, exact ones do not."""
    rng = np.random.default_rng(5)
    post = nw.Population(8, ns.LIFParams(tau_m_s=0.01, v_rest=-65.0, v_reset=-65.0,
                                         v_th=-50.0, t_ref_s=0.001), tau_exc_s=0.003,
                         tau_inh_s=0.005, v0=rng.uniform(-65, -50, 8), i_bias=14.0, name="post")
    sources, projections = [], []
    for k, (sign, target) in enumerate(((1, "exc"), (1, "exc"), (-1, "inh"))):
        n_spikes = 3000
        src = nw.SpikeSource(60, rng.integers(0, 60, n_spikes),
                             rng.integers(0, 500, n_spikes) * DT, name=f"in{k}")
        sources.append(src)
        projections.append(nw.connect_dense(src, post, rng.uniform(0.05, 0.7, (60, 8)) * sign,
                                            target=target, delay_steps=2))
    mon = nw.SpikeMonitor(post)
    net = nw.Network(DT, dtype=dtype, backend=backend, accumulate=accumulate)
    net.add(post, *[sources[k] for k in order], *projections, mon)
    return net, post, mon


def test_exact_accumulation_does_not_depend_on_delivery_order():
    results = []
    for order in ((0, 1, 2), (2, 1, 0), (1, 0, 2)):
        net, post, mon = _converging_network(order, "exact")
        net.run(0.05, progress=False)
        results.append((mon.steps, mon.indices, net.state_of(post)["v"], net.state_of(post)["ge"]))
    assert results[0][0].size > 20
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)  # bit for bit
    # the check has teeth: float sums in another order differ in their last bits
    float_ge = []
    for order in ((0, 1, 2), (2, 1, 0)):
        net, post, _ = _converging_network(order, "float")
        net.run(0.05, progress=False)
        float_ge.append(net.state_of(post)["ge"])
    assert not np.array_equal(*float_ge)


def test_exact_accumulation_matches_float_accumulation_closely():
    exact, post_e, mon_e = _converging_network((0, 1, 2), "exact", dtype=np.float64)
    flt, post_f, mon_f = _converging_network((0, 1, 2), "float", dtype=np.float64)
    exact.run(0.05, progress=False)
    flt.run(0.05, progress=False)
    assert np.array_equal(mon_e.steps, mon_f.steps) and np.array_equal(mon_e.indices,
                                                                       mon_f.indices)
    np.testing.assert_allclose(exact.state_of(post_e)["ge"], flt.state_of(post_f)["ge"],
                               rtol=1e-12, atol=1e-12)


def test_exact_accumulation_checks_its_inputs():
    with pytest.raises(ValueError, match="accumulate"):
        nw.Network(DT, accumulate="kahan")
    a, b = nw.Population(3), nw.Population(3, tau_exc_s=0.005)
    tiny = nw.connect_dense(a, b, np.full((3, 3), 1e-38))
    with pytest.raises(ValueError, match="too small"):
        nw.Network(DT, accumulate="exact").add(a, b, tiny).run(0.001, progress=False)


def test_distinct_samples_kernel_equals_its_twin():
    from neurosim.kernels.cpu import distinct_samples

    rng = np.random.default_rng(3)
    for n, k in ((10, 10), (50, 30), (7, 1), (1000, 200)):
        uniforms = rng.random((20, k))
        out = np.empty((20, k), np.int64)
        distinct_samples(uniforms, n, out)
        np.testing.assert_array_equal(out, naive.distinct_samples(uniforms, n))


@pytest.mark.parametrize("n, k", [(1000, 200), (4000, 400), (300, 299), (1000, 1000)])
def test_fixed_degree_for_any_k_has_k_distinct_partners(n, k):
    """In-degrees between about 5 sqrt(n) and n/4 used to hang (whole rows were redrawn)."""
    a, b = nw.Population(n, tau_exc_s=0.005), nw.Population(50, tau_exc_s=0.005)
    for proj, fixed, free in ((nw.connect_fixed_indegree(a, b, k, seed=1), "post_idx", "pre_idx"),
                              (nw.connect_fixed_outdegree(b, a, k, seed=1), "pre_idx",
                               "post_idx")):
        rows = getattr(proj, fixed).astype(np.int64)
        assert np.array_equal(np.bincount(rows, minlength=50), np.full(50, k))
        pairs = rows * n + getattr(proj, free)
        assert np.unique(pairs).size == proj.n_synapses == 50 * k


def test_fixed_degree_samples_uniformly():
    a, b = nw.Population(20, tau_exc_s=0.005), nw.Population(4000, tau_exc_s=0.005)
    proj = nw.connect_fixed_indegree(a, b, 15, seed=4)  # Floyd's algorithm (15 * 14 > 40)
    counts = np.bincount(proj.pre_idx, minlength=20)
    expected = 4000 * 15 / 20
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_brunel_scale_fixed_indegree_builds():
    """Brunel (2000): 1,000 distinct sources of 20,000 for each of 12,500 targets."""
    src, tgt = nw.Population(20_000, tau_exc_s=0.005), nw.Population(12_500, tau_exc_s=0.005)
    proj = nw.connect_fixed_indegree(src, tgt, 1000, seed=0)
    assert proj.n_synapses == 12_500_000
    assert np.array_equal(np.bincount(proj.post_idx, minlength=12_500), np.full(12_500, 1000))


@pytest.mark.parametrize("corrupt, match", [
    (lambda p, s, m: p.post_idx.__setitem__(0, 10_000), "post_idx must be integers in"),
    (lambda p, s, m: setattr(p, "pre_idx", p.pre_idx.astype(np.int64) + 2**31), "pre_idx must"),
    (lambda p, s, m: setattr(s, "indices", np.array([0, 99])), "indices must be integers in"),
    (lambda p, s, m: setattr(m, "recorded", np.array([-1])), "indices must be integers in"),
    (lambda p, s, m: setattr(p, "delay_steps", np.int64(2**40)), "delay_steps"),
    (lambda p, s, m: p.weight.__setitem__(0, np.inf), "finite"),
])
def test_indices_changed_after_construction_are_caught_before_any_kernel(corrupt, match):
    """What the kernels will index is checked once per build (no bounds checks in them)."""
    pop = nw.Population(10, tau_exc_s=0.005)
    src = nw.SpikeSource(2, [0, 1], [0.001, 0.002])
    proj = nw.connect_dense(src, pop, np.ones((2, 10)), target="exc")
    mon = nw.SpikeMonitor(pop)
    corrupt(proj, src, mon)
    with pytest.raises(ValueError, match=match):
        nw.Network(DT).add(pop, src, proj, mon).run(0.001, progress=False)


def test_serial_and_parallel_variants_have_their_own_cache_entries():
    """Numba files a cached function under its module, name and bytecode, not its flags: the
    two variants of the network loop, compiled from one function, must not share an entry
    (whichever compiled first would run for both, in every later process)."""
    serial, parallel = cpu_network._network_run_serial, cpu_network._network_run_parallel
    assert serial.py_func.__code__ is parallel.py_func.__code__  # one source of the arithmetic
    assert serial.py_func.__qualname__ != parallel.py_func.__qualname__
    if serial._cache is not None and hasattr(serial._cache, "_cache_file"):
        assert serial._cache._cache_file._index_name != parallel._cache._cache_file._index_name
    assert bool(parallel.targetoptions.get("parallel")) == cpu_network.PARALLEL
    assert not serial.targetoptions.get("parallel")
