"""The network time loop on CUDA: one persistent cooperative kernel per chunk of steps, on
records that stay on the device.

:func:`network_upload` copies the records of :mod:`neurosim.kernels.records` to the device
once, when the network is built; every later :func:`network_run` (chunk after chunk, run after
run) works on those device arrays, and the host only reads back the monitor buffers it asks
for (:func:`read_recorders`) and, when a user asks, the neuron state (:func:`network_download`).

Threads stride over neurons, sources and spikes; three grid-wide barriers per step separate
(1) integrate + threshold + collect spikes, (2) monitors + event-driven delivery (atomic adds),
(3) apply the ring-buffer slot (jumps onto ``v`` only outside refractoriness) and the Poisson
drives, reset, record state. The step order is that of the CPU kernel
(:mod:`neurosim.kernels.cpu_network`) and the per-neuron arithmetic is the same compiled rules
(:mod:`neurosim.kernels.scalar`).

Where results can differ from the CPU: spikes are collected with atomics, so their order in a
step is not fixed (monitors are sorted by the host), and the weights arriving at one neuron in
one step are summed with float atomics in that order. Float addition is not associative, so a
sum of weights that are not exactly representable partial sums may differ from the CPU's in
its last bit, and a neuron landing exactly on threshold can then flip. Sums of weights that are
multiples of a power of two within the float's precision (the CUDA tests use multiples of 1/8)
are exact in any order, so CPU and CUDA spikes are identical for them. Under the simulator a
cooperative grid has one block; on a GPU the grid is as large as can be co-resident.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from neurosim import config
from neurosim.kernels import cuda_plasticity, scalar, scalar_network
from neurosim.kernels.records import (
    COUNT_SPIKES,
    COUNT_STATE_ROWS,
    COUNT_STEP_SPIKES,
    COUNT_STEPS_DONE,
    TARGET_EXC,
    TARGET_INH,
    TARGET_V,
    Clock,
    map_arrays,
    readout,
)

rules = scalar.compile_rules(cuda.jit(device=True), scalar_network.RULES)
_network_neuron_store = rules.network_neuron_store
_network_v_jump = rules.network_v_jump
_release_held = rules.release_held
_binomial_count = rules.binomial_count
_lif_reset = rules.lif_reset
_hash_uniform = rules.hash_uniform
_constants = rules.population_constants
_ring_value = rules.ring_value
_find_sorted = rules.find_sorted


@cuda.jit
def _network_kernel(clock, pops, neurons, sources, drives, synapses, delivery, rec, plastic):
    grid = cuda.cg.this_grid()
    tid = cuda.grid(1)
    stride = cuda.gridsize(1)
    v, ge, gi, refrac = neurons.v, neurons.ge, neurons.gi, neurons.refrac
    ring, dirty, spike_list = delivery.ring, delivery.dirty, delivery.spike_list
    counters = rec.counters
    n = v.shape[0]
    n_poisson = sources.poisson_p.shape[0]
    n_groups = synapses.target.shape[0]
    n_plastic = plastic.target.shape[0]
    depth = ring.shape[0]
    n_timed = neurons.timed_i.shape[0]
    seed = sources.poisson_seed[0]
    every = rec.state_every
    first_every = (every - clock.t_start % every) % every
    record_rate = rec.rate.shape[1] > 0
    for k in range(tid, rec.rate.shape[0], stride):
        for p in range(rec.rate.shape[1]):
            rec.rate[k, p] = 0
    if tid == 0:
        counters[COUNT_SPIKES] = 0
        counters[COUNT_STATE_ROWS] = 0
        counters[COUNT_STEP_SPIKES] = 0
        counters[COUNT_STEPS_DONE] = 0
    grid.sync()
    for k in range(clock.n_steps):
        t = clock.t_start + k
        if counters[COUNT_SPIKES] + rec.n_watched > rec.spike_step.shape[0]:
            break  # every thread reads the same counter after the last barrier
        ti = (t if t < n_timed - 1 else n_timed - 1) if n_timed > 0 else 0  # (min() breaks PTX)
        # (1) integrate and threshold
        for i in range(tid, n, stride):
            p = neurons.population[i]
            neuron, synapse = _constants(pops, p)
            current = neurons.i_bias[i]
            if n_timed > 0:  # (no float64 literal: float32 state stays float32, as on the CPU)
                current = current + neurons.timed_i[ti, i]
            spiked = _network_neuron_store(v, ge, gi, refrac, neurons.theta, neurons.fired, i,
                                           current, neuron, synapse)
            if spiked:
                spike_list[cuda.atomic.add(counters, COUNT_STEP_SPIKES, 1)] = i
                if record_rate:
                    cuda.atomic.add(rec.rate, (k, p), 1)
        for j in range(tid, n_poisson, stride):
            p_j = sources.poisson_p[j]  # (silent sources, e.g. black pixels, cost no draw)
            if p_j > 0.0 and _hash_uniform(seed, np.uint64(t), np.uint64(j)) < p_j:
                spike_list[cuda.atomic.add(counters, COUNT_STEP_SPIKES, 1)] = n + j
        g = _find_sorted(sources.gen_step, t)
        if g >= 0:
            for e in range(sources.gen_ptr[g] + tid, sources.gen_ptr[g + 1], stride):
                slot_q = cuda.atomic.add(counters, COUNT_STEP_SPIKES, 1)
                spike_list[slot_q] = n + n_poisson + sources.gen_idx[e]
        grid.sync()
        # (2) monitors and delivery
        n_spk = counters[COUNT_STEP_SPIKES]
        for q in range(tid, n_spk, stride):
            s = spike_list[q]
            if rec.spike_mask[s]:
                c = cuda.atomic.add(counters, COUNT_SPIKES, 1)
                rec.spike_step[c] = t
                rec.spike_source[c] = s
            for g in range(n_groups):
                lo = synapses.indptr[g, s]
                hi = synapses.indptr[g, s + 1]
                if hi > lo:
                    target = synapses.target[g]
                    slot = (t + synapses.delay[g]) % depth
                    dirty[slot, target] = 1
                    uniform, value = synapses.uniform[g] != 0, synapses.value[g]
                    for z in range(lo, hi):
                        cuda.atomic.add(ring, (slot, target, synapses.post[z]),
                                        value if uniform else synapses.weight[z])
        if n_plastic > 0:  # STDP: traces, arrivals, weight changes (cuda_plasticity)
            cuda_plasticity.decay_and_keep(t, plastic, spike_list, n_spk, tid, stride)
            grid.sync()
            cuda_plasticity.bump_and_arrive(t, plastic, ring, dirty, tid, stride)
            grid.sync()
            cuda_plasticity.potentiate_at_spikes(t, plastic, spike_list, n_spk, n, tid, stride)
        grid.sync()
        # (3) apply this step's slot, reset, record
        slot = t % depth
        record = rec.state_index.shape[0] > 0 and t % every == 0
        row = (k - first_every) // every
        for i in range(tid, n, stride):
            zero = v[i] * 0
            if dirty[slot, TARGET_EXC]:
                ge[i] += _ring_value(ring[slot, TARGET_EXC, i], delivery, zero)
                ring[slot, TARGET_EXC, i] = 0
            if dirty[slot, TARGET_INH]:
                gi[i] += _ring_value(ring[slot, TARGET_INH, i], delivery, zero)
                ring[slot, TARGET_INH, i] = 0
            neuron, synapse = _constants(pops, neurons.population[i])
            if dirty[slot, TARGET_V]:
                v[i], neurons.held[i] = _network_v_jump(
                    v[i], neurons.held[i], refrac[i], neurons.fired[i] != 0,
                    _ring_value(ring[slot, TARGET_V, i], delivery, zero), neuron, synapse)
                ring[slot, TARGET_V, i] = 0
            for d in range(drives.target.shape[0]):  # the Poisson drives, in the CPU's order
                if drives.lo[d] <= i and i < drives.hi[d]:
                    count = _binomial_count(drives.key[d], drives.key2[d], np.uint64(t),
                                            np.uint64(i), drives.n[d], drives.p[d],
                                            drives.thresholds, d)
                    amount = count * drives.weight[d]  # (0 adds 0, as on the CPU)
                    if drives.target[d] == TARGET_EXC:
                        ge[i] += amount
                    elif drives.target[d] == TARGET_INH:
                        gi[i] += amount
                    else:
                        v[i], neurons.held[i] = _network_v_jump(
                            v[i], neurons.held[i], refrac[i], neurons.fired[i] != 0, amount,
                            neuron, synapse)
            if synapse.buffer_input:
                v[i], neurons.held[i] = _release_held(v[i], neurons.held[i], refrac[i])
            if neurons.fired[i]:
                v[i] = _lif_reset(v[i], neuron)
                refrac[i] = neuron.ref_steps + 1
                neurons.theta[i] += synapse.theta_plus
            m = rec.state_slot[i]
            if record and m >= 0:
                rec.state_v[row, m] = v[i]
                rec.state_ge[row, m] = ge[i]
                rec.state_gi[row, m] = gi[i]
        grid.sync()
        if tid == 0:
            dirty[slot, TARGET_EXC] = 0
            dirty[slot, TARGET_INH] = 0
            dirty[slot, TARGET_V] = 0
            counters[COUNT_STEP_SPIKES] = 0
            counters[COUNT_STEPS_DONE] = k + 1
            if record:
                counters[COUNT_STATE_ROWS] = row + 1
        grid.sync()


def _grid_size(kernel, args, tpb: int) -> int:
    """Blocks for a cooperative launch: all co-resident blocks on a GPU, one in the simulator."""
    if config.cuda_simulator_enabled():
        return 1
    try:
        compiled = kernel.specialize(*args)
        overload = next(iter(compiled.overloads.values()))
        return max(1, int(overload.max_cooperative_grid_blocks(tpb)))
    except Exception:  # older Numba: one block per multiprocessor is always co-resident
        return int(cuda.get_current_device().MULTIPROCESSOR_COUNT)


def network_upload(records):
    """Copy every record to the device, once (the network's build)."""
    return map_arrays(records, cuda.to_device)


def network_download(record):
    """A host copy of one device record (e.g. ``records.neurons`` for ``Network.state_of``)."""
    return map_arrays(record, _to_host)


def read_recorders(rec):
    """Host copies of what the last launch recorded: only the filled parts come back."""
    return readout(rec, rec.counters.copy_to_host(), _to_host)


def _to_host(array):
    return array.copy_to_host() if array.size else np.zeros(array.shape, array.dtype)


def network_run(clock: Clock, records) -> int:
    """One cooperative launch over the device records; returns the steps done (fewer than
    ``clock.n_steps`` when the spike-monitor buffer might overflow)."""
    args = (clock, records.populations, records.neurons, records.sources, records.drives,
            records.synapses, records.delivery, records.recorders, records.plasticity)
    tpb = max(1, int(config.CUDA_THREADS_PER_BLOCK))
    blocks = _grid_size(_network_kernel, args, tpb)
    _network_kernel[blocks, tpb](*args)
    return int(records.recorders.counters.copy_to_host()[COUNT_STEPS_DONE])
