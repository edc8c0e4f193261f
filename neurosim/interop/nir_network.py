"""A :class:`~neurosim.network.Network` as a NIR graph: sources -> ``Input`` nodes, each
population -> one neuron node (and an ``Output`` node of its spikes), each projection -> a
``Linear`` node of dense weights (post x pre) between them. Recurrent projections are edges
back into a population (NIR graphs may have cycles).

Neurons, written for forward-Euler steps of the network's ``dt_s`` (the convention of
:mod:`neurosim.interop.nir`) so that each step decays and drives as neurosim's exact step does,
with ``d = exp(-dt / tau_m)``:

- leaky, no synaptic current (projections onto ``v``): ``LIF`` with ``tau = dt / (1 - d)``,
  ``r = tau / dt`` (a unit spike through weight ``w`` moves ``v`` by ``w``, as a neurosim jump
  and as snnTorch's import reads it), ``v_leak = v_rest + r_m i_bias``;
- non-leaky: ``IF`` with ``r = 1 / dt``;
- exponential synaptic currents (``tau_exc_s`` / ``tau_inh_s`` equal, or one of them):
  ``CubaLIF`` with ``tau_syn = dt / (1 - exp(-dt / tau_syn))``, ``w_in = tau_syn / dt`` (a
  spike adds its weight to the current) and ``r = k / (1 - d)``, ``k`` neurosim's coefficient
  of the current in the membrane step.

Potentials are shifted so that every neuron starts at 0 (NIR has no initial state; an exact
change of origin of ``v_leak``, ``v_threshold`` and ``v_reset``): a population whose ``v0``
differs between neurons cannot be exported. The continuous-time model is the same; the step on
which a spike takes effect follows each simulator (neurosim delivers it in the step after it is
emitted, as Brian2 does; a sequential NIR reader in the same step).

Not expressible, an error naming the population or projection: refractory periods, reset by
subtraction, adaptive thresholds, conductance-based synapses, different excitatory and
inhibitory time constants, synaptic delays, current inputs and ``PoissonInput`` drives, and a
projection whose dense matrix would exceed ``max_weights`` (NIR has no sparse connectivity).
Plastic projections are written with their current weights (the rule is not exported).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neurosim.convert.nir_export import DT_KEY, NirExportError, nir_module
from neurosim.network.network import Network
from neurosim.network.populations import Population

#: The largest dense weight matrix (pre x post entries) a projection may become by default:
#: 20 million float64 weights, 160 MB.
DEFAULT_MAX_WEIGHTS = 20_000_000


def _names(network: Network) -> dict[int, str]:
    """A unique NIR node name per source and population."""
    names: dict[int, str] = {}
    taken: set[str] = {"output"}
    for group in [*network.poisson, *network.sources, *network.populations]:
        base = str(group.name) or type(group).__name__.lower()
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        names[id(group)] = name
    return names


def _check_population(pop: Population) -> None:
    params, where = pop.params, f"population {pop.name!r}"
    problems = [
        (params.t_ref_s > 0, f"NIR has no refractory period: {where} has t_ref_s="
                             f"{params.t_ref_s!r}; set t_ref_s=0 to export"),
        (params.reset != "value", f"NIR has no reset by subtraction: {where} resets by "
                                  "subtraction; use reset='value' to export"),
        (pop.theta_plus > 0, f"NIR has no adaptive threshold: {where} has theta_plus="
                             f"{pop.theta_plus!r}"),
        (pop.synapse_model != "current", f"NIR has no conductance-based synapses: {where} "
                                         "has synapse_model='conductance'"),
        (np.ptp(pop.v0) > 0, f"NIR has no initial membrane potential: the neurons of {where} "
                             "start at different v0; give them one v0 to export"),
        (not params.leaky and np.any(pop.i_bias != 0),
         f"NIR's IF neuron has no constant input: {where} has i_bias != 0"),
        (np.any(pop.ge0 != 0) or np.any(pop.gi0 != 0),
         f"NIR has no initial synaptic current: {where} starts with ge0/gi0 != 0"),
    ]
    taus = {t for t in (pop.tau_exc_s, pop.tau_inh_s) if t is not None}
    problems.append((len(taus) > 1, f"NIR's CubaLIF has one synaptic time constant: {where} "
                                    f"has tau_exc_s={pop.tau_exc_s!r} and tau_inh_s="
                                    f"{pop.tau_inh_s!r}"))
    for bad, message in problems:
        if bad:
            raise NirExportError(message)


def _neuron_node(nir: Any, pop: Population, dt_s: float) -> Any:
    params, n = pop.params, pop.n
    shift = float(pop.v0[0])  # every neuron starts at 0 after the shift

    def full(value: float) -> np.ndarray:
        return np.full(n, float(value))

    v_threshold, v_reset = full(params.v_th - shift), full(params.v_reset - shift)
    if not params.leaky:
        if pop.tau_exc_s is not None or pop.tau_inh_s is not None:
            raise NirExportError(f"NIR has no IF neuron with synaptic currents: population "
                                 f"{pop.name!r} is non-leaky with tau_exc_s/tau_inh_s")
        # neurosim's IF step: v += r_m dt / tau_m I; a unit spike onto v jumps by w
        return nir.IF(r=full(1.0 / dt_s), v_threshold=v_threshold, v_reset=v_reset)
    decay = math.exp(-dt_s / params.tau_m_s)
    tau = dt_s / (1.0 - decay)
    v_leak = params.v_rest + params.r_m * pop.i_bias - shift
    tau_syn_s = pop.tau_exc_s if pop.tau_exc_s is not None else pop.tau_inh_s
    if tau_syn_s is None:
        return nir.LIF(tau=full(tau), r=full(tau / dt_s), v_leak=v_leak,
                       v_threshold=v_threshold, v_reset=v_reset)
    k_exc, k_inh, _, _ = pop.synapse_constants(dt_s)
    tau_syn = dt_s / (1.0 - math.exp(-dt_s / tau_syn_s))
    k = k_exc if pop.tau_exc_s is not None else k_inh
    return nir.CubaLIF(tau_syn=full(tau_syn), tau_mem=full(tau), r=full(k / (1.0 - decay)),
                       v_leak=v_leak, v_threshold=v_threshold, v_reset=v_reset,
                       w_in=full(tau_syn / dt_s))


def _dense(network: Network, proj: Any, names: dict[int, str], max_weights: int) -> np.ndarray:
    where = f"projection {names[id(proj.pre)]!r} -> {names[id(proj.post)]!r}"
    if np.any(np.asarray(proj.delay_steps) != 0):
        raise NirExportError(f"{where} has synaptic delays, which neurosim does not export to "
                             "NIR; use delay_steps=0")
    size = proj.pre.n * proj.post.n
    if size > max_weights:
        dense = proj.n_synapses == size
        raise NirExportError(
            f"{where} ({proj.n_synapses:,} synapses{'' if dense else ', sparse'}) would be a "
            f"dense NIR matrix of {proj.post.n:,} x {proj.pre.n:,} = {size:,} weights "
            f"({8 * size / 1e6:,.1f} MB as float64), above max_weights={max_weights:,}: NIR "
            "has no sparse connectivity; export a smaller network or raise max_weights")
    current = proj.post.tau_exc_s is not None or proj.post.tau_inh_s is not None
    if current == (proj.target == "v"):
        raise NirExportError(
            f"{where} targets {proj.target!r}: NIR's neurons take input one way only, through "
            "the synaptic current (CubaLIF) or onto v (LIF, IF); connect onto v of populations "
            "without synaptic currents and onto 'exc'/'inh' of the others")
    learned = proj.plasticity is not None and network.simulation is not None
    values = network.weights_of(proj) if learned else proj.weight
    weights = np.zeros((proj.post.n, proj.pre.n))
    np.add.at(weights, (proj.post_idx, proj.pre_idx), np.asarray(values, np.float64))
    return weights


def network_to_nir(network: Network, *, max_weights: int = DEFAULT_MAX_WEIGHTS) -> Any:
    """See :func:`neurosim.interop.nir.to_nir`."""
    nir = nir_module()
    if network.currents or network.drives:
        raise NirExportError("NIR has no current inputs or PoissonInput drives: export a network "
                             "driven by PoissonGroup or SpikeSource inputs")
    if not network.populations:
        raise NirExportError("the network has no population to export")
    dt_s = float(network.dt_s)
    names = _names(network)
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    for source in [*network.poisson, *network.sources]:
        nodes[names[id(source)]] = nir.Input(input_type=np.array([source.n]))
    for pop in network.populations:
        _check_population(pop)
        name = names[id(pop)]
        nodes[name] = _neuron_node(nir, pop, dt_s)
        nodes[f"{name}.output"] = nir.Output(output_type=np.array([pop.n]))
        edges.append((name, f"{name}.output"))
    for k, proj in enumerate(network.projections):
        pre, post = names[id(proj.pre)], names[id(proj.post)]
        if pre not in nodes:
            raise NirExportError(f"projection {k} starts at a group the network does not hold")
        weights = _dense(network, proj, names, max_weights)
        link = f"{pre}->{post}" if f"{pre}->{post}" not in nodes else f"{pre}->{post}#{k}"
        nodes[link] = nir.Linear(weight=weights)
        edges += [(pre, link), (link, post)]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={DT_KEY: dt_s}, type_check=False)
