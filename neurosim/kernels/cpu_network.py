"""The network time loop as one compiled CPU function per chunk of steps.

Each step, in Brian2's order: (1) integrate every neuron
(:func:`scalar_network.network_neuron_update`) and mark threshold crossings; (2) collect the
step's spikes: neurons, Poisson sources, spike-time sources; (3) record them; (4) deliver
them event-driven through the CSR groups into a ring buffer of future inputs (slot
``(t + delay) % D``; a step with many events splits them by postsynaptic neuron over the
threads, :func:`_deliver`); (5) add this step's slot to ``ge``/``gi``, then its jumps onto ``v``
except where the neuron was refractory in this step (:func:`scalar_network.network_v_jump`:
discarded as in Brian2, or kept for later as NEST's ``refractory_input``), then the Poisson
drives (:func:`scalar_network.binomial_count`); (6) reset the neurons that spiked
(:func:`scalar.lif_reset`). The state is the records of :mod:`neurosim.kernels.records`;
Python calls the kernel once per chunk.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from neurosim.config import NJIT_OPTIONS, NJIT_PARALLEL_OPTIONS, PARALLEL
from neurosim.kernels import scalar, scalar_network
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
def _lower_bound(post, lo, hi, x):
    """The first ``z`` in ``lo..hi`` with ``post[z] >= x`` (``post[lo:hi]`` ascending)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if post[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(**NJIT_OPTIONS, **_NUMPY_ERRORS)
def _deliver(first, last, n, t, spike_list, n_spk, synapses, delivery, ge, gi):
    """Step (4) for the postsynaptic neurons ``first..last-1``: each spike's synapses in the
    CSR groups, into the ring buffer (slot ``(t + delay) % D``) or, when due now, straight
    into ``ge``/``gi``. Rows are sorted by postsynaptic neuron (:func:`sort_rows`), so a
    part's synapses of a row are one contiguous run; every state entry gets its additions
    in the same order whatever the number of parts (the serial and parallel results are
    equal, bit for bit)."""
    ring = delivery.ring
    depth = ring.shape[0]
    posts, weights = synapses.post, synapses.weight
    whole = first == 0 and last == n
    for q in range(n_spk):
        s = spike_list[q]
        for g in range(synapses.target.shape[0]):
            lo = synapses.indptr[g, s]
            hi = synapses.indptr[g, s + 1]
            if hi > lo and not whole:
                lo = _lower_bound(posts, lo, hi, first)
                hi = _lower_bound(posts, lo, hi, last)
            if hi > lo:
                target = synapses.target[g]
                uniform, value = synapses.uniform[g] != 0, synapses.value[g]
                if synapses.delay[g] == 0 and not delivery.exact and target != TARGET_V:
                    # due now: straight into the currents, no ring pass (jumps onto v take
                    # the ring: refractory neurons discard them in step 5)
                    dest = ge if target == TARGET_EXC else gi
                    if uniform:
                        for z in range(lo, hi):
                            dest[posts[z]] += value
                    else:
                        for z in range(lo, hi):
                            dest[posts[z]] += weights[z]
                    continue
                slot = (t + synapses.delay[g]) % depth
                delivery.dirty[slot, target] = 1
                row = ring[slot, target]
                if uniform:  # no per-synapse weight to read
                    for z in range(lo, hi):
                        row[posts[z]] += value
                else:
                    for z in range(lo, hi):
                        row[posts[z]] += weights[z]


@njit(**NJIT_OPTIONS)
def sort_rows(indptr, post, weight):
    """Sort every CSR row's synapses by postsynaptic neuron, in place (stable: synapses onto
    one neuron keep their order); rows already sorted are left alone. Returns how many rows
    were sorted."""
    changed = 0
    for g in range(indptr.shape[0]):
        for s in range(indptr.shape[1] - 1):
            lo, hi = indptr[g, s], indptr[g, s + 1]
            ordered = True
            for z in range(lo + 1, hi):
                if post[z] < post[z - 1]:
                    ordered = False
                    break
            if ordered:
                continue
            order = np.argsort(post[lo:hi], kind="mergesort")
            post[lo:hi] = post[lo:hi][order]
            weight[lo:hi] = weight[lo:hi][order]
            changed += 1
    return changed


def _network_run(clock, pops, neurons, sources, drives, synapses, delivery, rec, plastic,
                 parts, min_events):
    v, ge, gi, refrac, held = neurons.v, neurons.ge, neurons.gi, neurons.refrac, neurons.held
    theta = neurons.theta
    fired, i_bias, timed_i = neurons.fired, neurons.i_bias, neurons.timed_i
    ring, spike_list = delivery.ring, delivery.spike_list
    n = v.shape[0]
    n_poisson = sources.poisson_p.shape[0]
    n_pops = pops.bounds.shape[0] - 1
    n_groups = synapses.target.shape[0]
    depth = ring.shape[0]
    n_timed = timed_i.shape[0]
    seed = sources.poisson_seed[0]
    counters = rec.counters
    counters[COUNT_SPIKES] = 0
    counters[COUNT_STATE_ROWS] = 0
    record_rate = rec.rate.shape[1] > 0
    zero = v.dtype.type(0)
    # per-neuron counts of the Poisson drives (each block writes its own neurons' entries)
    counts = np.empty(n if drives.target.shape[0] > 0 else 0, np.int64)
    for k in range(clock.n_steps):
        t = clock.t_start + k
        if counters[COUNT_SPIKES] + rec.n_watched > rec.spike_step.shape[0]:
            counters[COUNT_STEPS_DONE] = k
            return k  # the spike buffer might overflow: the caller empties it and resumes
        ti = min(t, n_timed - 1) if n_timed > 0 else 0
        # (1) integrate and threshold, population by population, in vectorisable blocks
        for p in range(n_pops):
            lo_p, hi_p = pops.bounds[p], pops.bounds[p + 1]
            n_blocks = (hi_p - lo_p + _BLOCK - 1) // _BLOCK
            for b in prange(n_blocks):
                # (records made inside the parallel loop: parfors cannot pass them in)
                neuron, synapse = _constants(pops, p)
                lo = lo_p + b * _BLOCK
                hi = min(lo + _BLOCK, hi_p)
                timed_row = timed_i[ti, lo:hi] if n_timed > 0 else i_bias[lo:hi]
                _integrate_block(v[lo:hi], ge[lo:hi], gi[lo:hi], refrac[lo:hi], theta[lo:hi],
                                 fired[lo:hi], i_bias[lo:hi], timed_row, n_timed > 0, neuron,
                                 synapse)
        # (2) collect spikes: scan the flags eight at a time
        n_spk = 0
        for w in range(neurons.fired_words.shape[0]):
            if neurons.fired_words[w] != 0:
                for i in range(w * 8, min(w * 8 + 8, n)):
                    if fired[i]:
                        spike_list[n_spk] = i
                        n_spk += 1
        n_neuron_spk = n_spk
        for j in range(n_poisson):
            p_j = sources.poisson_p[j]  # (silent sources, e.g. black pixels, cost no draw)
            if p_j > 0.0 and _hash_uniform(seed, np.uint64(t), np.uint64(j)) < p_j:
                spike_list[n_spk] = n + j
                n_spk += 1
        g = _find_sorted(sources.gen_step, t)
        if g >= 0:
            for e in range(sources.gen_ptr[g], sources.gen_ptr[g + 1]):
                spike_list[n_spk] = n + n_poisson + sources.gen_idx[e]
                n_spk += 1
        # (3) monitors
        c = counters[COUNT_SPIKES]
        for q in range(n_spk):
            s = spike_list[q]
            if rec.spike_mask[s]:
                rec.spike_step[c] = t
                rec.spike_source[c] = s
                c += 1
        counters[COUNT_SPIKES] = c
        if record_rate:
            for p in range(n_pops):
                rec.rate[k, p] = 0
            for q in range(n_neuron_spk):
                rec.rate[k, neurons.population[spike_list[q]]] += 1
        # (4) deliver into the ring buffer (or straight into ge/gi), split by postsynaptic
        # neuron over ``parts`` threads when the step has enough events (counted only then)
        events = 0
        if parts > 1:
            for q in range(n_spk):
                s = spike_list[q]
                for g in range(n_groups):
                    events += synapses.indptr[g, s + 1] - synapses.indptr[g, s]
        if parts > 1 and events >= min_events:
            for b in prange(parts):
                _deliver(b * n // parts, (b + 1) * n // parts, n, t, spike_list, n_spk,
                         synapses, delivery, ge, gi)
        elif n_spk > 0:
            _deliver(0, n, n, t, spike_list, n_spk, synapses, delivery, ge, gi)
        # (4b) plastic synapses: traces, arrivals (into this step's slot), weight changes
        plasticity_step(t, plastic, spike_list, n_spk, n, ring, delivery.dirty)
        # (5) apply this step's slot: currents, then jumps onto v (not while refractory),
        # then the Poisson drives
        slot = t % depth
        for target in range(2):
            if delivery.dirty[slot, target]:
                delivery.dirty[slot, target] = 0
                dest = ge if target == TARGET_EXC else gi
                n_blocks = (n + _BLOCK - 1) // _BLOCK
                for b in prange(n_blocks):
                    for i in range(b * _BLOCK, min(b * _BLOCK + _BLOCK, n)):
                        dest[i] += _ring_value(ring[slot, target, i], delivery, zero)
                        ring[slot, target, i] = 0
        if delivery.dirty[slot, TARGET_V]:
            delivery.dirty[slot, TARGET_V] = 0
            for p in range(n_pops):
                lo_p, hi_p = pops.bounds[p], pops.bounds[p + 1]
                n_blocks = (hi_p - lo_p + _BLOCK - 1) // _BLOCK
                for b in prange(n_blocks):
                    neuron, synapse = _constants(pops, p)
                    lo = lo_p + b * _BLOCK
                    hi = min(lo + _BLOCK, hi_p)
                    for i in range(lo, hi):
                        amount = _ring_value(ring[slot, TARGET_V, i], delivery, zero)
                        ring[slot, TARGET_V, i] = 0
                        v_i, held_i = _network_v_jump(v[i], held[i], refrac[i], fired[i] != 0,
                                                      amount, neuron, synapse)
                        v[i] = v_i
                        if synapse.buffer_input:
                            held[i] = held_i
        t_u64 = np.uint64(t)
        for d in range(drives.target.shape[0]):
            # the drive's constants in locals: stores to the state could alias the records
            lo_d, hi_d, key, key2 = drives.lo[d], drives.hi[d], drives.key[d], drives.key2[d]
            n_src, p_src, w = drives.n[d], drives.p[d], drives.weight[d]
            target, pop_d = drives.target[d], drives.population[d]
            exact = _binomial_exact(n_src, p_src)
            n_blocks = (hi_d - lo_d + _BLOCK - 1) // _BLOCK
            for b in prange(n_blocks):
                neuron, synapse = _constants(pops, pop_d)
                lo = lo_d + b * _BLOCK
                hi = min(lo + _BLOCK, hi_d)
                if exact:
                    # the exact inversion in loops that vectorise: the table's first entries
                    # in registers, the rare counts beyond them in a second pass
                    edges = _binomial_edges(drives.thresholds, d)
                    for i in range(lo, hi):
                        counts[i] = _binomial_head(_hash_bits(key, t_u64, np.uint64(i)), edges)
                    for i in range(lo, hi):
                        if counts[i] == _UNROLL:
                            counts[i] = _binomial_tail(_hash_bits(key, t_u64, np.uint64(i)),
                                                       drives.thresholds, d, counts[i])
                else:
                    for i in range(lo, hi):
                        counts[i] = _binomial_count(key, key2, t_u64, np.uint64(i), n_src, p_src,
                                                    drives.thresholds, d)
                if target == TARGET_EXC:  # (a count of 0 adds 0: no branch on it)
                    for i in range(lo, hi):
                        ge[i] += counts[i] * w
                elif target == TARGET_INH:
                    for i in range(lo, hi):
                        gi[i] += counts[i] * w
                else:
                    for i in range(lo, hi):
                        v_i, held_i = _network_v_jump(v[i], held[i], refrac[i], fired[i] != 0,
                                                      counts[i] * w, neuron, synapse)
                        v[i] = v_i
                        if synapse.buffer_input:
                            held[i] = held_i
        # input kept during refractoriness (NEST's refractory_input) enters v
        for p in range(n_pops):
            if pops.buffer_input[p]:
                for i in range(pops.bounds[p], pops.bounds[p + 1]):
                    v[i], held[i] = _release_held(v[i], held[i], refrac[i])
        # (6) reset
        for q in range(n_neuron_spk):
            i = spike_list[q]
            neuron, synapse = _constants(pops, neurons.population[i])
            v[i] = _lif_reset(v[i], neuron)
            refrac[i] = neuron.ref_steps + 1
            theta[i] += synapse.theta_plus
        # state monitor: the variables after the step
        if rec.state_index.shape[0] > 0 and t % rec.state_every == 0:
            r = counters[COUNT_STATE_ROWS]
            for m in range(rec.state_index.shape[0]):
                i = rec.state_index[m]
                rec.state_v[r, m] = v[i]
                rec.state_ge[r, m] = ge[i]
                rec.state_gi[r, m] = gi[i]
            counters[COUNT_STATE_ROWS] = r + 1
    counters[COUNT_STEPS_DONE] = clock.n_steps
    return clock.n_steps


_network_run_serial = njit(**NJIT_OPTIONS, **_NUMPY_ERRORS)(_network_run)
_network_run_parallel = njit(**NJIT_PARALLEL_OPTIONS, **_NUMPY_ERRORS)(_network_run)
#: Work (neurons, a Poisson-driven one counting three) above which the parallel variant
#: pays for its per-step fork/joins. Measured on 2 cores (AMD EPYC): at 10,000 neurons
#: (CUBA, Brunel) the serial variant is 1.3x faster with 2 threads than the parallel one,
#: at 100,000 about as fast, at 1e6 1.1x slower.
PARALLEL_MIN_NEURONS = 100_000
#: Synaptic events in a step above which the parallel variant splits their delivery.
PARALLEL_MIN_EVENTS = 8192


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
    The serial and parallel variants give identical results; the parallel one pays off above
    :data:`PARALLEL_MIN_NEURONS` neurons (a neuron with a Poisson drive counts three)."""
    drives = records.drives
    # a Poisson draw costs about two neuron updates: driven neurons count that much more
    work = records.neurons.v.shape[0] + 2 * int((drives.hi - drives.lo).sum())
    threads = numba.get_num_threads()
    # (one thread: the serial variant; the parallel one would pay its parfor set-up per step)
    parallel = PARALLEL and threads > 1 and work >= PARALLEL_MIN_NEURONS
    run = _network_run_parallel if parallel else _network_run_serial
    parts = threads if parallel else 1
    return run(clock, records.populations, records.neurons, records.sources, records.drives,
               records.synapses, records.delivery, records.recorders, records.plasticity,
               parts, PARALLEL_MIN_EVENTS)
