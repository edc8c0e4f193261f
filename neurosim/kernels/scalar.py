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
:func:`neurosim.kernels.scalar_network.network_neuron_update` (the network loop, which adds
synaptic input and resets after delivery, as Brian2 does) are both made of them. The network's
rules live in :mod:`neurosim.kernels.scalar_network` and are compiled with these
(``compile_rules(decorator, scalar_network.RULES)``).
"""

from __future__ import annotations

import types
from types import SimpleNamespace
from typing import NamedTuple


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


def sparse_conv_pixel(n, oh, ow, x, weight, bias, pad_h, pad_w, out):
    """One output pixel of a stride-1 2-D convolution (no dilation, one group) of a mostly-zero,
    channels-last input, such as the spikes of a converted network's layer, skipping the zeros.

    x (N, H, W, C); weight (KH, KW, C, O); bias (O,); out (N, Ho, Wo, O). The sum runs in one
    fixed order, which every backend keeps: the bias, then the window's input pixels in
    row-major order, channels ascending, one multiply and one add per nonzero input.
    """
    height, width, n_in = x.shape[1], x.shape[2], x.shape[3]
    k_h, k_w, n_out = weight.shape[0], weight.shape[1], weight.shape[3]
    for o in range(n_out):
        out[n, oh, ow, o] = bias[o]
    for a in range(k_h):
        i = oh + a - pad_h
        if i < 0 or i >= height:
            continue
        for b in range(k_w):
            j = ow + b - pad_w
            if j < 0 or j >= width:
                continue
            for c in range(n_in):
                value = x[n, i, j, c]
                if value != 0:
                    for o in range(n_out):
                        out[n, oh, ow, o] += weight[a, b, c, o] * value


#: Every rule, callees before callers (the order :func:`compile_rules` compiles them in).
RULES = ("lif_drive", "lif_gate", "lif_reset", "lif_neuron_step", "ovr_unit_train",
         "spiking_maxpool_row", "sparse_conv_pixel")


def compile_rules(compile_one, extra: tuple = ()) -> SimpleNamespace:
    """Compile every rule, then the functions of ``extra`` (e.g. ``scalar_network.RULES``),
    with one backend's decorator (``compile_one(function)``).

    Each rule is re-created with its globals rebound to the rules compiled so far, so a rule
    that calls another (``lif_neuron_step`` calls ``lif_drive``) calls this backend's compiled
    version: compiled code cannot call a plain Python function.
    """
    compiled: dict = {}
    for rule in [globals()[name] for name in RULES] + list(extra):
        name = rule.__name__
        rebound = types.FunctionType(rule.__code__, {**rule.__globals__, **compiled}, name,
                                     rule.__defaults__, rule.__closure__)
        rebound.__doc__ = rule.__doc__
        rebound.__qualname__ = rule.__qualname__
        rebound.__module__ = rule.__module__
        compiled[name] = compile_one(rebound)
    return SimpleNamespace(**compiled)
