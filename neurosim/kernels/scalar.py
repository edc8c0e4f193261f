"""Per-element update rules shared by the CPU and CUDA backends: one source of arithmetic.

These are plain Python functions with no decorator. :func:`compile_rules` compiles all of them
for one backend (``numba.njit`` for :mod:`neurosim.kernels.cpu`, ``cuda.jit(device=True)`` for
:mod:`neurosim.kernels.cuda`); a rule that calls another rule calls that backend's compiled
version (the globals of every rule are rebound), so rules compose like ordinary functions and
still run as plain Python in tests and under the CUDA simulator. One source for the arithmetic
of both backends is what makes their spikes identical: the same operations in the same order,
and no fast-math on either side (see :mod:`neurosim.config`).

The neuron model is written once, in three rules that every kernel composes:
:func:`lif_drive` (leak and input), :func:`lif_gate` (refractoriness and threshold) and
:func:`lif_reset`. :func:`lif_neuron_step` (single populations, conversion layers) and
:func:`network_neuron_update` (the network loop, which adds synaptic input and resets after
delivery, as Brian2 does) are both made of them.
"""

from __future__ import annotations

import math
import types
from types import SimpleNamespace
from typing import NamedTuple

#: :func:`binomial_count` inverts the distribution exactly up to this mean count per step.
BINOMIAL_EXACT_MEAN = 30.0
#: :func:`binomial_count` compares this many table entries without branching.
BINOMIAL_UNROLL = 8


class LIFConstants(NamedTuple):
    """The constants of one population of (L)IF neurons for one step size, as the rules read
    them (state dtype for the potentials; see :meth:`neurosim.neurons.lif.LIFParams.constants`).
    """

    v_th: float
    v_reset: float
    v_rest: float
    r_m: float
    decay: float  # exp(-dt / tau_m) for leaky neurons, 1 for IF
    gain: float  # r_m * dt / tau_m: the IF neuron's input gain
    leaky: bool
    subtract: bool  # reset by subtraction (else to v_reset)
    ref_steps: int  # steps skipped after a spike step


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
                               pops.buffer_input[p] != 0)
    return neuron, synapse


def lif_drive(v, current, c):
    """The membrane potential after one step of leak and input, before refractoriness.

    Leaky: ``v <- v_inf + (v - v_inf) * decay`` with ``v_inf = v_rest + r_m * I``. Written in
    this form, ``v`` never overshoots ``v_inf`` in floating point (the rounded product keeps its
    sign), so a neuron with ``v_inf <= v_th`` provably never fires under ``v > v_th``.
    Non-leaky (IF): ``v <- v + gain * I``.
    """
    if c.leaky:
        v_inf = c.v_rest + c.r_m * current
        return v_inf + (v - v_inf) * c.decay
    return v + c.gain * current


def lif_gate(v, v_driven, refrac, c):
    """Refractoriness and threshold: a refractory neuron (``refrac > 0``) keeps ``v`` and counts
    down; an active one takes ``v_driven`` and fires when it is above ``v_th``. Returns
    ``(v, refrac, spiked)`` (no reset: see :func:`lif_reset`)."""
    # Branch-free (conditional expressions become selects), so neuron loops vectorise.
    active = refrac <= 0
    v_new = v_driven if active else v
    spiked = active and v_new > c.v_th
    refrac_new = refrac - 1 if refrac > 0 else refrac
    return v_new, refrac_new, spiked


def lif_reset(v, c):
    """The potential after a spike: ``v - (v_th - v_reset)`` (by subtraction) or ``v_reset``."""
    return v - (c.v_th - c.v_reset) if c.subtract else c.v_reset


def lif_neuron_step(v, refrac, current, c):
    """One exact step of one (L)IF neuron with constants ``c`` (:class:`LIFConstants`); returns
    ``(v, refrac, spiked)``. After a spike ``v`` is reset and ``refrac = ref_steps``."""
    v_new, refrac_new, spiked = lif_gate(v, lif_drive(v, current, c), refrac, c)
    v_out = lif_reset(v_new, c) if spiked else v_new
    refrac_out = c.ref_steps if spiked else refrac_new
    return v_out, refrac_out, spiked


def exp_vectorisable(x):
    """``exp(x)`` from arithmetic alone, so a loop over neurons that calls it vectorises (a
    call to the C library's ``exp`` does not) and CPU and CUDA compute the same bits: ``x``
    clamped to [-40, 40], the Taylor polynomial of degree 14 at ``y = x / 64`` (|y| <= 0.625,
    truncation below 1e-15), squared six times. Relative error below 1e-14 in float64,
    whatever the argument's type; below ``exp(-40) = 4e-18`` the result stays there (a
    conductance 8,000 times the leak's at dt / tau_m = 0.005)."""
    x = -40.0 if x < -40.0 else (40.0 if x > 40.0 else x)
    y = x * 0.015625  # (the coefficients 1 / k!, written out: the loop vectorises)
    p = 1.1470745597729725e-11
    p = 1.6059043836821613e-10 + y * p
    p = 2.08767569878681e-09 + y * p
    p = 2.505210838544172e-08 + y * p
    p = 2.755731922398589e-07 + y * p
    p = 2.7557319223985893e-06 + y * p
    p = 2.48015873015873e-05 + y * p
    p = 0.0001984126984126984 + y * p
    p = 0.001388888888888889 + y * p
    p = 0.008333333333333333 + y * p
    p = 0.041666666666666664 + y * p
    p = 0.16666666666666666 + y * p
    p = 0.5 + y * p
    p = 1.0 + y * p
    p = 1.0 + y * p
    p = p * p  # six squarings: (e**y)**64
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p


def network_neuron_update(v, ge, gi, refrac, current, c, syn):
    """One step of one network neuron: returns ``(v, ge, gi, refrac, spiked)``. The reset is
    applied by the network loop after this step's spikes are delivered (:func:`lif_reset`).

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
    v_new, _, spiked = lif_gate(v, v_driven, refrac - 1, c)
    refrac_new = refrac - 1 if refrac > 0 else refrac
    return v_new, ge * syn.decay_exc, gi * syn.decay_inh, refrac_new, spiked


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


def network_neuron_store(v, ge, gi, refrac, fired, j, current, c, syn):
    """:func:`network_neuron_update` of neuron ``j`` of the state arrays, written back (and
    ``fired[j]`` set); returns whether it spiked. The loop body of both network kernels."""
    v_j, ge_j, gi_j, r_j, spiked = network_neuron_update(v[j], ge[j], gi[j], refrac[j], current,
                                                         c, syn)
    v[j] = v_j
    ge[j] = ge_j
    gi[j] = gi_j
    refrac[j] = r_j
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
    if mean <= BINOMIAL_EXACT_MEAN:
        bits = hash_bits(key, step, index)
        # the first entries without branches (a data-dependent loop exit mispredicts), the
        # rare rest by search; the table has at least BINOMIAL_UNROLL columns and ends with
        # 2**53, above every uniform's bits
        k = 0
        for j in range(BINOMIAL_UNROLL):
            k += 1 if bits > thresholds[row, j] else 0
        if k == BINOMIAL_UNROLL:
            while bits > thresholds[row, k]:
                k += 1
        return k
    u1 = hash_uniform(key, step, index)
    u2 = hash_uniform(key2, step, index)
    z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(6.283185307179586 * u2)
    k = math.floor(mean + math.sqrt(mean * (1.0 - p)) * z + 0.5)
    return 0 if k < 0 else (n if k > n else int(k))


def ovr_unit_train(k, x, targets, weights, bias, w_sum, b_sum, order, lr, errors_out):
    """Rosenblatt's rule for output unit ``k`` over the epochs of ``order`` (epochs, samples).

    ``out = 1 if bias + w.x > 0 else 0``; on ``out != target``: ``w += lr (target - out) x``.
    ``w_sum``/``b_sum`` accumulate ``count * update`` so that the averaged perceptron is
    ``w - w_sum / count`` (Daume's trick). Stops after an epoch without errors. Returns the
    final ``count`` (samples seen + 1).
    """
    n_epochs = order.shape[0]
    n_samples = order.shape[1]
    n_features = x.shape[1]
    count = 1.0
    for e in range(n_epochs):
        errors = 0
        for pos in range(n_samples):
            s = order[e, pos]
            # Eight partial sums in a fixed order: vectorisable without fast-math, and the same
            # result on every backend (the CUDA twin compiles this very code).
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            a4 = 0.0
            a5 = 0.0
            a6 = 0.0
            a7 = 0.0
            f = 0
            while f + 8 <= n_features:
                a0 += x[s, f] * weights[k, f]
                a1 += x[s, f + 1] * weights[k, f + 1]
                a2 += x[s, f + 2] * weights[k, f + 2]
                a3 += x[s, f + 3] * weights[k, f + 3]
                a4 += x[s, f + 4] * weights[k, f + 4]
                a5 += x[s, f + 5] * weights[k, f + 5]
                a6 += x[s, f + 6] * weights[k, f + 6]
                a7 += x[s, f + 7] * weights[k, f + 7]
                f += 8
            while f < n_features:
                a0 += x[s, f] * weights[k, f]
                f += 1
            acc = bias[k] + (((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)))
            out = 1 if acc > 0.0 else 0
            delta = targets[s, k] - out
            if delta != 0:
                errors += 1
                step = lr * delta
                for f in range(n_features):
                    weights[k, f] += step * x[s, f]
                    w_sum[k, f] += count * step * x[s, f]
                bias[k] += step
                b_sum[k] += count * step
            count += 1.0
        errors_out[e, k] = errors
        if errors == 0:
            break
    return count


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


def spiking_maxpool_row(item, dims, currents, inv_scale, scale, v, decay, gain, r_m, leaky,
                        subtract, counts, best, best_fired, out, out_counts):
    """IF/LIF neurons and the spiking max-pool that reads them, fused, over T steps, for
    one row of pooling windows: ``item = b * Ho + oh`` (tiled windows: kernel == stride, no
    padding or dilation). Channels-last layout, so every inner loop runs over channels.

    dims = (H, W, Ho, Wo, kernel_h, kernel_w). Channels-last arrays with the pixels
    flattened: currents (T or 1, B*H*W, C); v, counts (B*H*W, C): the neurons' state and
    spike counts, which are also the gate's running counts (a spike is nonzero since
    thresholds are positive); best (items, C) int32 and best_fired (items, C) uint8
    scratch; out (T, B*Ho*Wo, C): the pooled spikes, of amplitude ``scale[c]``;
    out_counts (B*Ho*Wo, C) gains the spikes passed. Each window passes the spikes of its
    input that has spiked most so far, this step included, ties to the first in row-major
    order: exactly ``spiking_layer`` followed by ``maxpool_gate``, without the
    full-resolution spike tensor between them. Neurons outside every window (ragged edges)
    are updated by the window row above them (the last one).
    """
    height, width, out_h, out_w, kernel_h, kernel_w = (dims[0], dims[1], dims[2], dims[3],
                                                       dims[4], dims[5])
    n_channels = v.shape[1]
    n_steps = out.shape[0]
    b = item // out_h
    oh = item - b * out_h
    row_lo = oh * kernel_h
    row_win = row_lo + kernel_h
    row_hi = row_win if oh < out_h - 1 else height
    col_tiled = out_w * kernel_w
    constant = currents.shape[0] == 1
    zero = scale[0] * 0
    one = zero + 1
    neuron = LIFConstants(one, zero, zero, r_m, decay, gain, leaky, subtract, 0)
    best_i = best[item]  # 1-D views indexed by the channel: the loops vectorise
    fired_i = best_fired[item]
    for t in range(n_steps):
        cur_t = currents[0 if constant else t]
        out_t = out[t]
        for ow in range(out_w):
            o = (b * out_h + oh) * out_w + ow
            out_o = out_t[o]
            out_counts_o = out_counts[o]
            for c in range(n_channels):
                best_i[c] = -1
                fired_i[c] = 0
            for i in range(row_lo, row_win):
                for j in range(ow * kernel_w, ow * kernel_w + kernel_w):
                    pixel = (b * height + i) * width + j
                    cur = cur_t[pixel]
                    v_p = v[pixel]
                    counts_p = counts[pixel]
                    for c in range(n_channels):
                        vk, _, spiked = lif_neuron_step(v_p[c], 0, cur[c] * inv_scale[c],
                                                        neuron)
                        v_p[c] = vk
                        count = counts_p[c] + (1 if spiked else 0)
                        counts_p[c] = count
                        take = count > best_i[c]
                        best_i[c] = count if take else best_i[c]
                        fired_i[c] = (1 if spiked else 0) if take else fired_i[c]
            for c in range(n_channels):
                out_o[c] = scale[c] if fired_i[c] != 0 else zero
                out_counts_o[c] += fired_i[c]
        # ragged edges: neurons no window reads (still simulated, for their counts)
        for i in range(row_lo, row_hi):
            j_lo = col_tiled if i < row_win else 0
            for j in range(j_lo, width):
                pixel = (b * height + i) * width + j
                cur = cur_t[pixel]
                v_p = v[pixel]
                counts_p = counts[pixel]
                for c in range(n_channels):
                    vk, _, spiked = lif_neuron_step(v_p[c], 0, cur[c] * inv_scale[c], neuron)
                    v_p[c] = vk
                    counts_p[c] += 1 if spiked else 0


#: Every rule, callees before callers (the order :func:`compile_rules` compiles them in).
RULES = ("population_constants", "lif_drive", "lif_gate", "lif_reset", "lif_neuron_step",
         "exp_vectorisable", "network_neuron_update", "network_v_jump", "release_held",
         "network_neuron_store",
         "find_sorted", "ring_value", "hash_bits", "hash_uniform", "binomial_count",
         "ovr_unit_train", "spiking_maxpool_row")


def compile_rules(compile_one) -> SimpleNamespace:
    """Compile every rule with one backend's decorator (``compile_one(function)``).

    Each rule is re-created with its globals rebound to the rules compiled so far, so a rule
    that calls another (``lif_neuron_step`` calls ``lif_drive``) calls this backend's compiled
    version: compiled code cannot call a plain Python function.
    """
    compiled: dict = {}
    for name in RULES:
        rule = globals()[name]
        rebound = types.FunctionType(rule.__code__, {**rule.__globals__, **compiled}, name,
                                     rule.__defaults__, rule.__closure__)
        rebound.__doc__ = rule.__doc__
        rebound.__qualname__ = rule.__qualname__
        rebound.__module__ = rule.__module__
        compiled[name] = compile_one(rebound)
    return SimpleNamespace(**compiled)
