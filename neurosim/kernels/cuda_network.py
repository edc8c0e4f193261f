"""The network time loop on CUDA: one persistent cooperative kernel per chunk of steps.

Threads stride over neurons, sources and spikes; three grid-wide barriers per step separate
(1) integrate + threshold + collect spikes, (2) monitors + event-driven delivery (atomic adds),
(3) apply the ring-buffer slot, reset, record state. The step order is that of the CPU kernel
(:mod:`neurosim.kernels.cpu_network`), and the per-neuron arithmetic is the same expression.

Spikes are collected with atomics, so their order in a step is not fixed: monitors are sorted by
the driver, and weight sums are bit-identical to the CPU's only when they are exact (the CUDA
tests use weights that are multiples of 1/8). Under the simulator a cooperative grid has one
block; on a GPU the grid is as large as can be co-resident.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from neurosim import config
from neurosim.kernels import scalar

_hash_uniform = cuda.jit(device=True)(scalar.hash_uniform)


@cuda.jit
def _network_kernel(t_start, n_steps, v, ge, gi, refrac, fired, i_bias, timed_i, pop_bounds,
                    pop_f, pop_i, neuron_pop, poisson_p, poisson_seed, gen_ptr, gen_idx,
                    grp_indptr, syn_post, syn_w, grp_target, grp_delay, ring, slot_dirty,
                    spike_list, counters, rec_mask, n_rec, mon_t, mon_i, state_slot,
                    state_every, state_buf, rate_buf, steps_done):
    grid = cuda.cg.this_grid()
    tid = cuda.grid(1)
    stride = cuda.gridsize(1)
    n = v.shape[0]
    n_poisson = poisson_p.shape[0]
    n_groups = grp_target.shape[0]
    depth = ring.shape[0]
    n_timed = timed_i.shape[0]
    n_gen_steps = gen_ptr.shape[0] - 1
    first_every = (state_every - t_start % state_every) % state_every
    # counters: [0] spikes this step, [1] neuron spikes this step, [2] monitor entries
    for k in range(n_steps):
        t = t_start + k
        if counters[2] + n_rec > mon_t.shape[0]:
            break  # every thread reads the same counter after the last barrier
        ti = min(t, n_timed - 1) if n_timed > 0 else 0
        # (1) integrate and threshold
        for i in range(tid, n, stride):
            p = neuron_pop[i]
            current = i_bias[i]
            if n_timed > 0:  # (no float64 literal: float32 state stays float32, as on the CPU)
                current = current + timed_i[ti, i]
            r = refrac[i]
            active = r <= 0
            v_i = v[i]
            if pop_i[p, 0] != 0:
                v_inf = pop_f[p, 2] + pop_f[p, 3] * current
                v_int = (v_inf + (v_i - v_inf) * pop_f[p, 4] + ge[i] * pop_f[p, 6]
                         + gi[i] * pop_f[p, 7])
            else:
                v_int = v_i + pop_f[p, 5] * current + ge[i] * pop_f[p, 6] + gi[i] * pop_f[p, 7]
            ge[i] = ge[i] * pop_f[p, 8]
            gi[i] = gi[i] * pop_f[p, 9]
            v_new = v_int if active else v_i
            v[i] = v_new
            refrac[i] = r - 1 if r > 0 else r
            spiked = active and v_new > pop_f[p, 0]
            fired[i] = 1 if spiked else 0
            if spiked:
                spike_list[cuda.atomic.add(counters, 0, 1)] = i
                cuda.atomic.add(counters, 1, 1)
                if rate_buf.shape[1] > 0:
                    cuda.atomic.add(rate_buf, (k, p), 1)
        for j in range(tid, n_poisson, stride):
            if _hash_uniform(poisson_seed, np.uint64(t), np.uint64(j)) < poisson_p[j]:
                spike_list[cuda.atomic.add(counters, 0, 1)] = n + j
        if t < n_gen_steps:
            for e in range(gen_ptr[t] + tid, gen_ptr[t + 1], stride):
                spike_list[cuda.atomic.add(counters, 0, 1)] = n + n_poisson + gen_idx[e]
        grid.sync()
        # (2) monitors and delivery
        n_spk = counters[0]
        for q in range(tid, n_spk, stride):
            s = spike_list[q]
            if rec_mask[s]:
                c = cuda.atomic.add(counters, 2, 1)
                mon_t[c] = t
                mon_i[c] = s
            for g in range(n_groups):
                lo = grp_indptr[g, s]
                hi = grp_indptr[g, s + 1]
                if hi > lo:
                    target = grp_target[g]
                    slot = (t + grp_delay[g]) % depth
                    slot_dirty[slot, target] = 1
                    for z in range(lo, hi):
                        cuda.atomic.add(ring, (slot, target, syn_post[z]), syn_w[z])
        grid.sync()
        # (3) apply this step's slot, reset, record
        slot = t % depth
        record = state_buf.shape[2] > 0 and t % state_every == 0
        row = (k - first_every) // state_every
        for i in range(tid, n, stride):
            if slot_dirty[slot, 0]:
                ge[i] += ring[slot, 0, i]
                ring[slot, 0, i] = 0.0
            if slot_dirty[slot, 1]:
                gi[i] += ring[slot, 1, i]
                ring[slot, 1, i] = 0.0
            if slot_dirty[slot, 2]:
                v[i] += ring[slot, 2, i]
                ring[slot, 2, i] = 0.0
            if fired[i]:
                p = neuron_pop[i]
                v[i] = v[i] - (pop_f[p, 0] - pop_f[p, 1]) if pop_i[p, 1] != 0 else pop_f[p, 1]
                refrac[i] = pop_i[p, 2]
            if record and state_slot[i] >= 0:
                m = state_slot[i]
                state_buf[row, 0, m] = v[i]
                state_buf[row, 1, m] = ge[i]
                state_buf[row, 2, m] = gi[i]
        grid.sync()
        if tid == 0:
            slot_dirty[slot, 0] = 0
            slot_dirty[slot, 1] = 0
            slot_dirty[slot, 2] = 0
            counters[0] = 0
            counters[1] = 0
            steps_done[0] = k + 1
        grid.sync()


def _grid_size(kernel, args, tpb: int) -> int:
    """Blocks for a cooperative launch: all co-resident blocks on a GPU, one in the simulator."""
    if config_simulator():
        return 1
    try:
        compiled = kernel.specialize(*args)
        overload = next(iter(compiled.overloads.values()))
        return max(1, int(overload.max_cooperative_grid_blocks(tpb)))
    except Exception:  # older Numba: one block per multiprocessor is always co-resident
        return int(cuda.get_current_device().MULTIPROCESSOR_COUNT)


def config_simulator() -> bool:
    from neurosim.backends import cuda_simulator_enabled

    return cuda_simulator_enabled()


def network_run(t_start, n_steps, v, ge, gi, refrac, fired, fired_words, i_bias, timed_i,
                pop_bounds, pop_f, pop_i, poisson_p, poisson_seed, gen_ptr, gen_idx, grp_indptr,
                syn_post, syn_w, grp_target, grp_delay, ring, slot_dirty, spike_list, rec_mask,
                n_rec, mon_t, mon_i, mon_count, state_idx, state_every, state_buf, state_count,
                rate_buf):
    """Host driver with the CPU kernel's signature: copies in, one launch, copies out."""
    n = v.shape[0]
    neuron_pop = np.repeat(np.arange(len(pop_bounds) - 1, dtype=np.int32), np.diff(pop_bounds))
    state_slot = np.full(n, -1, np.int32)
    state_slot[state_idx] = np.arange(len(state_idx), dtype=np.int32)
    counters = np.array([0, 0, mon_count[0]], np.int64)
    steps_done = np.zeros(1, np.int64)
    mutable = {"v": v, "ge": ge, "gi": gi, "refrac": refrac, "ring": ring,
               "slot_dirty": slot_dirty, "counters": counters, "mon_t": mon_t, "mon_i": mon_i,
               "state_buf": state_buf, "rate_buf": rate_buf, "steps_done": steps_done}
    dev = {name: cuda.to_device(arr) for name, arr in mutable.items()}
    args = (np.int64(t_start), np.int64(n_steps), dev["v"], dev["ge"], dev["gi"], dev["refrac"],
            cuda.to_device(fired), cuda.to_device(i_bias), cuda.to_device(timed_i),
            cuda.to_device(pop_bounds), cuda.to_device(pop_f), cuda.to_device(pop_i),
            cuda.to_device(neuron_pop), cuda.to_device(poisson_p), poisson_seed,
            cuda.to_device(gen_ptr), cuda.to_device(gen_idx), cuda.to_device(grp_indptr),
            cuda.to_device(syn_post), cuda.to_device(syn_w), cuda.to_device(grp_target),
            cuda.to_device(grp_delay), dev["ring"], dev["slot_dirty"],
            cuda.to_device(spike_list), dev["counters"], cuda.to_device(rec_mask),
            np.int64(n_rec), dev["mon_t"], dev["mon_i"], cuda.to_device(state_slot),
            np.int64(state_every), dev["state_buf"], dev["rate_buf"], dev["steps_done"])
    tpb = max(1, int(config.CUDA_THREADS_PER_BLOCK))
    blocks = _grid_size(_network_kernel, args, tpb)
    _network_kernel[blocks, tpb](*args)
    for name, arr in mutable.items():
        dev[name].copy_to_host(arr)
    done = int(steps_done[0])
    mon_count[0] = counters[2]
    first_recorded = (state_every - t_start % state_every) % state_every
    state_count[0] = len(range(first_recorded, done, state_every)) if len(state_idx) else 0
    return done
