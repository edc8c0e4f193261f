"""Spike-timing-dependent plasticity: the per-synapse arithmetic, one rule per event, compiled
for the CPU and CUDA network kernels (``scalar.compile_rules(decorator, RULES)``) and run as
plain Python in tests.

Traces (float64, one per neuron and plastic projection): ``r1``/``r2`` of the presynaptic
sources (time constants ``tau_pre``/``tau_x``), ``o1``/``o2`` of the postsynaptic neurons
(``tau_post``/``tau_y``). Each decays by ``exp(-dt / tau)`` per step and, at its neuron's
spike, becomes ``x + 1`` (all-to-all pairing) or ``1`` (nearest-spike pairing). The weight
changes (Pfister & Gerstner 2006; the pair rule is ``a3_plus = a3_minus = 0``):

.. math::

    \\text{presynaptic arrival:}\\quad w \\leftarrow w - f_-(w)\\, o_1 (A_2^- + A_3^- r_2^{before})

    \\text{postsynaptic spike:}\\quad w \\leftarrow w + f_+(w)\\, r_1 (A_2^+ + A_3^+ o_2^{before})

additive: :math:`f_\\pm = 1` (then clipped to ``[w_min, w_max]``); multiplicative (soft
bounds): :math:`f_+ = w_{max} - w`, :math:`f_- = w - w_{min}`.
"""

from __future__ import annotations

from typing import NamedTuple


class STDPConstants(NamedTuple):
    """One plastic projection's rule for one step size (from
    :class:`neurosim.network.plasticity.STDP`)."""

    decay_pre: float  # exp(-dt / tau_pre): r1
    decay_post: float  # exp(-dt / tau_post): o1
    decay_x: float  # exp(-dt / tau_x): r2 (triplet)
    decay_y: float  # exp(-dt / tau_y): o2 (triplet)
    a_plus: float
    a_minus: float
    a3_plus: float
    a3_minus: float
    w_min: float
    w_max: float
    multiplicative: bool
    nearest: bool


def stdp_constants(plastic, q):
    """Projection ``q``'s :class:`STDPConstants` from the network's
    :class:`~neurosim.kernels.records.Plasticity` record."""
    return STDPConstants(plastic.decay_pre[q], plastic.decay_post[q], plastic.decay_x[q],
                         plastic.decay_y[q], plastic.a_plus[q], plastic.a_minus[q],
                         plastic.a3_plus[q], plastic.a3_minus[q], plastic.w_min[q],
                         plastic.w_max[q], plastic.multiplicative[q] != 0,
                         plastic.nearest[q] != 0)


def trace_bump(x, nearest):
    """A trace at its neuron's spike: ``1`` (nearest-spike pairing) or ``x + 1``."""
    return 1.0 if nearest else x + 1.0


def clip_weight(w, rule):
    """``w`` clipped to ``[w_min, w_max]``."""
    return rule.w_min if w < rule.w_min else (rule.w_max if w > rule.w_max else w)


def stdp_depress(w, o1, r2_before, rule):
    """The weight after a presynaptic spike arrives: ``o1`` is the postsynaptic trace now,
    ``r2_before`` the slow presynaptic trace just before this spike."""
    dependence = (w - rule.w_min) if rule.multiplicative else 1.0
    return clip_weight(w - dependence * o1 * (rule.a_minus + rule.a3_minus * r2_before), rule)


def stdp_potentiate(w, r1, o2_before, rule):
    """The weight after a postsynaptic spike: ``r1`` is the presynaptic trace of the spikes
    that have arrived, ``o2_before`` the slow postsynaptic trace just before this spike."""
    dependence = (rule.w_max - w) if rule.multiplicative else 1.0
    return clip_weight(w + dependence * r1 * (rule.a_plus + rule.a3_plus * o2_before), rule)


def potentiate_at_spike(pl, i, t):
    """Neuron ``i`` spiked in step ``t``: every plastic projection onto it potentiates the
    neuron's incoming synapses (:func:`stdp_potentiate`, with the presynaptic trace of the
    spikes that have arrived: the source's trace ``delay`` steps ago) while it learns, then
    bumps its postsynaptic traces. ``pl`` is the
    :class:`~neurosim.kernels.records.Plasticity` record; the CPU loop and each CUDA thread
    call this for one spiking neuron."""
    depth = pl.pre1.shape[0]
    for q in range(pl.target.shape[0]):
        if pl.post_lo[q] <= i and i < pl.post_hi[q]:
            slot = pl.post_base[q] + i - pl.post_lo[q]
            rule = stdp_constants(pl, q)
            if pl.enabled[q] != 0:
                o2_before = pl.post2[slot]
                for m in range(pl.post_ptr[slot], pl.post_ptr[slot + 1]):
                    z = pl.post_syn[m]
                    r1 = pl.pre1[(t - pl.delay[z] + depth) % depth, pl.pre_slot[z]]
                    pl.weight[z] = stdp_potentiate(pl.weight[z], r1, o2_before, rule)
            pl.post1[slot] = trace_bump(pl.post1[slot], rule.nearest)
            pl.post2[slot] = trace_bump(pl.post2[slot], rule.nearest)


#: The rules of this module, callees before callers.
RULES = (stdp_constants, trace_bump, clip_weight, stdp_depress, stdp_potentiate,
         potentiate_at_spike)
