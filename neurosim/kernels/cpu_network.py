"""The network time loop as one compiled CPU function per chunk of steps.

Each step, in Brian2's order: (1) integrate every neuron
(:func:`scalar_network.network_neuron_update`) and mark threshold crossings; (2) collect the
step's spikes: neurons, Poisson sources, spike-time sources; (3) record them; (4) deliver
them event-driven through the CSR groups into a ring buffer of future inputs (slot
``(t + delay) % D``, :func:`deliver`); (5) add this step's slot to ``ge``/``gi``, then its
jumps onto ``v`` except where the neuron was refractory in this step
(:func:`scalar_network.network_v_jump`: discarded as in Brian2, or kept for later as NEST's
``refractory_input``), then the Poisson drives (:func:`scalar_network.binomial_count`); (6)
reset the neurons that spiked (:func:`scalar.lif_reset`). The state is the records of
:mod:`neurosim.kernels.records`; Python calls the kernel once per chunk.

With threads, the neurons are cut into one range per thread (:func:`parts_of`), and every
per-neuron phase runs in parallel over the ranges: (4), each range receiving its own share of
every spike's synapses, then (5)-(6) and the next step's (1), in one parallel loop a step.
Steps (2), (3), the plastic synapses (which split the loop in two) and the monitors run on
one thread between them.
"""

from __future__ import annotations

import types

import numba
import numpy as np
from numba import njit, prange

from neurosim.config import NJIT_OPTIONS, NJIT_PARALLEL_OPTIONS, PARALLEL
from neurosim.kernels import scalar, scalar_network
from neurosim.kernels.cpu_delivery import deliver, mark_due
from neurosim.kernels.cpu_plasticity import plasticity_step
from neurosim.kernels.records import (
    COUNT_SPIKES,
    COUNT_STATE_ROWS,
    COUNT_STEPS_DONE,
    TARGET_EXC,
    TARGET_INH,
    TARGET_V,
    readout,
)

#: NumPy's error model: a float division is an instruction, not a check for zero that raises
#: (Python's model), so the neuron loops with a division (conductance-based synapses)
#: vectorise. Inputs are checked before any kernel runs; nothing here divides by zero.
_NUMPY_ERRORS = {"error_model": "numpy"}
rules = scalar.compile_rules(njit(inline="always", fastmath=NJIT_OPTIONS["fastmath"],
                                  **_NUMPY_ERRORS), scalar_network.RULES)
_network_neuron_store = rules.network_neuron_store
_network_v_jump = rules.network_v_jump
_release_held = rules.release_held
_binomial_count = rules.binomial_count
_binomial_exact = rules.binomial_exact
_binomial_tail = rules.binomial_tail
_binomial_edges = rules.binomial_edges
_binomial_head = rules.binomial_head
_hash_bits = rules.hash_bits
_UNROLL = scalar_network.BINOMIAL_UNROLL
_lif_reset = rules.lif_reset
_hash_uniform = rules.hash_uniform
# not inlined by Numba (LLVM inlines it): Numba-level inlining of a function that returns
# records trips the array analysis of parallel loops
_constants = njit(**NJIT_OPTIONS, **_NUMPY_ERRORS)(scalar_network.population_constants)

_BLOCK = 4096

_ring_value = rules.ring_value
_find_sorted = rules.find_sorted


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _integrate_block(v, ge, gi, refrac, theta, fired, i_bias, timed, has_timed, neuron,
                     synapse):
    """One step of one block of one population (1-D views: the loop vectorises)."""
    zero = v.dtype.type(0)
    for j in range(v.shape[0]):
        current = i_bias[j] + (timed[j] if has_timed else zero)
        _network_neuron_store(v, ge, gi, refrac, theta, fired, j, current, neuron, synapse)


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _integrate_part(first, last, ti, pops, neurons):
    """Step (1) for the neurons ``first..last-1``, population by population (1-D views)."""
    v, ge, gi, refrac, theta = neurons.v, neurons.ge, neurons.gi, neurons.refrac, neurons.theta
    fired, i_bias, timed_i = neurons.fired, neurons.i_bias, neurons.timed_i
    has_timed = timed_i.shape[0] > 0
    for p in range(pops.bounds.shape[0] - 1):
        lo, hi = max(first, pops.bounds[p]), min(last, pops.bounds[p + 1])
        if lo < hi:
            # (records made inside the parallel loop: parfors cannot pass them in)
            neuron, synapse = _constants(pops, p)
            timed_row = timed_i[ti, lo:hi] if has_timed else i_bias[lo:hi]
            _integrate_block(v[lo:hi], ge[lo:hi], gi[lo:hi], refrac[lo:hi], theta[lo:hi],
                             fired[lo:hi], i_bias[lo:hi], timed_row, has_timed, neuron,
                             synapse)


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _apply_part(first, last, slot, due, pops, neurons, delivery):
    """Step (5a) for the neurons ``first..last-1``: this step's ring slot (the targets marked
    in ``due``) into ``ge``/``gi``, then its jumps onto ``v`` (not while refractory). (Every
    loop here and below runs over 1-D views from index 0: a loop from a start that might be
    negative keeps Numba's wrap-around of negative indices and does not vectorise.)"""
    ring = delivery.ring
    zero = neurons.v.dtype.type(0)
    for target in range(2):
        if due[target]:
            dest = (neurons.ge if target == TARGET_EXC else neurons.gi)[first:last]
            row = ring[slot, target, first:last]
            for j in range(dest.shape[0]):
                dest[j] += _ring_value(row[j], delivery, zero)
                row[j] = 0
    if due[TARGET_V]:
        for p in range(pops.bounds.shape[0] - 1):
            lo, hi = max(first, pops.bounds[p]), min(last, pops.bounds[p + 1])
            if lo < hi:
                neuron, synapse = _constants(pops, p)
                _jump_block(neurons.v[lo:hi], neurons.held[lo:hi], neurons.refrac[lo:hi],
                            neurons.fired[lo:hi], ring[slot, TARGET_V, lo:hi], delivery,
                            neuron, synapse)


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _jump_block(v, held, refrac, fired, amounts, delivery, neuron, synapse):
    """The ring slot's jumps ``amounts`` (its entries, zeroed here) onto ``v`` of one
    population's block, not while refractory (1-D views)."""
    zero = v.dtype.type(0)
    for j in range(v.shape[0]):
        v_j, held_j = _network_v_jump(v[j], held[j], refrac[j], fired[j] != 0,
                                      _ring_value(amounts[j], delivery, zero), neuron, synapse)
        amounts[j] = 0
        v[j] = v_j
        if synapse.buffer_input:
            held[j] = held_j


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _drive_part(first, last, t, pops, neurons, drives, counts):
    """Step (5b) for the neurons ``first..last-1``: the Poisson drives' binomial counts."""
    t_u64 = np.uint64(t)
    for d in range(drives.target.shape[0]):
        # the drive's constants in locals: stores to the state could alias the records
        lo_d, hi_d = max(first, drives.lo[d]), min(last, drives.hi[d])
        key, key2 = drives.key[d], drives.key2[d]
        n_src, p_src, w = drives.n[d], drives.p[d], drives.weight[d]
        target = drives.target[d]
        exact = _binomial_exact(n_src, p_src)
        if lo_d >= hi_d:
            continue
        neuron, synapse = _constants(pops, drives.population[d])
        # (the exact inversion's table: its first entries held in registers)
        edges = _binomial_edges(drives.thresholds, d)
        for lo in range(lo_d, hi_d, _BLOCK):  # (blocks: the counts stay in L1)
            hi = min(lo + _BLOCK, hi_d)
            cs = counts[lo:hi]
            first_u64 = np.uint64(lo)  # the neuron of cs[j] is lo + j
            if exact:
                # the exact inversion in loops that vectorise: the table's first entries in
                # registers, the rare counts beyond them in a second pass
                for j in range(cs.shape[0]):
                    cs[j] = _binomial_head(_hash_bits(key, t_u64, first_u64 + np.uint64(j)),
                                           edges)
                for j in range(cs.shape[0]):
                    if cs[j] == _UNROLL:
                        cs[j] = _binomial_tail(_hash_bits(key, t_u64, first_u64 + np.uint64(j)),
                                               drives.thresholds, d, cs[j])
            else:
                for j in range(cs.shape[0]):
                    cs[j] = _binomial_count(key, key2, t_u64, first_u64 + np.uint64(j), n_src,
                                            p_src, drives.thresholds, d)
            if target == TARGET_EXC:  # (a count of 0 adds 0: no branch on it)
                dest = neurons.ge[lo:hi]
                for j in range(cs.shape[0]):
                    dest[j] += cs[j] * w
            elif target == TARGET_INH:
                dest = neurons.gi[lo:hi]
                for j in range(cs.shape[0]):
                    dest[j] += cs[j] * w
            else:
                v, held, refrac = neurons.v[lo:hi], neurons.held[lo:hi], neurons.refrac[lo:hi]
                fired = neurons.fired[lo:hi]
                for j in range(cs.shape[0]):
                    v_j, held_j = _network_v_jump(v[j], held[j], refrac[j], fired[j] != 0,
                                                  cs[j] * w, neuron, synapse)
                    v[j] = v_j
                    if synapse.buffer_input:
                        held[j] = held_j


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _finish_part(first, last, t, slot, due, pops, neurons, drives, counts, spike_list,
                 n_neuron_spk, delivery):
    """Steps (5) and (6) for the neurons ``first..last-1``: the ring slot, the Poisson
    drives, input held during refractoriness (NEST's ``refractory_input``) into ``v``, and
    the reset of the neurons that spiked (``spike_list`` ascending)."""
    v, refrac, theta = neurons.v, neurons.refrac, neurons.theta
    # (a call taking records pays reference counts even when it has nothing to do: guarded)
    if due[TARGET_EXC] or due[TARGET_INH] or due[TARGET_V]:
        _apply_part(first, last, slot, due, pops, neurons, delivery)
    if drives.target.shape[0] > 0:
        _drive_part(first, last, t, pops, neurons, drives, counts)
    for p in range(pops.bounds.shape[0] - 1):
        lo, hi = max(first, pops.bounds[p]), min(last, pops.bounds[p + 1])
        if pops.buffer_input[p] and lo < hi:
            v_b, held_b, refrac_b = v[lo:hi], neurons.held[lo:hi], refrac[lo:hi]
            for j in range(v_b.shape[0]):
                v_b[j], held_b[j] = _release_held(v_b[j], held_b[j], refrac_b[j])
    for q in range(n_neuron_spk):
        i = spike_list[q]
        if first <= i < last:
            neuron, synapse = _constants(pops, neurons.population[i])
            v[i] = _lif_reset(v[i], neuron)
            refrac[i] = neuron.ref_steps + 1
            theta[i] += synapse.theta_plus


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _collect(t, neurons, sources, spike_list, hit_words):
    """Step (2): this step's spiking sources into ``spike_list``, ascending (neurons, then
    Poisson sources, then spike-time sources; ``hit_words``: one scratch byte per Poisson
    source, zero-padded words). Returns ``(spikes, neuron spikes)``."""
    fired = neurons.fired
    n = neurons.v.shape[0]
    n_poisson = sources.poisson_p.shape[0]
    seed = sources.poisson_seed[0]
    n_spk = 0
    for w in range(neurons.fired_words.shape[0]):
        if neurons.fired_words[w] != 0:
            for i in range(w * 8, min(w * 8 + 8, n)):
                if fired[i]:
                    spike_list[n_spk] = i
                    n_spk += 1
    n_neuron_spk = n_spk
    # all draws in a loop that vectorises (u < p: never for p = 0), then the hits eight at a
    # time (a branchy loop of draws took 1.3 us of the 2.8 us STDP step, 1,000 inputs)
    hits, p = hit_words.view(np.uint8), sources.poisson_p
    t_u64 = np.uint64(t)
    for j in range(n_poisson):
        hits[j] = 1 if _hash_uniform(seed, t_u64, np.uint64(j)) < p[j] else 0
    for w in range(hit_words.shape[0]):
        if hit_words[w] != 0:
            for j in range(w * 8, min(w * 8 + 8, n_poisson)):
                if hits[j]:
                    spike_list[n_spk] = n + j
                    n_spk += 1
    g = _find_sorted(sources.gen_step, t)
    if g >= 0:
        for e in range(sources.gen_ptr[g], sources.gen_ptr[g + 1]):
            spike_list[n_spk] = n + n_poisson + sources.gen_idx[e]
            n_spk += 1
    return n_spk, n_neuron_spk


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _monitor(k, t, rec, spike_list, n_spk, n_neuron_spk, population, n_pops):
    """Step (3): the watched spikes, and the spikes per population of step ``k``."""
    c = rec.counters[COUNT_SPIKES]
    for q in range(n_spk):
        s = spike_list[q]
        if rec.spike_mask[s]:
            rec.spike_step[c] = t
            rec.spike_source[c] = s
            c += 1
    rec.counters[COUNT_SPIKES] = c
    if rec.rate.shape[1] > 0:
        for p in range(n_pops):
            rec.rate[k, p] = 0
        for q in range(n_neuron_spk):
            rec.rate[k, population[spike_list[q]]] += 1


def _network_run(clock, pops, neurons, sources, drives, synapses, delivery, rec, plastic, cuts):
    v, ge, gi = neurons.v, neurons.ge, neurons.gi
    ring, spike_list = delivery.ring, delivery.spike_list
    n = v.shape[0]
    n_pops = pops.bounds.shape[0] - 1
    depth = ring.shape[0]
    n_timed = neurons.timed_i.shape[0]
    parts = cuts.shape[0] - 1
    has_plastic = plastic.target.shape[0] > 0
    counters = rec.counters
    counters[COUNT_SPIKES] = 0
    counters[COUNT_STATE_ROWS] = 0
    # per-neuron counts of the Poisson drives (each part writes its own neurons' entries)
    counts = np.empty(n if drives.target.shape[0] > 0 else 0, np.int64)
    hit_words = np.zeros(-(-sources.poisson_p.shape[0] // 8), np.uint64)  # (for _collect)
    integrated = False  # whether step k's (1) already ran, in step k-1's last parallel loop
    for k in range(clock.n_steps):
        t = clock.t_start + k
        if counters[COUNT_SPIKES] + rec.n_watched > rec.spike_step.shape[0]:
            counters[COUNT_STEPS_DONE] = k
            return k  # the spike buffer might overflow: the caller empties it and resumes
        # (1) integrate and threshold, part by part (a part: a range of neurons, one thread)
        if not integrated:
            for b in prange(parts):
                _integrate_part(cuts[b], cuts[b + 1], _timed_row(t, n_timed), pops, neurons)
        # (2) collect the spikes, (3) monitors
        n_spk, n_neuron_spk = _collect(t, neurons, sources, spike_list, hit_words)
        _monitor(k, t, rec, spike_list, n_spk, n_neuron_spk, neurons.population, n_pops)
        mark_due(t, spike_list, n_spk, synapses, delivery)
        slot = t % depth
        due = delivery.dirty[slot]  # (read-only until the parts are done)
        record = rec.state_index.shape[0] > 0 and t % rec.state_every == 0
        # the next step's (1) joins this step's last parallel loop (one fork/join a step
        # without plastic synapses) unless the state monitor reads this step's end first,
        # this is the chunk's last step, or the next step returns before integrating
        integrated = (not record and k + 1 < clock.n_steps
                      and counters[COUNT_SPIKES] + rec.n_watched <= rec.spike_step.shape[0])
        ti_next = _timed_row(t + 1, n_timed)
        # (4) deliver into the ring buffer (or straight into ge/gi), (5) apply this step's
        # slot and the Poisson drives, (6) reset: each part for its own postsynaptic neurons
        if has_plastic:
            for b in prange(parts):
                deliver(cuts[b], cuts[b + 1], n, t, spike_list, n_spk, synapses, delivery,
                        ge, gi)
            # (4b) plastic synapses between delivery and the slot: traces, arrivals (into
            # this step's slot), weight changes
            plasticity_step(t, plastic, spike_list, n_spk, n, ring, delivery.dirty)
        for b in prange(parts):
            if not has_plastic:
                deliver(cuts[b], cuts[b + 1], n, t, spike_list, n_spk, synapses, delivery,
                        ge, gi)
            _finish_part(cuts[b], cuts[b + 1], t, slot, due, pops, neurons, drives, counts,
                         spike_list, n_neuron_spk, delivery)
            if integrated:
                _integrate_part(cuts[b], cuts[b + 1], ti_next, pops, neurons)
        for target in range(3):
            delivery.dirty[slot, target] = 0
        # state monitor: the variables after the step
        if record:
            r = counters[COUNT_STATE_ROWS]
            for m in range(rec.state_index.shape[0]):
                i = rec.state_index[m]
                rec.state_v[r, m] = v[i]
                rec.state_ge[r, m] = ge[i]
                rec.state_gi[r, m] = gi[i]
            counters[COUNT_STATE_ROWS] = r + 1
    counters[COUNT_STEPS_DONE] = clock.n_steps
    return clock.n_steps


@njit(inline="always", **NJIT_OPTIONS, **_NUMPY_ERRORS)
def _timed_row(t, n_timed):
    """The row of the per-step currents that step ``t`` reads (the last row after them)."""
    return min(t, n_timed - 1) if n_timed > 0 else 0


def _renamed(function, name):
    """A copy of ``function`` under another name. Numba's disk cache files a compiled function
    under its module, name and bytecode, not its compile flags: the serial and parallel
    variants of one function shared one cache entry, and whichever compiled first ran for
    both (the parallel variant ran serial code, or the serial one paid parfor launches)."""
    copy = types.FunctionType(function.__code__, function.__globals__, name,
                              function.__defaults__, function.__closure__)
    copy.__qualname__ = name
    return copy


_network_run_serial = njit(**NJIT_OPTIONS, **_NUMPY_ERRORS)(
    _renamed(_network_run, "_network_run_serial"))
_network_run_parallel = njit(**NJIT_PARALLEL_OPTIONS, **_NUMPY_ERRORS)(
    _renamed(_network_run, "_network_run_parallel"))
#: Work per step (:func:`step_work`) from which the parallel variant pays for its fork/join.
#: Measured on 2 cores (2 threads): CUBA at 4,000 neurons (work 24,000) even, 8,000 (48,000)
#: 1.1-1.3x faster parallel, 40,000 1.4x; COBA 3,000 (27,000) even, 4,000 (36,000) 1.2x;
#: Brunel 1,250 neurons (13,500) even, 2,500 (47,000) 1.2x, 6,250 1.2-1.3x.
PARALLEL_MIN_WORK = 30_000
#: Neurons per part are a multiple of this: whole cache lines of every state array.
PART_ALIGN = 64


def parts_of(n: int, parts: int) -> np.ndarray:
    """``parts + 1`` ascending cuts of the neurons ``0..n-1`` into ranges of nearly equal size,
    each inner cut a multiple of :data:`PART_ALIGN` (no cache line is written by two parts)."""
    cuts = [min(n, -(-(n * b // parts) // PART_ALIGN) * PART_ALIGN) for b in range(parts + 1)]
    cuts[-1] = n
    return np.asarray(cuts, np.int64)


def step_work(records) -> int:
    """The work of one step that threads share (:data:`PARALLEL_MIN_WORK`'s units): a neuron
    1, with conductances 4 (its exponential), a Poisson draw 2, a static synapse 1/16. Plastic
    synapses do not count: one thread runs them (counting them sent Diehl & Cook's network to
    the parallel variant, 1.5x slower than serial)."""
    pops, drives = records.populations, records.drives
    sizes = np.diff(pops.bounds)
    neurons = int(sizes.sum() + 3 * sizes[pops.conductance != 0].sum())
    return neurons + 2 * int((drives.hi - drives.lo).sum()) + records.synapses.post.shape[0] // 16


def network_upload(records):
    """The records the kernel works on: on the CPU, the host arrays themselves."""
    return records


def network_download(record):
    """A host copy of one record (on the CPU, the record itself)."""
    return record


def read_recorders(rec):
    """Host copies of what the last kernel call recorded (:class:`records.Readout`)."""
    return readout(rec, rec.counters, np.copy)


def network_run(clock, records) -> int:
    """Run ``clock.n_steps`` steps (fewer when a monitor buffer fills); returns steps done.
    The parallel variant splits the neurons into one range per thread (:func:`parts_of`);
    each thread integrates, receives the deliveries of, drives and resets its own range, so
    a step has one fork/join (two with plastic synapses) and each neuron's state stays in
    one core's cache. Both variants give identical results; the parallel one pays off above
    :data:`PARALLEL_MIN_WORK` (:func:`step_work`)."""
    n = records.neurons.v.shape[0]
    threads = numba.get_num_threads()
    # (one thread: the serial variant; the parallel one would pay its parfor set-up per step)
    parallel = PARALLEL and threads > 1 and step_work(records) >= PARALLEL_MIN_WORK
    run = _network_run_parallel if parallel else _network_run_serial
    cuts = parts_of(n, threads if parallel else 1)
    return run(clock, records.populations, records.neurons, records.sources, records.drives,
               records.synapses, records.delivery, records.recorders, records.plasticity, cuts)
