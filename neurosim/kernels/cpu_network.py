"""The network time loop as one compiled CPU function (re-exported by :mod:`.cpu`).

Each step, in Brian2's order: (1) integrate every neuron exactly and mark threshold crossings;
(2) collect the step's spikes: neurons, Poisson sources, spike-time sources; (3) record them;
(4) deliver them event-driven through the CSR groups into a ring buffer of future inputs
(slot ``(t + delay) % D``); (5) add this step's slot to ``ge``/``gi``/``v``; (6) reset the
neurons that spiked. Python calls the function once per chunk of steps, not once per step.

Argument layout (N neurons, S = N + Np + Ng sources, P populations, G synapse groups):
pop_f (P, 10): v_th, v_reset, v_rest, r_m, decay_m, gain, k_exc, k_inh, decay_exc, decay_inh;
pop_i (P, 3): leaky, subtract, ref_steps; grp_indptr (G, S + 1); ring (D, 3, N).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from neurosim.config import NJIT_OPTIONS, NJIT_PARALLEL_OPTIONS
from neurosim.kernels import scalar

hash_uniform = njit(inline="always", **NJIT_OPTIONS)(scalar.hash_uniform)

_BLOCK = 4096


@njit(inline="always", **NJIT_OPTIONS)
def _integrate_block(v, ge, gi, refrac, fired, i_bias, timed, has_timed, prm, leaky_flag):
    """Exact step of one block of one population (1-D views: the loop vectorises)."""
    v_th, v_rest, r_m = prm[0], prm[2], prm[3]
    decay_m, gain, k_e, k_i, decay_e, decay_i = prm[4], prm[5], prm[6], prm[7], prm[8], prm[9]
    leaky = leaky_flag != 0
    zero = v.dtype.type(0)
    for j in range(v.shape[0]):
        current = i_bias[j] + (timed[j] if has_timed else zero)
        r = refrac[j]
        active = r <= 0
        v_j = v[j]
        if leaky:
            v_inf = v_rest + r_m * current
            v_int = v_inf + (v_j - v_inf) * decay_m + ge[j] * k_e + gi[j] * k_i
        else:
            v_int = v_j + gain * current + ge[j] * k_e + gi[j] * k_i
        ge[j] = ge[j] * decay_e
        gi[j] = gi[j] * decay_i
        v_new = v_int if active else v_j
        v[j] = v_new
        refrac[j] = r - 1 if r > 0 else r
        fired[j] = 1 if (active and v_new > v_th) else 0


def _network_run(t_start, n_steps, v, ge, gi, refrac, fired, fired_words, i_bias, timed_i,
                 pop_bounds, pop_f, pop_i, poisson_p, poisson_seed, gen_ptr, gen_idx,
                 grp_indptr, syn_post, syn_w, grp_target, grp_delay, ring, slot_dirty,
                 spike_list, rec_mask, n_rec, mon_t, mon_i, mon_count, state_idx, state_every,
                 state_buf, state_count, rate_buf):
    n = v.shape[0]
    n_poisson = poisson_p.shape[0]
    n_pops = pop_bounds.shape[0] - 1
    n_groups = grp_target.shape[0]
    depth = ring.shape[0]
    n_timed = timed_i.shape[0]
    n_gen_steps = gen_ptr.shape[0] - 1
    zero = v.dtype.type(0)
    for k in range(n_steps):
        t = t_start + k
        if mon_count[0] + n_rec > mon_t.shape[0]:
            return k  # the spike buffer might overflow: the caller empties it and resumes
        ti = min(t, n_timed - 1) if n_timed > 0 else 0
        # (1) integrate and threshold, population by population, in vectorisable blocks
        for p in range(n_pops):
            lo_p, hi_p = pop_bounds[p], pop_bounds[p + 1]
            n_blocks = (hi_p - lo_p + _BLOCK - 1) // _BLOCK
            for b in prange(n_blocks):
                lo = lo_p + b * _BLOCK
                hi = min(lo + _BLOCK, hi_p)
                timed_row = timed_i[ti, lo:hi] if n_timed > 0 else i_bias[lo:hi]
                _integrate_block(v[lo:hi], ge[lo:hi], gi[lo:hi], refrac[lo:hi], fired[lo:hi],
                                 i_bias[lo:hi], timed_row, n_timed > 0, pop_f[p], pop_i[p, 0])
        # (2) collect spikes: scan the flags eight at a time
        n_spk = 0
        for w in range(fired_words.shape[0]):
            if fired_words[w] != 0:
                for i in range(w * 8, min(w * 8 + 8, n)):
                    if fired[i]:
                        spike_list[n_spk] = i
                        n_spk += 1
        n_neuron_spk = n_spk
        for j in range(n_poisson):
            if hash_uniform(poisson_seed, np.uint64(t), np.uint64(j)) < poisson_p[j]:
                spike_list[n_spk] = n + j
                n_spk += 1
        if t < n_gen_steps:
            for e in range(gen_ptr[t], gen_ptr[t + 1]):
                spike_list[n_spk] = n + n_poisson + gen_idx[e]
                n_spk += 1
        # (3) monitors
        c = mon_count[0]
        for q in range(n_spk):
            s = spike_list[q]
            if rec_mask[s]:
                mon_t[c] = t
                mon_i[c] = s
                c += 1
        mon_count[0] = c
        if rate_buf.shape[1] > 0:
            for q in range(n_neuron_spk):
                s = spike_list[q]
                for p in range(n_pops):
                    if s < pop_bounds[p + 1]:
                        rate_buf[k, p] += 1
                        break
        # (4) deliver into the ring buffer
        for q in range(n_spk):
            s = spike_list[q]
            for g in range(n_groups):
                lo = grp_indptr[g, s]
                hi = grp_indptr[g, s + 1]
                if hi > lo:
                    target = grp_target[g]
                    if grp_delay[g] == 0:  # due now: straight into the state, no ring pass
                        dest = ge if target == 0 else (gi if target == 1 else v)
                        for z in range(lo, hi):
                            dest[syn_post[z]] += syn_w[z]
                        continue
                    slot = (t + grp_delay[g]) % depth
                    slot_dirty[slot, target] = 1
                    for z in range(lo, hi):
                        ring[slot, target, syn_post[z]] += syn_w[z]
        # (5) apply this step's slot
        slot = t % depth
        for target in range(3):
            if slot_dirty[slot, target]:
                slot_dirty[slot, target] = 0
                dest = ge if target == 0 else (gi if target == 1 else v)
                n_blocks = (n + _BLOCK - 1) // _BLOCK
                for b in prange(n_blocks):
                    for i in range(b * _BLOCK, min(b * _BLOCK + _BLOCK, n)):
                        dest[i] += ring[slot, target, i]
                        ring[slot, target, i] = zero
        # (6) reset
        for q in range(n_neuron_spk):
            i = spike_list[q]
            p = 0
            while i >= pop_bounds[p + 1]:
                p += 1
            v[i] = v[i] - (pop_f[p, 0] - pop_f[p, 1]) if pop_i[p, 1] != 0 else pop_f[p, 1]
            refrac[i] = pop_i[p, 2]
        # state monitor: the variables after the step
        if state_idx.shape[0] > 0 and t % state_every == 0:
            r = state_count[0]
            for m in range(state_idx.shape[0]):
                i = state_idx[m]
                state_buf[r, 0, m] = v[i]
                state_buf[r, 1, m] = ge[i]
                state_buf[r, 2, m] = gi[i]
            state_count[0] = r + 1
    return n_steps


network_run_serial = njit(**NJIT_OPTIONS)(_network_run)
network_run_parallel = njit(**NJIT_PARALLEL_OPTIONS)(_network_run)
#: Neurons above which the parallel variant pays for its per-step fork/join.
PARALLEL_MIN_NEURONS = 20_000


def network_run(*args):
    """Dispatch to the serial or the parallel variant by network size (same results)."""
    n = args[2].shape[0]
    run = network_run_parallel if n >= PARALLEL_MIN_NEURONS else network_run_serial
    return run(*args)
