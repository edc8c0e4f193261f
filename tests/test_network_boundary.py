"""The network's public boundary (issue 12): values that cannot be represented are refused
before a kernel runs, valid corner cases work, and runs split or interrupted anywhere give the
spikes of one uninterrupted run."""

import os
import signal
import types

import numpy as np
import pytest

import neurosim as ns
from neurosim import network as nw

P = ns.LIFParams(tau_m_s=0.01, v_rest=-65.0, v_reset=-65.0, v_th=-50.0, t_ref_s=0.002)


def pop(n=20, **kw):
    return nw.Population(n, P, tau_exc_s=0.005, tau_inh_s=0.01, **kw)


def delayed_network(seed=3):
    """Poisson drive through delays (up to 40 steps) longer than the runs below."""
    p = pop(50)
    src = nw.PoissonGroup(50, rate_hz=200.0, seed=seed)
    fast = nw.connect_fixed_probability(src, p, p=0.3, weight=9.0, delay_steps=3,
                                        target="v", seed=4)
    slow = nw.connect_fixed_probability(p, p, p=0.2, weight=2.0, delay_steps=40, seed=5)
    mon = nw.SpikeMonitor(p)
    net = nw.Network(dt_s=1e-4, dtype=np.float64).add(p, src, fast, slow, mon)
    return net, p, mon


def test_whole_number_seeds_stay_exact():
    assert nw.PoissonGroup(3, 1.0, seed=2**60 + 1).seed == 2**60 + 1
    assert nw.PoissonGroup(3, 1.0, seed=np.uint64(2**64 - 1)).seed == 2**64 - 1
    with pytest.raises(ValueError, match="<= "):
        nw.PoissonGroup(3, 1.0, seed=2**64)
    with pytest.raises(ValueError, match="too large to be an exact whole number"):
        nw.PoissonGroup(3, 1.0, seed=2.0**60)
    with pytest.raises(TypeError):
        nw.PoissonGroup(3, 1.0, seed=1 + 2j)


@pytest.mark.parametrize("make, match", [
    (lambda: nw.Network(1e-4).add(nw.Population(5, ns.LIFParams(t_ref_s=1e6))),
     "at most 2\\*\\*31 - 2 steps"),
    (lambda: nw.Network(1e-13).add(pop(5)), "rounds to 1 in float32"),
    (lambda: nw.Network(1e-4, dtype=np.float32).add(pop(5, i_bias=1e39)),
     "i_bias.*overflows float32"),
    (lambda: nw.Network(1e-4, dtype=np.float32).add(pop(5, v0=-1e39)), "v0.*overflows"),
    (lambda: nw.Network(1e-4, dtype=np.float32).add(
        nw.Population(5, ns.LIFParams(v_th=1e39))), "v_th.*overflows float32"),
])
def test_unrepresentable_values_are_refused_at_build(make, match):
    net = make()
    with pytest.raises(ValueError, match=match):
        net.build()


def test_overflowing_weight_and_current_are_refused():
    p = pop(4)
    src = nw.PoissonGroup(4, 10.0)
    with pytest.raises(ValueError, match="weight.*overflows float32"):
        nw.connect_dense(src, p, np.full((4, 4), 1e39))
    q = pop(4)
    net = nw.Network(1e-4).add(q, nw.CurrentInput(q, np.full((3, 4), 1e39)))
    with np.errstate(over="ignore"), pytest.raises(ValueError, match="CurrentInput.*overflows"):
        net.build()


def test_float64_takes_what_float32_cannot():
    net = nw.Network(1e-4, dtype=np.float64).add(pop(5, i_bias=1e39))
    net.run(0.001, progress=False)
    assert np.isfinite(net.state_of(net.populations[0])["v"]).all()


@pytest.mark.parametrize("make", [
    lambda s, p: nw.connect_fixed_probability(s, p, p=0.0, weight=1.0),
    lambda s, p: nw.connect_explicit(s, p, np.zeros(0, int), np.zeros(0, int), weight=1.0),
])
def test_projection_without_synapses_runs(make):
    p = pop(10, i_bias=20.0)
    src = nw.PoissonGroup(5, rate_hz=10.0)
    mon = nw.SpikeMonitor(p)
    net = nw.Network(1e-4).add(p, src, make(src, p), mon)
    net.run(0.01, progress=False)
    q = pop(10, i_bias=20.0)
    ref = nw.SpikeMonitor(q)
    nw.Network(1e-4).add(q, ref).run(0.01, progress=False)
    np.testing.assert_array_equal(mon.steps, ref.steps)
    np.testing.assert_array_equal(mon.indices, ref.indices)


def test_spike_sources_empty_late_and_repeated():
    p = pop(3)
    empty = nw.SpikeSource(2, np.array([]), np.array([]))
    late = nw.SpikeSource(2, [0, 1], [0.0005, 1e4])  # 1e8 steps later: no dense table
    net = nw.Network(1e-4).add(p, empty, late,
                               nw.connect_dense(empty, p, np.ones((2, 3))),
                               nw.connect_dense(late, p, np.full((2, 3), 20.0), target="v"))
    assert net.memory_estimate() < 2**20
    mon = nw.SpikeMonitor(p)
    net.add(mon).run(0.002, progress=False)
    np.testing.assert_array_equal(mon.steps, [6, 6, 6])  # the spike of step 5 arrives
    twice = nw.SpikeSource(3, [0, 0, 0, 2, 2], [0.001] * 5)  # listed 3 and 2 times in a step
    q = pop(2)
    mon = nw.SpikeMonitor(twice)
    net = nw.Network(1e-4, dtype=np.float64).add(
        q, twice, nw.connect_dense(twice, q, np.full((3, 2), 2.0), target="v"), mon)
    net.run(0.002, progress=False)
    np.testing.assert_array_equal(mon.indices, [0, 0, 0, 2, 2])  # every spike, delivered
    one = nw.SpikeSource(1, [0], [0.001])  # one spike of the summed weight
    r = pop(2)
    ref = nw.Network(1e-4, dtype=np.float64).add(
        r, one, nw.connect_dense(one, r, np.full((1, 2), 10.0), target="v"))
    ref.run(0.002, progress=False)
    assert net.state_of(q)["v"][0] > -60.0
    np.testing.assert_allclose(net.state_of(q)["v"], ref.state_of(r)["v"], rtol=1e-12)


def test_runs_shorter_than_the_delays_equal_one_run():
    ref_net, ref_pop, ref = delayed_network()
    ref_net.run(0.01, progress=False)
    net, p, mon = delayed_network()
    for _ in range(10):
        net.run(0.001, progress=False)
    assert ref.steps.size > 50
    np.testing.assert_array_equal(mon.steps, ref.steps)
    np.testing.assert_array_equal(mon.indices, ref.indices)
    for key, value in ref_net.state_of(ref_pop).items():
        np.testing.assert_array_equal(net.state_of(p)[key], value)


def test_a_run_resumed_after_ctrl_c_continues_where_the_clock_says():
    ref_net, ref_pop, ref = delayed_network()
    ref_net.run(0.02, progress=False)
    net, p, mon = delayed_network()
    sim = net.build(chunk_steps=30)
    real = sim.kernels
    calls = []

    def network_run(clock, records):
        real.network_run(clock, records)
        calls.append(clock)
        if len(calls) == 2:  # Ctrl-C while the second chunk is computing
            os.kill(os.getpid(), signal.SIGINT)

    sim.kernels = types.SimpleNamespace(network_run=network_run,
                                        read_recorders=real.read_recorders,
                                        network_download=real.network_download)
    with pytest.raises(KeyboardInterrupt):
        net.run(0.02, progress=False, chunk_steps=30)
    assert net.interrupted and net.steps_done == 60  # two whole chunks, clock and state agree
    sim.kernels = real
    net.run(0.02 - 0.006, progress=False, chunk_steps=30)
    np.testing.assert_array_equal(mon.steps, ref.steps)
    np.testing.assert_array_equal(mon.indices, ref.indices)
    for key, value in ref_net.state_of(ref_pop).items():
        np.testing.assert_array_equal(net.state_of(p)[key], value)


def test_memory_estimate_counts_monitors_and_run_refuses_what_cannot_fit():
    p = pop(100_000)
    net = nw.Network(1e-4).add(p, nw.StateMonitor(p, ("v",), np.arange(100_000)))
    base = net.memory_estimate()
    assert net.memory_estimate(1.0) - base == 10_000 * (3 * 100_000 * 4 + 8)
    with pytest.raises(nw.NetworkTooLargeError, match="recording a run of 10,000,000 steps"):
        net.run(1000.0, progress=False)
    assert net.steps_done == 0
