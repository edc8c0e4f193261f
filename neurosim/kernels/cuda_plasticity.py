"""STDP in the CUDA network loop: the three phases of :mod:`neurosim.kernels.cpu_plasticity`
as device functions, each run by every thread of the cooperative grid between two grid-wide
barriers of :mod:`neurosim.kernels.cuda_network`:

(1) decay every trace, keep the step's spikes; (2) bump the presynaptic traces and handle the
arrivals (deliver the old weight with an atomic add, depress); (3) potentiate at the
postsynaptic spikes and bump their traces. Each synapse is touched by at most one thread per
phase (one arrival per step: a synapse has one source and one delay; one postsynaptic spike),
so the weights are the CPU's, bit for bit; only a spike-time source listed twice in one step
(two arrivals on the same synapses) has its two updates in no fixed order.
"""

from __future__ import annotations

from numba import cuda

from neurosim.kernels import scalar, scalar_plasticity

rules = scalar.compile_rules(cuda.jit(device=True), scalar_plasticity.RULES)
_rule = rules.stdp_constants
_depress = rules.stdp_depress
_potentiate_at_spike = rules.potentiate_at_spike


@cuda.jit(device=True)
def decay_and_keep(t, pl, spike_list, n_spk, tid, stride):
    """Phase 1: every trace decays one step; the step's spikes are kept."""
    depth = pl.pre1.shape[0]
    now = t % depth
    before = (t + depth - 1) % depth
    for q in range(pl.target.shape[0]):
        rule = _rule(pl, q)
        base = pl.pre_base[q]
        for j in range(base + tid, base + pl.pre_hi[q] - pl.pre_lo[q], stride):
            pl.pre1[now, j] = pl.pre1[before, j] * rule.decay_pre
            if rule.a3_minus > 0.0:  # (the slow traces only where the triplet terms read them)
                pl.pre2[now, j] = pl.pre2[before, j] * rule.decay_x
        base = pl.post_base[q]
        for j in range(base + tid, base + pl.post_hi[q] - pl.post_lo[q], stride):
            pl.post1[j] *= rule.decay_post
            if rule.a3_plus > 0.0:
                pl.post2[j] *= rule.decay_y
    for k in range(tid, n_spk, stride):
        pl.spike_hist[now, k] = spike_list[k]
    if tid == 0:
        pl.hist_count[now] = n_spk


@cuda.jit(device=True)
def bump_and_arrive(t, pl, ring, dirty, tid, stride):
    """Phase 2: the step's spikes bump their presynaptic traces; the spikes that arrive now
    deliver their weights into this step's ring slot, then depress them."""
    depth = pl.pre1.shape[0]
    now = t % depth
    n_proj = pl.target.shape[0]
    for k in range(tid, pl.hist_count[now], stride):
        s = pl.spike_hist[now, k]
        for q in range(n_proj):
            if pl.pre_lo[q] <= s and s < pl.pre_hi[q]:
                j = pl.pre_base[q] + s - pl.pre_lo[q]
                if pl.nearest[q] != 0:
                    pl.pre1[now, j] = 1.0
                    pl.pre2[now, j] = 1.0
                else:  # (a source listed twice in a step adds twice)
                    cuda.atomic.add(pl.pre1, (now, j), 1.0)
                    cuda.atomic.add(pl.pre2, (now, j), 1.0)
    ring_slot = t % ring.shape[0]
    for lane in range(pl.lane_q.shape[0]):
        q = pl.lane_q[lane]
        d = pl.lane_delay[lane]
        if d > t:
            continue
        emitted = (t - d) % depth
        earlier = (t - d + depth - 1) % depth
        rule = _rule(pl, q)
        learn = pl.enabled[q] != 0
        target = pl.target[q]
        post_shift = pl.post_base[q] - pl.post_lo[q]
        for k in range(tid, pl.hist_count[emitted], stride):
            s = pl.spike_hist[emitted, k]
            lo = pl.indptr[lane, s]
            hi = pl.indptr[lane, s + 1]
            if hi > lo:
                dirty[ring_slot, target] = 1
                r2_before = pl.pre2[earlier, pl.pre_slot[lo]] * rule.decay_x
                for z in range(lo, hi):
                    post = pl.post[z]
                    cuda.atomic.add(ring, (ring_slot, target, post), pl.weight[z])
                    if learn:
                        pl.weight[z] = _depress(pl.weight[z], pl.post1[post + post_shift],
                                                r2_before, rule)


@cuda.jit(device=True)
def potentiate_at_spikes(t, pl, spike_list, n_spk, n_neurons, tid, stride):
    """Phase 3: each neuron that spiked potentiates its incoming plastic synapses, then
    bumps its postsynaptic traces (:func:`scalar_plasticity.potentiate_at_spike`)."""
    for k in range(tid, n_spk, stride):
        i = spike_list[k]
        if i < n_neurons:  # (not a spike source)
            _potentiate_at_spike(pl, i, t)


@cuda.jit
def _normalize_kernel(pl, q, total):
    base = pl.post_base[q]
    for slot in range(base + cuda.grid(1), base + pl.post_hi[q] - pl.post_lo[q],
                      cuda.gridsize(1)):
        lo, hi = pl.post_ptr[slot], pl.post_ptr[slot + 1]
        summed = 0.0
        for m in range(lo, hi):
            summed += pl.weight[pl.post_syn[m]]
        if summed != 0.0:
            scale = total / summed
            for m in range(lo, hi):
                pl.weight[pl.post_syn[m]] *= scale


def normalize_weights(pl, q, total):
    """Scale each postsynaptic neuron's incoming weights of projection ``q`` to sum to
    ``total``, on the device (one thread per neuron)."""
    _normalize_kernel[64, 128](pl, q, float(total))
