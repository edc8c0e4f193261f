"""The network's per-element rules, compiled for the CPU and CUDA network kernels together
with the neuron rules of :mod:`neurosim.kernels.scalar` (``scalar.compile_rules(decorator,
RULES)``): one neuron's step with current- or conductance-based synapses, jumps onto ``v``
and refractoriness, the ring buffer's values, and the counter-based random numbers of
Poisson sources and drives. Plain Python, like every rule: they run as such in tests and under
the CUDA simulator.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from neurosim.kernels.scalar import LIFConstants, lif_drive

#: :func:`binomial_count` inverts the distribution exactly up to this mean count per step.
BINOMIAL_EXACT_MEAN = 30.0
#: :func:`binomial_count` compares this many table entries without branching.
BINOMIAL_UNROLL = 8



class SynapseConstants(NamedTuple):
    """Synapses and inputs of one network population.

    Current-based (``conductance`` false): ``v`` gains ``ge * k_exc + gi * k_inh`` per step
    (exact integration). Conductance-based (COBA): ``ge``/``gi`` are conductances in units
    of the leak conductance and ``v`` relaxes towards
    ``(v_rest + r_m I + ge e_exc + gi e_inh) / (1 + ge + gi)`` with time constant
    ``tau_m / (1 + ge + gi)`` (exponential Euler: the conductances held over the step).
    Either way ``ge``/``gi`` decay by ``decay_exc``/``decay_inh`` per step.
    ``buffer_input``: jumps onto ``v`` that arrive while the neuron is refractory are kept
    (discounted by the leak over the rest of the refractory period) and added when it ends,
    NEST's ``refractory_input``; otherwise they are discarded, as in Brian2.
    ``theta_plus``/``decay_theta``: the adaptive threshold (the population's one other
    network constant): ``theta`` decays by ``decay_theta`` per step and gains ``theta_plus``
    at each spike; the neuron fires above ``v_th + theta``.
    """

    k_exc: float
    k_inh: float
    decay_exc: float
    decay_inh: float
    conductance: bool
    e_exc: float
    e_inh: float
    dt_over_tau: float  # dt / tau_m
    g_leak: float  # 1: the leak conductance, the unit of ge and gi (COBA)
    buffer_input: bool
    theta_plus: float
    decay_theta: float


def population_constants(pops, p):
    """Population ``p``'s constants as the rules read them, from the network's
    :class:`~neurosim.kernels.records.Populations` record: ``(LIFConstants,
    SynapseConstants)``."""
    neuron = LIFConstants(pops.v_th[p], pops.v_reset[p], pops.v_rest[p], pops.r_m[p],
                          pops.decay_m[p], pops.gain[p], pops.leaky[p] != 0,
                          pops.subtract[p] != 0, pops.ref_steps[p])
    synapse = SynapseConstants(pops.k_exc[p], pops.k_inh[p], pops.decay_exc[p],
                               pops.decay_inh[p], pops.conductance[p] != 0, pops.e_exc[p],
                               pops.e_inh[p], pops.dt_over_tau[p], pops.g_leak[p],
                               pops.buffer_input[p] != 0, pops.theta_plus[p],
                               pops.decay_theta[p])
    return neuron, synapse


def exp_vectorisable(x):
    """``exp(x)`` from arithmetic alone, so a loop over neurons that calls it vectorises (a
    call to the C library's ``exp`` does not) and CPU and CUDA compute the same bits: ``x``
    clamped to [-40, 40], the Taylor polynomial of degree 14 at ``y = x / 64`` (|y| <= 0.625,
    truncation below 1e-15), squared six times. Relative error below 1e-13 in float64,
    whatever the argument's type; below ``exp(-40) = 4e-18`` the result stays there (a
    conductance 8,000 times the leak's at dt / tau_m = 0.005).

    The polynomial is evaluated by Estrin's scheme (pairs of terms, then pairs of pairs with
    ``y**2``, ``y**4``, ``y**8``), not Horner's: Horner's 14 dependent multiply-adds made the
    COBA neuron loop wait on latency (a loop over 4,000 neurons: 5.1 -> 3.5 us, float32 and
    float64 state alike). Each operation is a separate multiply or add (no contraction into
    fused multiply-adds), so every target rounds alike."""
    x = -40.0 if x < -40.0 else (40.0 if x > 40.0 else x)
    y = x * 0.015625  # (the coefficients 1 / k!, written out)
    y2 = y * y
    y4 = y2 * y2
    y8 = y4 * y4
    q0 = 1.0 + 1.0 * y  # (1/0! + y/1!, ..., 1/12! + y/13!, then 1/14!)
    q1 = 0.5 + 0.16666666666666666 * y
    q2 = 0.041666666666666664 + 0.008333333333333333 * y
    q3 = 0.001388888888888889 + 0.0001984126984126984 * y
    q4 = 2.48015873015873e-05 + 2.7557319223985893e-06 * y
    q5 = 2.755731922398589e-07 + 2.505210838544172e-08 * y
    q6 = 2.08767569878681e-09 + 1.6059043836821613e-10 * y
    q7 = 1.1470745597729725e-11
    r0 = q0 + q1 * y2
    r1 = q2 + q3 * y2
    r2 = q4 + q5 * y2
    r3 = q6 + q7 * y2
    p = (r0 + r1 * y4) + (r2 + r3 * y4) * y8
    p = p * p  # six squarings: (e**y)**64
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p


def network_neuron_update(v, ge, gi, refrac, theta, current, c, syn):
    """One step of one network neuron: returns ``(v, ge, gi, refrac, theta, spiked)``. The
    reset is applied by the network loop after this step's spikes are delivered
    (:func:`lif_reset`, and ``theta += syn.theta_plus``). The threshold is ``v_th + theta``,
    ``theta`` decayed first (Brian2's order: state update, then threshold).

    Refractoriness in the network counts one more than in :func:`lif_gate`: after a spike
    ``refrac = ref_steps + 1``; the neuron is held while ``refrac > 1`` and integrates again
    at ``refrac == 1``, so after the update ``refrac >= 1`` says, without ambiguity, "held
    during this step" (what :func:`network_v_jump` needs to discard jumps onto ``v``).
    """
    if syn.conductance:
        # (no integer literal: float32 state stays float32, as on CUDA)
        g_total = syn.g_leak + ge + gi
        v_inf = (c.v_rest + c.r_m * current + ge * syn.e_exc + gi * syn.e_inh) / g_total
        v_driven = v_inf + (v - v_inf) * exp_vectorisable(-g_total * syn.dt_over_tau)
    else:
        v_driven = lif_drive(v, current, c) + ge * syn.k_exc + gi * syn.k_inh
    theta_new = theta * syn.decay_theta
    # lif_gate's refractoriness and threshold, the threshold raised by theta (branch-free)
    active = refrac <= 1
    v_new = v_driven if active else v
    spiked = active and v_new > c.v_th + theta_new
    refrac_new = refrac - 1 if refrac > 0 else refrac
    return v_new, ge * syn.decay_exc, gi * syn.decay_inh, refrac_new, theta_new, spiked


def network_v_jump(v, held, refrac, spiked, amount, c, syn):
    """A jump ``amount`` (synaptic or Poisson) onto ``v`` after this step's update: returns
    ``(v, held)``. Not while the neuron was refractory in this step: held (``refrac >= 1``
    after the update, see :func:`network_neuron_update`) or spiking with a refractory period.
    Brian2's ``(unless refractory)`` discards such jumps; with ``syn.buffer_input`` (NEST's
    ``refractory_input``) they go to ``held``, discounted by the leak of the held steps still
    to come, and :func:`release_held` adds them to ``v`` at the end of the last held step, so
    the neuron starts integrating from there. Scalars in and out: a rule that took the state
    arrays would cost reference counting per call inside the CPU's parallel loops."""
    blocked = (refrac >= 1) | (spiked & (c.ref_steps > 0))  # (no short-circuit branches)
    if syn.buffer_input and blocked:
        remaining = c.ref_steps if spiked else refrac - 1
        held = held + amount * c.decay ** remaining
    return (v if blocked else v + amount), held


def release_held(v, held, refrac):
    """At the end of a neuron's last refractory step (``refrac == 1`` after the update) the
    input it kept (:func:`network_v_jump` with ``buffer_input``) enters ``v``: returns
    ``(v, held)``."""
    if refrac == 1:
        return v + held, held - held
    return v, held


def network_neuron_store(v, ge, gi, refrac, theta, fired, j, current, c, syn):
    """:func:`network_neuron_update` of neuron ``j`` of the state arrays, written back (and
    ``fired[j]`` set); returns whether it spiked. The loop body of both network kernels."""
    v_j, ge_j, gi_j, r_j, theta_j, spiked = network_neuron_update(
        v[j], ge[j], gi[j], refrac[j], theta[j], current, c, syn)
    v[j] = v_j
    ge[j] = ge_j
    gi[j] = gi_j
    refrac[j] = r_j
    theta[j] = theta_j
    fired[j] = 1 if spiked else 0
    return spiked


def find_sorted(values, x):
    """The index of ``x`` in the ascending array ``values``, or -1 (binary search)."""
    lo = 0
    hi = values.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    if lo < values.shape[0] and values[lo] == x:
        return lo
    return -1


def ring_value(raw, delivery, zero):
    """What a ring-buffer entry adds to the state (``zero``: 0 in the state's type): the float
    sum itself, or the integer sum times ``delivery.quantum`` (exact accumulation)."""
    if delivery.exact:
        return (zero + raw) * delivery.quantum
    return raw


def binomial_exact(n, p):
    """Whether :func:`binomial_count` inverts the distribution exactly for ``n`` sources of
    probability ``p`` (by comparing the uniform's bits with the table's entries)."""
    return p < 1.0 and n * p <= BINOMIAL_EXACT_MEAN


def binomial_edges(thresholds, row):
    """The first :data:`BINOMIAL_UNROLL` (8) entries of ``thresholds[row]`` as a tuple: held
    in registers, they let a loop over neurons compare without reloading the table."""
    return (thresholds[row, 0], thresholds[row, 1], thresholds[row, 2], thresholds[row, 3],
            thresholds[row, 4], thresholds[row, 5], thresholds[row, 6], thresholds[row, 7])


def binomial_head(bits, edges):
    """How many of the first table entries ``edges`` (:func:`binomial_edges`) lie below
    ``bits``: compared without branches (a data-dependent loop exit mispredicts)."""
    k = 0
    for j in range(BINOMIAL_UNROLL):
        k += 1 if bits > edges[j] else 0
    return k


def binomial_tail(bits, thresholds, row, k):
    """The count once the first ``k`` table entries (all of the first
    :data:`BINOMIAL_UNROLL` compared, without branches) are known: past them only when all
    were below ``bits``, by search (rare; the table ends with 2**53, above every ``bits``)."""
    if k == BINOMIAL_UNROLL:
        while bits > thresholds[row, k]:
            k += 1
    return k


def binomial_count(key, key2, step, index, n, p, thresholds, row):
    """How many of ``n`` independent sources, each spiking with probability ``p`` in a step,
    spike in ``step`` (Brian2's ``PoissonInput``), from the counter-based generator of
    :func:`hash_uniform` keyed by ``(key, step, index)``: the same count on every backend.
    While the mean ``n p`` is at most :data:`BINOMIAL_EXACT_MEAN` the distribution is
    inverted exactly: the count is the number of entries of ``thresholds[row]`` below the
    uniform's 53 bits (the cumulative probabilities times 2**53, see
    :func:`neurosim.network.drives.binomial_thresholds`: integer comparisons, no division);
    above, the normal approximation (rounded and
    clipped to [0, n], a second uniform keyed by ``key2``), as Brian2 does for large means."""
    if p >= 1.0:
        return n
    mean = n * p
    if binomial_exact(n, p):
        # the first entries without branches, the rare rest by search; the table has at
        # least BINOMIAL_UNROLL columns and ends with 2**53, above every uniform's bits
        bits = hash_bits(key, step, index)
        return binomial_tail(bits, thresholds, row,
                             binomial_head(bits, binomial_edges(thresholds, row)))
    u1 = hash_uniform(key, step, index)
    u2 = hash_uniform(key2, step, index)
    z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(6.283185307179586 * u2)
    k = math.floor(mean + math.sqrt(mean * (1.0 - p)) * z + 0.5)
    return 0 if k < 0 else (n if k > n else int(k))


def hash_bits(seed, step, index):
    """53 random bits (``uint64`` below 2**53) from ``(seed, step, index)``, all ``uint64``:
    the SplitMix64 finaliser over a mix of the three, top 53 bits."""
    x = seed ^ (step * 0x9E3779B97F4A7C15) ^ (index * 0xC2B2AE3D27D4EB4F)
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB
    x = x ^ (x >> 31)
    return x >> 11


def hash_uniform(seed, step, index):
    """A uniform number in [0, 1) from ``(seed, step, index)``: :func:`hash_bits` times
    2**-53. Counter-based, so Poisson spikes do not depend on the order neurons are visited
    in, the thread count, or the backend; NumPy reproduces it
    (:func:`neurosim.network.populations.poisson_spikes`)."""
    return hash_bits(seed, step, index) * (1.0 / 9007199254740992.0)


#: The rules of this module, callees before callers (after scalar.RULES, which they call).
RULES = (population_constants, exp_vectorisable, network_neuron_update, network_v_jump,
         release_held, network_neuron_store, find_sorted, ring_value, hash_bits, hash_uniform,
         binomial_exact, binomial_edges, binomial_head, binomial_tail, binomial_count)
