"""LIF against Brian2 (numpy target: no compiler needed), spike for spike."""

import numpy as np
import pytest

import neurosim as ns

b2 = pytest.importorskip("brian2")
pytestmark = pytest.mark.brian2
DT = 1e-4


def _brian2_spikes(params: ns.LIFParams, currents: np.ndarray) -> set[tuple[int, int]]:
    """Run ``currents`` (T, N) through Brian2 and return {(step, neuron)} of its spikes."""
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = DT * b2.second
    steps, n = currents.shape
    stim = b2.TimedArray(currents, dt=DT * b2.second)
    reset = "v = v_reset" if params.reset == "value" else "v -= v_th - v_reset"
    group = b2.NeuronGroup(
        n, "dv/dt = (v_rest - v + r_m * I) / tau : 1 (unless refractory)\nI : 1",
        threshold="v > v_th", reset=reset, refractory=params.t_ref_s * b2.second,
        method="exact",
        namespace={"v_rest": params.v_rest, "v_reset": params.v_reset, "v_th": params.v_th,
                   "r_m": params.r_m, "tau": params.tau_m_s * b2.second, "stim": stim})
    group.v = params.v_rest
    # the current of step t is set before the step's integration, as in neurosim
    group.run_regularly("I = stim(t, i)", when="before_groups")
    monitor = b2.SpikeMonitor(group)
    b2.run(steps * DT * b2.second)
    step_idx = np.rint(np.asarray(monitor.t / b2.second) / DT).astype(int)
    return set(zip(step_idx.tolist(), np.asarray(monitor.i).tolist()))


def _ours(params, currents):
    spikes = ns.lif_run(currents, params, DT).spikes
    return set(zip(*(a.tolist() for a in np.nonzero(spikes))))


PARAMS = [
    ns.LIFParams(tau_m_s=0.01, v_th=1.0, v_reset=0.0, t_ref_s=0.002),
    ns.LIFParams(tau_m_s=0.02, v_rest=-70.0, v_reset=-65.0, v_th=-50.0, r_m=10.0,
                 t_ref_s=0.005, reset="subtract"),
]


@pytest.mark.parametrize("params", PARAMS)
def test_single_neuron_constant_current(params):
    drive = (params.v_th - params.v_rest) / params.r_m * 1.7
    currents = np.full((3000, 1), drive)
    ours = _ours(params, currents)
    assert len(ours) > 10
    assert ours == _brian2_spikes(params, currents)


@pytest.mark.parametrize("params", PARAMS)
def test_population_constant_and_step_currents(params):
    rng = np.random.default_rng(7)
    n, steps = 200, 2000
    base = (params.v_th - params.v_rest) / params.r_m
    levels = base * rng.uniform(0.5, 3.0, n)  # some never fire, some fire fast
    currents = np.tile(levels, (steps, 1))
    currents[steps // 3: 2 * steps // 3] *= rng.uniform(0.0, 2.0, n)  # a step in the middle
    ours = _ours(params, currents)
    theirs = _brian2_spikes(params, currents)
    assert len(ours) > 1000
    assert ours == theirs
