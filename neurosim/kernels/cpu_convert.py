"""Numba CPU kernels of the ANN-to-SNN conversion: spiking layers (IF/LIF neurons over a
layer's T steps), the spiking max-pool gate, the fused neuron + max-pool layer and the
event-driven convolution of spikes. Part of the
CPU backend: :mod:`neurosim.kernels.cpu` re-exports them, and their twins are in
:mod:`neurosim.kernels.cuda`. The neuron arithmetic is the shared rule of
:mod:`neurosim.kernels.scalar`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from neurosim.config import CPU_NEURON_BLOCK, NJIT_OPTIONS, NJIT_PARALLEL_OPTIONS
from neurosim.kernels import scalar

rules = scalar.compile_rules(njit(inline="always", fastmath=NJIT_OPTIONS["fastmath"]))
lif_neuron_step = rules.lif_neuron_step
_spiking_maxpool_row = rules.spiking_maxpool_row
LIFConstants = scalar.LIFConstants


# ----------------------------------------------------------------------------------------------
# Spiking max-pooling (ANN-to-SNN conversion)
# ----------------------------------------------------------------------------------------------


@njit(**NJIT_PARALLEL_OPTIONS)
def maxpool_gate(spikes, kernel, stride, padding, dilation, counts, out, out_counts):
    """Spiking max-pool: each output passes the spikes of the window input that has spiked most
    so far (counts include the current step; ties go to the first in row-major order).

    spikes (T, BC, H, W) float (0 or the layer's amplitude); counts (BC, H, W) int32, the
    running spike counts (state, updated in place); out (T, BC, Ho, Wo); out_counts
    (BC, Ho, Wo) int32 gains the spikes passed. Without padding every window position is valid
    and the bounds tests are skipped (measured: an incremental per-spike update of the winners
    was 1.6x slower than this regular scan).
    """
    n_steps, n_maps, height, width = spikes.shape
    out_h, out_w = out.shape[2], out.shape[3]
    no_pad = padding[0] == 0 and padding[1] == 0
    # kernel == stride, no padding or dilation (the usual 2x2/2 pool): windows tile the input,
    # so counting and choosing the winner take one pass over each window's own inputs
    tiled = (no_pad and kernel[0] == stride[0] and kernel[1] == stride[1]
             and dilation[0] == 1 and dilation[1] == 1)
    for m in prange(n_maps):
        counts_m = counts[m]  # 2-D views: simpler addressing in the hot loops
        out_counts_m = out_counts[m]
        if tiled:
            for t in range(n_steps):
                spikes_tm = spikes[t, m]
                out_tm = out[t, m]
                for oh in range(out_h):
                    for ow in range(out_w):
                        best = -1
                        best_value = spikes_tm[0, 0]
                        for i in range(oh * kernel[0], oh * kernel[0] + kernel[0]):
                            for j in range(ow * kernel[1], ow * kernel[1] + kernel[1]):
                                value = spikes_tm[i, j]
                                c = counts_m[i, j] + (1 if value != 0 else 0)
                                counts_m[i, j] = c
                                if c > best:
                                    best = c
                                    best_value = value
                        out_tm[oh, ow] = best_value
                        out_counts_m[oh, ow] += 1 if best_value != 0 else 0
            continue  # inputs outside every window (a ragged edge) are never read
        for t in range(n_steps):
            spikes_tm = spikes[t, m]
            out_tm = out[t, m]
            for i in range(height):
                for j in range(width):
                    counts_m[i, j] += 1 if spikes_tm[i, j] != 0 else 0
            for oh in range(out_h):
                i0 = oh * stride[0] - padding[0]
                for ow in range(out_w):
                    j0 = ow * stride[1] - padding[1]
                    best = -1
                    best_i = 0
                    best_j = 0
                    for ki in range(kernel[0]):
                        i = i0 + ki * dilation[0]
                        if not no_pad and (i < 0 or i >= height):
                            continue
                        for kj in range(kernel[1]):
                            j = j0 + kj * dilation[1]
                            if not no_pad and (j < 0 or j >= width):
                                continue
                            if counts_m[i, j] > best:
                                best = counts_m[i, j]
                                best_i = i
                                best_j = j
                    value = spikes_tm[best_i, best_j]
                    out_tm[oh, ow] = value
                    out_counts_m[oh, ow] += 1 if value != 0 else 0


@njit(**NJIT_PARALLEL_OPTIONS)
def spiking_layer(currents, inv_scale, scale, inner, v, decay, gain, r_m, leaky, subtract,
                  spikes_out, counts):
    """IF/LIF neurons replacing a ReLU (ANN-to-SNN conversion), over T steps.

    currents (T, N) float32, or (1, N) when the same in every step; neuron ``i`` belongs to
    channel ``(i // inner) % C`` with ``C = len(scale)``: its input is ``current * inv_scale``
    (threshold 1, :func:`lif_neuron_step`) and its spikes are written as ``scale`` (the
    layer's amplitude) into spikes_out (T, N). v (N,) is the state; counts (N,) int32 gains
    every neuron's spikes. Work items are contiguous runs of one channel (``inner`` neurons,
    or cache-sized blocks when there is one threshold), so the inner loop vectorises.
    """
    n_steps, n = spikes_out.shape
    n_channels = scale.shape[0]
    constant = currents.shape[0] == 1
    one = v.dtype.type(1.0)
    zero = v.dtype.type(0.0)
    neuron = LIFConstants(one, zero, zero, r_m, decay, gain, leaky, subtract, 0)
    run = inner if n_channels > 1 else CPU_NEURON_BLOCK
    for seg in prange((n + run - 1) // run):
        lo = seg * run
        hi = min(lo + run, n)
        c = seg % n_channels
        inv_c = inv_scale[c]
        amp_c = scale[c]
        v_seg = v[lo:hi]
        counts_seg = counts[lo:hi]
        for t in range(n_steps):
            row = currents[0 if constant else t, lo:hi]
            out = spikes_out[t, lo:hi]
            for j in range(hi - lo):
                vj, _, spiked = lif_neuron_step(v_seg[j], 0, row[j] * inv_c, neuron)
                v_seg[j] = vj
                out[j] = amp_c if spiked else zero
                counts_seg[j] += 1 if spiked else 0

@njit(**NJIT_PARALLEL_OPTIONS)
def spiking_maxpool(currents, inv_scale, scale, kernel_h, kernel_w, v, decay, gain, r_m, leaky,
                    subtract, counts, best, best_fired, out, out_counts):
    """A layer of IF/LIF neurons fused with the tiled spiking max-pool that reads it (kernel ==
    stride, no padding or dilation), channels-last: :func:`spiking_layer` then
    :func:`maxpool_gate` without writing the full-resolution spike tensor (T times the layer's
    size) in between. currents (T or 1, B, H, W, C); v, counts (B, H, W, C); best, best_fired
    (B*Ho, C); out (T, B, Ho, Wo, C); out_counts (B, Ho, Wo, C). The rule:
    :func:`neurosim.kernels.scalar.make_spiking_maxpool_row`, one work item per row of windows
    of one sample. IF neurons (``leaky`` false, the conversion default) take
    :func:`_if_maxpool_row`, the same arithmetic in loops that vectorise (measured 2.5-6x
    faster than the shared rule on the MNIST CNN's two layers; results bit-identical)."""
    batch, height, width, n_channels = v.shape
    out_h, out_w = out.shape[2], out.shape[3]
    dims = (height, width, out_h, out_w, kernel_h, kernel_w)
    pixels = batch * height * width
    flat_currents = currents.reshape(currents.shape[0], pixels, n_channels)
    flat_out = out.reshape(out.shape[0], batch * out_h * out_w, n_channels)
    flat_v, flat_counts = v.reshape(pixels, n_channels), counts.reshape(pixels, n_channels)
    flat_out_counts = out_counts.reshape(batch * out_h * out_w, n_channels)
    if not leaky:
        rows = kernel_h + height - out_h * kernel_h  # the last window row takes ragged rows
        inv_tiled = np.empty((rows * width, n_channels), inv_scale.dtype)
        for p in range(rows * width):
            inv_tiled[p] = inv_scale
        for item in prange(batch * out_h):
            fired = np.empty((rows * width, n_channels), np.uint8)
            drive = np.empty(rows * width * n_channels, v.dtype)
            _if_maxpool_row(item, dims, flat_currents, inv_tiled, scale, flat_v, gain,
                            subtract, flat_counts, fired, drive, best[item],
                            best_fired[item], flat_out, flat_out_counts)
        return
    for item in prange(batch * out_h):
        _spiking_maxpool_row(item, dims, flat_currents, inv_scale, scale, flat_v, decay, gain,
                             r_m, leaky, subtract, flat_counts, best, best_fired, flat_out,
                             flat_out_counts)


@njit(**NJIT_OPTIONS)
def _if_maxpool_row(item, dims, currents, inv_tiled, scale, v, gain, subtract, counts, fired,
                    drive, best, best_fired, out, out_counts):
    """:func:`neurosim.kernels.scalar.spiking_maxpool_row` for IF neurons (threshold 1, reset
    by subtracting 1 or to 0, no refractoriness), two passes per step. First every neuron of
    the window row, in one loop over its contiguous channels-last memory (``v + gain *
    (current * inv_scale)``, spike above 1, reset); ``inv_tiled`` (rows*W, C) holds
    ``inv_scale`` once per pixel so that the loop runs flat, ``fired`` (rows*W, C) scratch
    takes the step's spikes, and ``drive`` (rows*W*C) scratch the drive when the currents are
    the same in every step (computed once). Then every window picks its input with the highest
    count, ties to the first in row-major order: 2x2 windows (the usual pool) in one loop over
    the channels per window, other sizes one channel vector at a time (``best``,
    ``best_fired``: (C,) scratch). Same operations in the same precision as the rule, so the
    same bits. Measured on the MNIST CNN's two layers (T = 32, 29 samples, one thread): 6.7
    and 7.4 ms, against 30 and 17 ms for per-pixel loops of 32-64 channels with a select of
    loads in the 2x2 choice (scalar code)."""
    height, width, out_h, out_w, kernel_h, kernel_w = (dims[0], dims[1], dims[2], dims[3],
                                                       dims[4], dims[5])
    n_channels = v.shape[1]
    n_steps = out.shape[0]
    b = item // out_h
    oh = item - b * out_h
    row_lo = oh * kernel_h
    row_hi = row_lo + kernel_h if oh < out_h - 1 else height
    first = (b * height + row_lo) * width  # the window row's first pixel
    n_pixels = (row_hi - row_lo) * width
    n_flat = n_pixels * n_channels
    lo = first * n_channels
    v_row = v.reshape(v.size)[lo:lo + n_flat]  # 1-D views: one flat, vectorising loop
    counts_row = counts.reshape(counts.size)[lo:lo + n_flat]
    fired_row = fired.reshape(fired.size)[:n_flat]
    inv_row = inv_tiled.reshape(inv_tiled.size)[:n_flat]
    drive_row = drive[:n_flat]
    constant = currents.shape[0] == 1
    zero = v.dtype.type(0.0)
    one = v.dtype.type(1.0)
    if constant:
        cur = currents[0].reshape(currents.shape[1] * n_channels)[lo:lo + n_flat]
        for e in range(n_flat):
            drive_row[e] = gain * (cur[e] * inv_row[e])
    two_by_two = kernel_h == 2 and kernel_w == 2
    for t in range(n_steps):
        if constant:
            for e in range(n_flat):
                vk = v_row[e] + drive_row[e]
                spiked = vk > one
                reset = vk - one if subtract else zero
                v_row[e] = reset if spiked else vk
                counts_row[e] += np.int32(1) if spiked else np.int32(0)
                fired_row[e] = np.uint8(1) if spiked else np.uint8(0)
        else:
            cur = currents[t].reshape(currents.shape[1] * n_channels)[lo:lo + n_flat]
            for e in range(n_flat):
                vk = v_row[e] + gain * (cur[e] * inv_row[e])
                spiked = vk > one
                reset = vk - one if subtract else zero
                v_row[e] = reset if spiked else vk
                counts_row[e] += np.int32(1) if spiked else np.int32(0)
                fired_row[e] = np.uint8(1) if spiked else np.uint8(0)
        out_t = out[t]
        for ow in range(out_w):
            o = (b * out_h + oh) * out_w + ow
            q0 = ow * kernel_w
            if two_by_two:
                p0 = first + q0  # counts (pixels, C) and fired (rows*W, C) rows
                p1 = p0 + width
                q1 = q0 + width
                for c in range(n_channels):
                    # the winner's spike as a masked merge of all four (a select of loads
                    # would become a load of a selected address, which does not vectorise)
                    top = counts[p0, c]
                    fire = fired[q0, c]
                    count = counts[p0 + 1, c]
                    mask = np.uint8(0) - np.uint8(count > top)
                    fire ^= (fire ^ fired[q0 + 1, c]) & mask
                    top = max(top, count)
                    count = counts[p1, c]
                    mask = np.uint8(0) - np.uint8(count > top)
                    fire ^= (fire ^ fired[q1, c]) & mask
                    top = max(top, count)
                    mask = np.uint8(0) - np.uint8(counts[p1 + 1, c] > top)
                    fire ^= (fire ^ fired[q1 + 1, c]) & mask
                    out_t[o, c] = scale[c] if fire != 0 else zero
                    out_counts[o, c] += fire
                continue
            for c in range(n_channels):
                best[c] = counts[first + q0, c]
                best_fired[c] = fired[q0, c]
            for i in range(kernel_h):
                for j in range(kernel_w):
                    if i == 0 and j == 0:
                        continue
                    q = i * width + q0 + j
                    for c in range(n_channels):
                        count = counts[first + q, c]
                        take = count > best[c]
                        best[c] = count if take else best[c]
                        best_fired[c] = fired[q, c] if take else best_fired[c]
            for c in range(n_channels):
                out_t[o, c] = scale[c] if best_fired[c] != 0 else zero
                out_counts[o, c] += best_fired[c]


# ----------------------------------------------------------------------------------------------
# Event-driven convolution of spikes (ANN-to-SNN conversion)
# ----------------------------------------------------------------------------------------------


def aligned_empty(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array whose data start on a 64-byte boundary (a cache
    line: the 512-bit loads and stores of the convolution below do not straddle two)."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    raw = np.empty(size * dtype.itemsize + 64, np.uint8)
    skip = -raw.ctypes.data % 64
    return raw[skip:skip + size * dtype.itemsize].view(dtype).reshape(shape)


def sparse_conv2d(x, weight, bias, pad_h, pad_w, out=None):
    """Stride-1 2-D convolution (no dilation, one group) of a mostly-zero channels-last input
    (the spikes of a converted network's layer), driven by its nonzero entries.

    x (N, H, W, C) float32; weight (O, C, KH, KW) as PyTorch holds it; bias (O,); out
    (N, Ho, Wo, O), Ho = H + 2 pad_h - KH + 1 (likewise Wo), allocated (cache-line aligned)
    when not given; returns ``out``. The sum runs in the order of
    :func:`neurosim.kernels.scalar.sparse_conv_pixel` (the CUDA kernel's rule), so the two
    backends give the same bits. The work is proportional to the number of nonzero inputs:
    at the 16% spike density of the MNIST CNN's second convolution it is about 2x faster than
    PyTorch's (oneDNN) dense convolution on one core; at 30% they are even, and a dense input
    is about 3x slower.
    """
    n_out, n_in, k_h, k_w = weight.shape
    if out is None:
        out = aligned_empty((x.shape[0], x.shape[1] + 2 * pad_h - k_h + 1,
                             x.shape[2] + 2 * pad_w - k_w + 1, n_out), x.dtype)
    flipped = aligned_empty((k_h, n_in, k_w, n_out), weight.dtype)
    flipped[...] = weight.transpose(2, 1, 3, 0)[:, :, ::-1, :]  # (KH, C, KW reversed, O)
    _sparse_conv2d(x, flipped.reshape(-1), bias, np.int64(k_h), np.int64(k_w),
                   np.int64(pad_h), np.int64(pad_w), out.reshape(out.shape[0], -1))
    return out


@njit(**NJIT_PARALLEL_OPTIONS)
def _sparse_conv2d(x, flipped, bias, k_h, k_w, pad_h, pad_w, out):
    """:func:`sparse_conv2d` over flat arrays: flipped (KH*C*KW*O,) the weights as (KH, C,
    KW reversed, O), out (N, Ho*Wo*O); one work item per sample."""
    n_img, n_in = x.shape[0], x.shape[3]
    for n in prange(n_img):
        channels = np.empty(n_in + 3, np.int64)
        values = np.empty(n_in + 3, x.dtype)
        _sparse_conv_image(x[n], flipped, bias, k_h, k_w, pad_h, pad_w, out[n], channels,
                           values)


@njit(**NJIT_OPTIONS)
def _sparse_conv_image(x, flipped, bias, k_h, k_w, pad_h, pad_w, out, channels, values):
    """One sample, scattered: each input pixel lists its nonzero channels (``channels``,
    ``values``: (C+3,) scratch), and adds ``weight * value`` for each of them to the output
    pixels whose windows hold it. Output pixels of one window row are contiguous
    (channels-last) and so are their weights in the flipped layout, so each update is one
    loop over up to KW*O floats. Four channels go together (one load and one store of the
    outputs per four products, added one after the other: the order of the rule); the list is
    padded to a multiple of four with zero values, whose products (finite weights) add an
    exact zero, which was measured 1.2x faster than a loop for the one to three left over.
    Each output pixel receives its input pixels in row-major order, channels ascending: the
    rule's sum (up to the sign of a zero sum)."""
    height, width, n_in = x.shape
    n_out = bias.shape[0]
    out_w = width + 2 * pad_w - k_w + 1
    out_h = height + 2 * pad_h - k_h + 1
    row = out_w * n_out
    step = k_w * n_out  # one channel's weights for one kernel row
    for q in range(out_h * out_w):
        for o in range(n_out):
            out[q * n_out + o] = bias[o]
    for i in range(height):
        a_lo = max(0, i + pad_h - out_h + 1)  # kernel rows whose output row exists
        a_hi = min(k_h, i + pad_h + 1)
        for j in range(width):
            b_lo = max(0, j + pad_w - out_w + 1)
            b_hi = min(k_w, j + pad_w + 1)
            if a_lo >= a_hi or b_lo >= b_hi:
                continue
            length = (b_hi - b_lo) * n_out
            first_ow = j + pad_w - (b_hi - 1)
            count = 0
            for c in range(n_in):  # branch-free compaction of the nonzero channels
                value = x[i, j, c]
                channels[count] = c
                values[count] = value
                count += 1 if value != 0 else 0
            while count % 4 != 0:  # a whole number of fours: zeros add nothing
                channels[count] = 0
                values[count] = 0
                count += 1
            k = 0
            while k < count:
                v0, v1, v2, v3 = values[k], values[k + 1], values[k + 2], values[k + 3]
                for a in range(a_lo, a_hi):
                    start = (i + pad_h - a) * row + first_ow * n_out
                    base = (a * n_in * k_w + (k_w - b_hi)) * n_out
                    seg = out[start:start + length]  # slices: the loop below vectorises
                    w0 = flipped[base + channels[k] * step:base + channels[k] * step + length]
                    w1 = flipped[base + channels[k + 1] * step:
                                 base + channels[k + 1] * step + length]
                    w2 = flipped[base + channels[k + 2] * step:
                                 base + channels[k + 2] * step + length]
                    w3 = flipped[base + channels[k + 3] * step:
                                 base + channels[k + 3] * step + length]
                    for e in range(length):
                        seg[e] = (((seg[e] + w0[e] * v0) + w1[e] * v1) + w2[e] * v2) + w3[e] * v3
                k += 4
