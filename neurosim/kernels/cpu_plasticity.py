"""STDP in the CPU network loop: one compiled function per step, called by
:mod:`neurosim.kernels.cpu_network` after the step's spikes are collected and delivered.

In Brian2's order within a step: (1) every trace decays one step; (2) the step's spikes are
kept (``spike_hist``) and bump their sources' presynaptic traces; (3) the presynaptic spikes
that arrive now (emitted ``delay`` steps ago) deliver their synapses' weights into this step's
ring-buffer slot and then depress them (Brian2's ``on_pre``: ``ge += w`` before ``w`` changes);
(4) the neurons that spiked potentiate their incoming synapses (``on_post``, after ``on_pre``)
and bump their postsynaptic traces. The arithmetic is :mod:`neurosim.kernels.scalar_plasticity`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurosim.config import NJIT_OPTIONS
from neurosim.kernels import scalar, scalar_plasticity

rules = scalar.compile_rules(njit(inline="always", **NJIT_OPTIONS), scalar_plasticity.RULES)
_rule = rules.stdp_constants
_bump = rules.trace_bump
_depress = rules.stdp_depress
_potentiate_at_spike = rules.potentiate_at_spike


@njit(inline="always", **NJIT_OPTIONS)
def _decay(out, before, factor):
    """``out = before * factor`` over 1-D views (``out`` may be ``before``)."""
    for j in range(out.shape[0]):
        out[j] = before[j] * factor


@njit(inline="always", **NJIT_OPTIONS)
def plasticity_step(t, pl, spike_list, n_spk, n_neurons, ring, dirty):
    """One step of every plastic projection (nothing when there is none)."""
    n_proj = pl.target.shape[0]
    if n_proj == 0:
        return
    depth = pl.pre1.shape[0]
    now = t % depth
    before = (t + depth - 1) % depth
    # (1) decay
    # (the slow traces only where the triplet terms read them; 1-D rows: the loops vectorise)
    pre1_now, pre1_before = pl.pre1[now], pl.pre1[before]
    pre2_now, pre2_before = pl.pre2[now], pl.pre2[before]
    # (loops over views from index 0: a range from a start Numba cannot prove non-negative
    # keeps the wrap-around of negative indices and does not vectorise)
    for q in range(n_proj):
        rule = _rule(pl, q)
        lo = pl.pre_base[q]
        hi = lo + pl.pre_hi[q] - pl.pre_lo[q]
        _decay(pre1_now[lo:hi], pre1_before[lo:hi], rule.decay_pre)
        if rule.a3_minus > 0.0:
            _decay(pre2_now[lo:hi], pre2_before[lo:hi], rule.decay_x)
        lo = pl.post_base[q]
        hi = lo + pl.post_hi[q] - pl.post_lo[q]
        _decay(pl.post1[lo:hi], pl.post1[lo:hi], rule.decay_post)
        if rule.a3_plus > 0.0:
            _decay(pl.post2[lo:hi], pl.post2[lo:hi], rule.decay_y)
    # (2) keep the step's spikes, bump the presynaptic traces
    pl.hist_count[now] = n_spk
    for k in range(n_spk):
        s = spike_list[k]
        pl.spike_hist[now, k] = s
        for q in range(n_proj):
            if pl.pre_lo[q] <= s and s < pl.pre_hi[q]:
                j = pl.pre_base[q] + s - pl.pre_lo[q]
                nearest = pl.nearest[q] != 0
                pl.pre1[now, j] = _bump(pl.pre1[now, j], nearest)
                pl.pre2[now, j] = _bump(pl.pre2[now, j], nearest)
    # (3) arrivals: deliver, then depress
    ring_slot = t % ring.shape[0]
    for lane in range(pl.lane_q.shape[0]):
        q = pl.lane_q[lane]
        d = pl.lane_delay[lane]
        if d > t:
            continue  # emitted before the first step: nothing
        emitted = (t - d) % depth
        earlier = (t - d + depth - 1) % depth
        rule = _rule(pl, q)
        learn = pl.enabled[q] != 0
        target = pl.target[q]
        row = ring[ring_slot, target]
        # (arrays in locals and the learning switch outside the synapse loops: they vectorise)
        posts, weights, post1 = pl.post, pl.weight, pl.post1
        post_shift = pl.post_base[q] - pl.post_lo[q]
        for k in range(pl.hist_count[emitted]):
            s = pl.spike_hist[emitted, k]
            lo = pl.indptr[lane, s]
            hi = pl.indptr[lane, s + 1]
            if hi == lo:
                continue
            dirty[ring_slot, target] = 1
            for z in range(lo, hi):
                row[posts[z]] += weights[z]
            if learn:
                # the slow presynaptic trace just before this spike (triplet depression)
                r2_before = pl.pre2[earlier, pl.pre_slot[lo]] * rule.decay_x
                for z in range(lo, hi):
                    weights[z] = _depress(weights[z], post1[posts[z] + post_shift], r2_before,
                                          rule)
    # (4) postsynaptic spikes: potentiate, then bump the postsynaptic traces
    for k in range(n_spk):
        i = spike_list[k]
        if i < n_neurons:  # (not a spike source)
            _potentiate_at_spike(pl, i, t)

@njit(**NJIT_OPTIONS)
def normalize_weights(pl, q, total):
    """Scale the incoming weights of every postsynaptic neuron of projection ``q`` so that
    they sum to ``total`` (a neuron whose weights sum to 0 keeps them). Two passes over the
    projection's synapses in storage order (sequential memory access)."""
    post_lo = pl.post_lo[q]
    sums = np.zeros(pl.post_hi[q] - post_lo)
    for lane in range(pl.lane_q.shape[0]):
        if pl.lane_q[lane] == q:
            for z in range(pl.indptr[lane, 0], pl.indptr[lane, pl.indptr.shape[1] - 1]):
                sums[pl.post[z] - post_lo] += pl.weight[z]
    for j in range(sums.shape[0]):
        sums[j] = total / sums[j] if sums[j] != 0.0 else 1.0
    for lane in range(pl.lane_q.shape[0]):
        if pl.lane_q[lane] == q:
            for z in range(pl.indptr[lane, 0], pl.indptr[lane, pl.indptr.shape[1] - 1]):
                pl.weight[z] *= sums[pl.post[z] - post_lo]
