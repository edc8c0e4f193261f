"""Build a neurosim :class:`~neurosim.network.Network` in Brian2, for cross-checks.

Same connectivity (synapse by synapse, weights as the float32 values neurosim uses), initial
state, inputs, time step, exact integration and threshold/reset/refractory rules. Poisson
sources become ``SpikeGeneratorGroup``\\ s carrying exactly the spikes neurosim draws (the two
simulators' random generators differ), so a feed-forward network must give the same spikes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.network.network import Network
from neurosim.network.populations import PoissonGroup, Population, poisson_spikes


def _brian2():
    try:
        import brian2
    except ImportError as exc:  # pragma: no cover - brian2 is a dependency
        raise ImportError("neurosim.interop.brian2 needs brian2: pip install brian2") from exc
    return brian2


@dataclass
class Brian2Model:
    """The Brian2 objects built by :func:`to_brian2`."""

    network: Any
    groups: dict            # id(neurosim group) -> Brian2 group
    spike_monitors: dict    # id(neurosim Population) -> Brian2 SpikeMonitor
    dt_s: float

    def spike_steps(self, population: Population) -> tuple[np.ndarray, np.ndarray]:
        """(steps, indices) of a population's spikes after ``network.run``."""
        mon = self.spike_monitors[id(population)]
        steps = np.rint(np.asarray(mon.t_) / self.dt_s).astype(np.int64)
        return steps, np.asarray(mon.i).astype(np.int64)


def _equations(pop: Population) -> str:
    drive = "r_m * (I_bias + I_timed)"
    syn = "".join(f" + {g}" for g, tau in (("ge", pop.tau_exc_s), ("gi", pop.tau_inh_s))
                  if tau is not None)
    rhs = f"(v_rest - v + {drive}{syn}) / tau_m" if pop.params.leaky else f"({drive}{syn}) / tau_m"
    lines = [f"dv/dt = {rhs} : 1 (unless refractory)", "I_bias : 1", "I_timed : 1"]
    if pop.tau_exc_s is not None:
        lines.append("dge/dt = -ge / tau_e : 1")
    if pop.tau_inh_s is not None:
        lines.append("dgi/dt = -gi / tau_i : 1")
    return "\n".join(lines)


def to_brian2(net: Network, duration_s: float, *, monitor_all: bool = True) -> Brian2Model:
    """Build ``net`` (before it has run) in Brian2 for a run of ``duration_s``.

    Brian2's code-generation target and device are left as the caller set them (numpy in
    tests; ``cpp_standalone`` in the benchmark). Only the network's populations are monitored.
    """
    b2 = _brian2()
    second = b2.second
    dt = net.dt_s
    n_steps = int(round(duration_s / dt))
    b2.defaultclock.dt = dt * second
    groups: dict[int, Any] = {}
    objects: list[Any] = []
    monitors: dict[int, Any] = {}
    timed = {id(c.target): c for c in net.currents}
    for k, pop in enumerate(net.populations):
        prm = pop.params
        reset = "v = v_reset" if prm.reset == "value" else "v -= v_th - v_reset"
        namespace = {"v_rest": prm.v_rest, "v_reset": prm.v_reset, "v_th": prm.v_th,
                     "r_m": prm.r_m, "tau_m": prm.tau_m_s * second}
        if pop.tau_exc_s is not None:
            namespace["tau_e"] = pop.tau_exc_s * second
        if pop.tau_inh_s is not None:
            namespace["tau_i"] = pop.tau_inh_s * second
        group = b2.NeuronGroup(pop.n, _equations(pop), threshold="v > v_th", reset=reset,
                               refractory=prm.t_ref_s * second, method="exact",
                               namespace=namespace, name=f"pop{k}")
        group.v = pop.v0
        group.I_bias = pop.i_bias
        if id(pop) in timed:
            stim = b2.TimedArray(timed[id(pop)].values, dt=dt * second, name=f"stim{k}")
            group.namespace[f"stim{k}"] = stim
            group.run_regularly(f"I_timed = stim{k}(t, i)", when="before_groups")
        groups[id(pop)] = group
        monitors[id(pop)] = b2.SpikeMonitor(group, name=f"spikes{k}") if monitor_all else None
        objects += [group] + ([monitors[id(pop)]] if monitor_all else [])
    for k, src in enumerate(net.poisson + net.sources):
        if isinstance(src, PoissonGroup):
            steps, idx = np.nonzero(poisson_spikes(src, dt, n_steps))
            times = steps * dt
        else:
            keep = src.times_s < n_steps * dt
            idx, times = src.indices[keep], src.times_s[keep]
        group = b2.SpikeGeneratorGroup(src.n, idx, times * second, dt=dt * second,
                                       name=f"source{k}")
        groups[id(src)] = group
        objects.append(group)
    for k, proj in enumerate(net.projections):
        on_pre = {"exc": "ge += w", "inh": "gi += w", "v": "v_post += w"}[proj.target]
        delays = np.unique(proj.delay_steps)
        # one delay for all synapses: Brian2's faster homogeneous-delay path, as in its examples
        uniform = {"delay": int(delays[0]) * dt * second} if len(delays) == 1 else {}
        syn = b2.Synapses(groups[id(proj.pre)], groups[id(proj.post)], "w : 1", on_pre=on_pre,
                          name=f"proj{k}", **uniform)
        syn.connect(i=proj.pre_idx.astype(np.int64), j=proj.post_idx.astype(np.int64))
        syn.w = proj.weight.astype(np.float64)
        if not uniform:
            syn.delay = np.broadcast_to(proj.delay_steps, proj.post_idx.shape) * dt * second
        objects.append(syn)
    return Brian2Model(b2.Network(*objects), groups, monitors, dt)
