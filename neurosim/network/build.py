"""Turn a network's objects into the records the kernels run on (:mod:`neurosim.kernels.records`).

Done once, at a network's first run: populations become one row each of
:class:`~neurosim.kernels.records.Populations`, neurons, sources and monitors are numbered
globally (neurons first, then Poisson sources, then spike-time sources) and every projection is
merged into CSR groups keyed by (target, delay).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from neurosim.kernels.cpu_delivery import sort_rows
from neurosim.kernels.records import (
    COUNTERS,
    Delivery,
    NetworkRecords,
    Neurons,
    Populations,
    Recorders,
    SpikeSources,
    SynapseGroups,
)
from neurosim.network.drives import build_drives
from neurosim.network.monitors import RateMonitor, SpikeMonitor, StateMonitor
from neurosim.network.plasticity import build_plasticity
from neurosim.network.projections import TARGETS

if TYPE_CHECKING:  # the Network is passed in; this module sits below network.py
    from neurosim.network.populations import Population

#: Spike-monitor entries one kernel call may write before the host empties the buffer.
MONITOR_CAPACITY = 1 << 20


def source_offsets(populations: list, poisson: list, sources: list) -> dict[int, int]:
    """The global index of every group's first neuron or source, keyed by ``id(group)``."""
    offsets: dict[int, int] = {}
    start = 0
    for group in populations + poisson + sources:
        offsets[id(group)] = start
        start += group.n
    return offsets


def check_indices(net: Any) -> None:
    """Every index a kernel will follow is in range, checked once per build: the kernels do not
    check bounds, and an index changed after construction would corrupt memory (or crash)."""

    def check(what: str, values: Any, n: int) -> None:
        values = np.asarray(values)
        if values.size and (values.dtype.kind not in "iu" or values.min() < 0
                            or values.max() >= n):
            raise ValueError(f"{what} must be integers in [0, {n}); got values from "
                             f"{values.min()} to {values.max()} (changed after construction?)")

    for proj in net.projections:
        name = f"projection {proj.pre.name!r} -> {proj.post.name!r}"
        if not (len(proj.pre_idx) == len(proj.post_idx) == len(proj.weight)):
            raise ValueError(f"{name}: pre_idx, post_idx and weight must have the same length")
        check(f"{name}: pre_idx", proj.pre_idx, proj.pre.n)
        check(f"{name}: post_idx", proj.post_idx, proj.post.n)
        delays = np.asarray(proj.delay_steps)
        if delays.size and (delays.dtype.kind not in "iu" or delays.min() < 0
                            or delays.max() >= 2**31):
            raise ValueError(f"{name}: delay_steps must be integers in [0, 2**31)")
        if not np.isfinite(np.asarray(proj.weight, np.float64)).all():
            raise ValueError(f"{name}: weights must be finite")
        if (proj.post.synapse_model == "conductance" and proj.target != "v"
                and np.size(proj.weight) and np.min(proj.weight) < 0):
            raise ValueError(f"{name}: conductance weights must be >= 0 (the target "
                             "population is conductance-based: inhibition is target='inh')")
    for src in net.sources:
        check(f"spike source {src.name!r}: indices", src.indices, src.n)
    for mon in net.monitors:
        group = getattr(mon, "source", None) or getattr(mon, "population", None)
        if hasattr(mon, "recorded"):
            check(f"{type(mon).__name__} of {group.name!r}: indices", mon.recorded, group.n)


def build_records(net: Any, offsets: dict[int, int], chunk_steps: int
                  ) -> tuple[NetworkRecords, dict]:
    """Every record of ``net`` (a :class:`neurosim.network.Network`) on the host (its indices
    checked by :func:`check_indices` first), and where each plastic projection's synapses are
    in the plasticity record (:func:`~neurosim.network.plasticity.build_plasticity`)."""
    n_sources = sum(g.n for g in net.populations + net.poisson + net.sources)
    synapses = _synapse_groups(net, offsets, n_sources)
    depth = int(synapses.delay.max(initial=0)) + 1
    neurons = _neurons(net, offsets)
    exact = net.accumulate == "exact"
    quantum = 1.0
    if exact:
        synapses, quantum = _quantise(synapses)
    ring_dtype = np.int64 if exact else net.dtype
    spike_width = n_sources + _repeats_per_step(net)
    plasticity, plastic_index = build_plasticity(net, offsets, n_sources, spike_width)
    return NetworkRecords(
        populations=_populations(net.populations, net.dt_s, net.dtype),
        neurons=neurons,
        sources=_sources(net, offsets),
        drives=build_drives(net, offsets),
        synapses=synapses,
        delivery=Delivery(ring=np.zeros((depth, 3, len(neurons.v)), ring_dtype),
                          dirty=np.zeros((depth, 3), np.uint8),
                          spike_list=np.zeros(spike_width, np.int32),
                          exact=exact,
                          quantum=np.dtype(net.dtype).type(quantum)),
        recorders=build_recorders(net, offsets, chunk_steps),
        plasticity=plasticity,
    ), plastic_index


#: Exact accumulation: one integer unit is 2**-QUANTUM_BITS of the largest weight (rounded up to
#: a power of two). An int64 sum then holds 2**(63 - QUANTUM_BITS) = 8 million arrivals of the
#: largest weight at one neuron in one step, and each weight is kept to 12 decimal digits.
QUANTUM_BITS = 40


def _quantise(synapses: SynapseGroups) -> tuple[SynapseGroups, float]:
    """Weights as int64 multiples of a power of two, for order-independent integer sums."""
    largest = float(np.abs(synapses.weight).max(initial=0.0))
    exponent = math.frexp(largest)[1] if largest > 0 else 0  # largest < 2**exponent
    quantum = math.ldexp(1.0, exponent - QUANTUM_BITS)
    if quantum < np.finfo(np.float32).tiny:
        raise ValueError(f"weights up to {largest:g} are too small for accumulate='exact' (its "
                         "unit would underflow): scale them, or use accumulate='float'")
    units = np.rint(synapses.weight.astype(np.float64) / quantum).astype(np.int64)
    value = np.rint(synapses.value.astype(np.float64) / quantum).astype(np.int64)
    return synapses._replace(weight=units, value=value), quantum


def _populations(populations: list[Population], dt: float, dtype: Any) -> Populations:
    rows = []
    for pop in populations:
        prm = pop.params
        prm.constants(dt, dtype)  # refuses what this dt and dtype cannot represent
        k_e, k_i, d_e, d_i = pop.synapse_constants(dt)
        rows.append({
            "v_th": prm.v_th, "v_reset": prm.v_reset, "v_rest": prm.v_rest, "r_m": prm.r_m,
            "decay_m": math.exp(-dt / prm.tau_m_s) if prm.leaky else 1.0,
            "gain": prm.r_m * dt / prm.tau_m_s, "k_exc": k_e, "k_inh": k_i, "decay_exc": d_e,
            "decay_inh": d_i, "leaky": prm.leaky, "subtract": prm.reset == "subtract",
            "ref_steps": prm.refractory_steps(dt),
            "conductance": pop.synapse_model == "conductance", "e_exc": pop.e_exc,
            "e_inh": pop.e_inh, "dt_over_tau": dt / prm.tau_m_s, "g_leak": 1.0,
            "buffer_input": pop.refractory_input == "buffer", "theta_plus": pop.theta_plus,
            "decay_theta": (math.exp(-dt / pop.tau_theta_s) if pop.tau_theta_s is not None
                            else 1.0)})
    # (the adaptive threshold in float64 whatever the state's type: its decay per step,
    # 1 - 5e-8 at Diehl & Cook's 1e4 s, is 1 in float32)
    kinds = {"leaky": np.uint8, "subtract": np.uint8, "ref_steps": np.int64,
             "conductance": np.uint8, "buffer_input": np.uint8, "theta_plus": np.float64,
             "decay_theta": np.float64}
    columns = {name: np.array([row[name] for row in rows], kinds.get(name, dtype))
               for name in Populations._fields if name != "bounds"}
    bounds = np.cumsum([0] + [p.n for p in populations]).astype(np.int64)
    return Populations(bounds=bounds, **columns)


def _neurons(net: Any, offsets: dict[int, int]) -> Neurons:
    dtype = net.dtype
    n = sum(p.n for p in net.populations)
    timed_len = max([c.values.shape[0] for c in net.currents], default=0)
    timed_i = np.zeros((timed_len, n), dtype)
    for cur in net.currents:
        lo = offsets[id(cur.target)]
        vals = cur.values
        padded = np.concatenate([vals, np.repeat(vals[-1:], timed_len - len(vals), axis=0)])
        timed_i[:, lo:lo + cur.target.n] += padded
    fired = np.zeros(-(-max(n, 1) // 8) * 8, np.uint8)
    population = np.repeat(np.arange(len(net.populations), dtype=np.int32),
                           [p.n for p in net.populations])
    v0 = cast_finite("v0", np.concatenate([p.v0 for p in net.populations]), dtype)
    i_bias = cast_finite("i_bias", np.concatenate([p.i_bias for p in net.populations]), dtype)
    cast_finite("CurrentInput values (summed per neuron)", timed_i, dtype)
    ge0 = cast_finite("ge0", np.concatenate([p.ge0 for p in net.populations]), dtype)
    gi0 = cast_finite("gi0", np.concatenate([p.gi0 for p in net.populations]), dtype)
    return Neurons(v=v0, ge=ge0, gi=gi0, refrac=np.zeros(n, np.int32), held=np.zeros(n, dtype),
                   theta=np.zeros(n, np.float64),
                   fired=fired, fired_words=fired.view(np.uint64), population=population,
                   i_bias=i_bias, timed_i=timed_i)


def cast_finite(name: str, values: np.ndarray, dtype: Any) -> np.ndarray:
    """``values`` in ``dtype``; a value that overflows it (1e39 in float32) is an error, not
    an infinity that turns the state into NaN a few steps later."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(values).astype(dtype, copy=False)
        bad = ~np.isfinite(out)
    if bad.any():
        first = np.asarray(values).reshape(-1)[int(np.flatnonzero(bad.reshape(-1))[0])]
        raise ValueError(f"{name}: {first!r} overflows {np.dtype(dtype).name} (largest "
                         f"{np.finfo(dtype).max:.3g}); scale the model or use float64")
    return out


def _sources(net: Any, offsets: dict[int, int]) -> SpikeSources:
    dt = net.dt_s
    n_external = sum(p.n for p in net.populations) + sum(g.n for g in net.poisson)
    seeds = {g.seed for g in net.poisson}
    if len(seeds) > 1:
        raise ValueError("all PoissonGroups of a network must share one seed (streams differ by "
                         "source index already)")
    poisson_p = np.concatenate([g.rate_hz * dt for g in net.poisson] or [np.zeros(0)])
    if (poisson_p > 1).any():
        raise ValueError(f"a Poisson rate of {poisson_p.max() / dt:.0f} Hz exceeds 1/dt_s")
    gen_steps, gen_idx = [], []
    for src in net.sources:
        steps = np.rint(src.times_s / dt).astype(np.int64)
        if not np.allclose(steps * dt, src.times_s, rtol=0, atol=1e-6 * dt + 1e-12):
            raise ValueError(f"spike times of {src.name!r} must lie on the time grid (multiples "
                             f"of dt_s={dt})")
        gen_steps.append(steps)
        gen_idx.append(src.indices + offsets[id(src)] - n_external)
    gen_steps_all = np.concatenate(gen_steps or [np.zeros(0, np.int64)])
    gen_idx_all = np.concatenate(gen_idx or [np.zeros(0, np.int64)])
    order = np.lexsort((gen_idx_all, gen_steps_all))
    gen_steps_all, gen_idx_all = gen_steps_all[order], gen_idx_all[order]
    # CSR over the steps that have spikes only: memory grows with the spikes, not with the
    # time of the last one (the kernels find a step by binary search). A source listed twice
    # in one step spikes twice (its synapses deliver twice), as NEST's spike_generator does.
    gen_step, first = np.unique(gen_steps_all, return_index=True)
    gen_ptr = np.append(first, len(gen_steps_all)).astype(np.int64)
    return SpikeSources(poisson_p=poisson_p.astype(np.float64),
                        poisson_seed=np.array([seeds.pop() if seeds else 0], np.uint64),
                        gen_step=gen_step.astype(np.int64), gen_ptr=gen_ptr,
                        gen_idx=gen_idx_all.astype(np.int32))


def weight_class(proj: Any) -> tuple[int, float]:
    """``(1, w)`` when every synapse of ``proj`` has the weight ``w`` (float32), else
    ``(0, 0.0)``: uniform groups are delivered without reading per-synapse weights."""
    weights = np.asarray(proj.weight, np.float32)
    if weights.size and np.all(weights == weights[0]):
        return 1, float(weights[0])
    return 0, 0.0


def _synapse_groups(net: Any, offsets: dict, n_sources: int) -> SynapseGroups:
    """Merge every projection into CSR groups keyed by (target, delay, weight class): the
    projections whose synapses all carry one weight form groups of their own, delivered
    without reading per-synapse weights (half the memory traffic of a spike)."""
    fixed = [p for p in net.projections if p.plasticity is None]  # plastic ones learn apart
    classes = {id(p): weight_class(p) for p in fixed}
    keys = sorted({(TARGETS.index(p.target), int(d), *classes[id(p)]) for p in fixed
                   for d in np.unique(p.delay_steps)})
    n_groups = len(keys)
    if not n_groups:
        return SynapseGroups(indptr=np.zeros((0, n_sources + 1), np.int64),
                             post=np.zeros(0, np.int32), weight=np.zeros(0, np.float32),
                             target=np.zeros(0, np.int64), delay=np.zeros(0, np.int64),
                             uniform=np.zeros(0, np.uint8), value=np.zeros(0, np.float32))
    key_index = {key: g for g, key in enumerate(keys)}

    def codes_of(proj: Any) -> np.ndarray | int:
        """The group of each synapse (one int when the projection has a single delay)."""
        delays = np.asarray(proj.delay_steps).reshape(-1)
        unique = np.unique(delays)
        codes = [key_index[(TARGETS.index(proj.target), int(d), *classes[id(proj)])]
                 for d in unique]
        if len(codes) == 1:
            return codes[0]
        return np.asarray(codes, np.int64)[np.searchsorted(unique, delays)]

    # CSR by counting: the synapses of each (group, source) row in projection order, then in
    # each projection's own order (what a stable sort by (group, source) gives), placed
    # straight into the final arrays: about 16 bytes per synapse of the largest projection
    # besides the 8 of the result, not 60 for all of them.
    built = [p for p in fixed if p.post_idx.size]
    flat_counts = np.zeros(n_groups * n_sources, np.int64)
    for proj in built:
        keys_p = codes_of(proj) * n_sources + (proj.pre_idx.astype(np.int64)
                                               + offsets[id(proj.pre)])
        flat_counts += np.bincount(keys_p, minlength=n_groups * n_sources)
    indptr = np.zeros((n_groups, n_sources + 1), np.int64)
    indptr[:, 1:] = np.cumsum(flat_counts).reshape(n_groups, n_sources)
    indptr[1:, 0] = indptr[:-1, -1]
    free = indptr[:, :-1].reshape(-1).copy()  # next free slot of each (group, source) row
    total = int(flat_counts.sum())
    post_out = np.empty(total, np.int32)
    weight_out = np.empty(total, np.float32)
    for proj in built:
        keys_p = codes_of(proj) * n_sources + (proj.pre_idx.astype(np.int64)
                                               + offsets[id(proj.pre)])
        order = None if np.all(keys_p[1:] >= keys_p[:-1]) else np.argsort(keys_p, kind="stable")
        if order is not None:
            keys_p = keys_p[order]
        counts = np.bincount(keys_p - keys_p[0], minlength=1)
        first = np.cumsum(counts) - counts  # the row's first synapse within the projection
        slots = free[keys_p] + (np.arange(len(keys_p)) - first[keys_p - keys_p[0]])
        np.add.at(free, keys_p[np.r_[0, np.flatnonzero(np.diff(keys_p)) + 1]],
                  counts[counts > 0])
        post = proj.post_idx.astype(np.int64) + offsets[id(proj.post)]
        weight = cast_finite("weights", proj.weight, np.float32)
        post_out[slots] = post if order is None else post[order]
        weight_out[slots] = weight if order is None else weight[order]
    # rows by postsynaptic neuron: a thread's share of a row is one run (cpu_delivery.deliver)
    sort_rows(indptr, post_out, weight_out)
    return SynapseGroups(indptr=indptr, post=post_out, weight=weight_out,
                         target=np.array([k[0] for k in keys], np.int64),
                         delay=np.array([k[1] for k in keys], np.int64),
                         uniform=np.array([k[2] for k in keys], np.uint8),
                         value=np.array([k[3] for k in keys], np.float32))


def state_monitor_of(net: Any) -> StateMonitor | None:
    """The network's state monitor (one per network: it records several variables)."""
    monitors = [m for m in net.monitors if isinstance(m, StateMonitor)]
    if len(monitors) > 1:
        raise ValueError("at most one StateMonitor per network (record several variables and "
                         "neurons with one)")
    return monitors[0] if monitors else None


def _repeats_per_step(net: Any) -> int:
    """The most spikes that spike sources list beyond one per source in any one step (a source
    listed twice in a step spikes twice); buffers sized per source get this much more room."""
    steps = [np.rint(s.times_s / net.dt_s).astype(np.int64) * s.n + s.indices
             for s in net.sources if len(s.times_s)]
    if not steps:
        return 0
    repeats = [len(k) - len(np.unique(k)) for k in steps]
    return int(sum(repeats))


def build_recorders(net: Any, offsets: dict[int, int], chunk_steps: int) -> Recorders:
    """Monitor buffers for kernel calls of up to ``chunk_steps`` steps."""
    n = sum(p.n for p in net.populations)
    n_sources = n + sum(g.n for g in net.poisson + net.sources)
    spike_mask = np.zeros(n_sources, np.uint8)
    for mon in net.monitors:
        if isinstance(mon, SpikeMonitor):
            spike_mask[offsets[id(mon.source)] + mon.recorded] = 1
    # a bound on the spikes recorded in one step (the kernels stop a chunk before overflowing)
    n_watched = int(spike_mask.sum()) + _repeats_per_step(net)
    capacity = max(MONITOR_CAPACITY, 4 * n_watched)
    state_mon = state_monitor_of(net)
    if state_mon is None:
        state_index, every = np.zeros(0, np.int64), 1
    else:
        state_index = (state_mon.recorded + offsets[id(state_mon.population)]).astype(np.int64)
        every = int(state_mon.every)
    state_slot = np.full(n, -1, np.int32)
    state_slot[state_index] = np.arange(len(state_index), dtype=np.int32)
    rows = -(-chunk_steps // every) + 1
    n_rate = len(net.populations) if any(isinstance(m, RateMonitor) for m in net.monitors) else 0
    return Recorders(
        spike_mask=spike_mask, n_watched=n_watched,
        spike_step=np.zeros(capacity, np.int64), spike_source=np.zeros(capacity, np.int32),
        counters=np.zeros(COUNTERS, np.int64), state_index=state_index, state_slot=state_slot,
        state_every=every, state_v=np.zeros((rows, len(state_index)), net.dtype),
        state_ge=np.zeros((rows, len(state_index)), net.dtype),
        state_gi=np.zeros((rows, len(state_index)), net.dtype),
        rate=np.zeros((chunk_steps, n_rate), np.int32))
