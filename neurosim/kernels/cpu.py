"""Numba CPU kernels. Plain functions over arrays: no classes, no allocation in hot loops.

Every kernel writes into output arrays given by the caller and has the same signature as its
twin in :mod:`neurosim.kernels.cuda`, so the backends are interchangeable. Inputs are trusted:
the public wrappers in :mod:`neurosim.neurons` validate them once. Each kernel has a plain
NumPy reference in ``tests/naive.py``.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from neurosim.config import CPU_NEURON_BLOCK, NJIT_OPTIONS, NJIT_PARALLEL_OPTIONS
from neurosim.kernels import scalar

NAME = "cpu"

rules = scalar.compile_rules(njit(inline="always", fastmath=NJIT_OPTIONS["fastmath"]))
lif_neuron_step = rules.lif_neuron_step
ovr_unit_train = rules.ovr_unit_train
_spiking_maxpool_row = rules.spiking_maxpool_row
LIFConstants = scalar.LIFConstants

# ----------------------------------------------------------------------------------------------
# McCulloch-Pitts units
# ----------------------------------------------------------------------------------------------


@njit(**NJIT_PARALLEL_OPTIONS)
def mp_run(inputs, state, exc_weights, inh_mask, threshold, states_out):
    """Synchronous McCulloch-Pitts network over ``T`` steps for ``B`` patterns.

    inputs (T, B, n_in) uint8; state (B, n) uint8, the state before step 0, overwritten with the
    final state; exc_weights (n_in + n, n) float64 >= 0 over the sources ``[inputs, units]``;
    inh_mask (n_in + n, n) uint8; threshold (n,) float64; states_out (T, B, n) uint8.
    Unit j fires at step t when no active source inhibits it and the weighted sum of active
    excitatory sources reaches its threshold (``>=``).
    """
    n_steps, n_batch, n_in = inputs.shape
    n_units = state.shape[1]
    for b in prange(n_batch):
        acc = np.empty(n_units, np.float64)
        inhibited = np.empty(n_units, np.uint8)
        for t in range(n_steps):
            for j in range(n_units):
                acc[j] = 0.0
                inhibited[j] = 0
            for i in range(n_in + n_units):
                active = inputs[t, b, i] if i < n_in else state[b, i - n_in]
                if active:
                    for j in range(n_units):
                        acc[j] += exc_weights[i, j]
                        inhibited[j] |= inh_mask[i, j]
            for j in range(n_units):
                fire = inhibited[j] == 0 and acc[j] >= threshold[j]
                states_out[t, b, j] = 1 if fire else 0
            for j in range(n_units):
                state[b, j] = states_out[t, b, j]


# ----------------------------------------------------------------------------------------------
# Perceptron (weights laid out (classes, features) so one class's weights are contiguous)
# ----------------------------------------------------------------------------------------------


@njit(**NJIT_PARALLEL_OPTIONS)
def perceptron_scores(x, weights, bias, scores_out):
    """scores_out[s, k] = bias[k] + sum_f x[s, f] * weights[k, f], summed in feature order."""
    n_samples, n_features = x.shape
    n_classes = weights.shape[0]
    for s in prange(n_samples):
        for k in range(n_classes):
            acc = bias[k]
            for f in range(n_features):
                acc += x[s, f] * weights[k, f]
            scores_out[s, k] = acc


#: How many samples ahead the one-vs-rest kernel reads a sample's entries (its rows are visited
#: in a shuffled order, which the hardware prefetcher cannot guess).
PERCEPTRON_READ_AHEAD = 2


@njit(**NJIT_PARALLEL_OPTIONS)
def perceptron_nonzeros(x):
    """The nonzero entries of ``x`` (samples, features), row by row (CSR): ``(indptr (samples +
    1,) int64, features (nnz,) int32, values (nnz,) x.dtype)``. Zero pixels are most of an
    image (81 % of MNIST's), and a zero input neither changes a score nor a weight."""
    n_samples, n_features = x.shape
    counts = np.zeros(n_samples + 1, np.int64)
    for s in prange(n_samples):
        c = 0
        for f in range(n_features):
            if x[s, f] != 0:
                c += 1
        counts[s + 1] = c
    indptr = np.cumsum(counts)
    features = np.empty(indptr[n_samples], np.int32)
    values = np.empty(indptr[n_samples], x.dtype)
    for s in prange(n_samples):
        p = indptr[s]
        for f in range(n_features):
            if x[s, f] != 0:
                features[p] = f
                values[p] = x[s, f]
                p += 1
    return indptr, features, values


@njit(**NJIT_OPTIONS)
def perceptron_ovr_units(lo, hi, indptr, features, values, targets, weights, bias, w_sum,
                         b_sum, order, lr, errors_out, counts_out):
    """Units ``lo..hi-1`` of :func:`perceptron_train_ovr`, all in one pass over the samples.

    Every sample is read once for all the units (not once per unit), from its nonzero entries
    only, and scored against the units' weights held transposed (features, units), so one input
    value multiplies a contiguous row of weights. Each unit's score is summed exactly as
    :func:`scalar.ovr_unit_train` sums it (feature ``f`` into partial sum ``f % 8``, the
    features past the last multiple of 8 into partial sum 0, the same final tree; a zero
    input adds nothing in either), so the weights are bit-identical to the per-unit rule.
    """
    n_epochs, n_samples = order.shape
    n_features = weights.shape[1]
    n_units = hi - lo
    last8 = (n_features // 8) * 8
    w_t = np.empty((n_features, n_units), weights.dtype)
    s_t = np.empty((n_features, n_units), w_sum.dtype)
    for u in range(n_units):
        for f in range(n_features):
            w_t[f, u] = weights[lo + u, f]
            s_t[f, u] = w_sum[lo + u, f]
    partial = np.zeros((8, n_units), np.float64)
    active = np.ones(n_units, np.bool_)
    errors = np.zeros(n_units, np.int64)
    n_active = n_units
    count = 1.0
    ahead = 0.0  # reads of a later sample's entries, so that they are in cache when needed
    for e in range(n_epochs):
        if n_active == 0:
            break
        errors[:] = 0
        for pos in range(n_samples):
            s = order[e, pos]
            if pos + PERCEPTRON_READ_AHEAD < n_samples:
                later = order[e, pos + PERCEPTRON_READ_AHEAD]
                for p in range(indptr[later], indptr[later + 1], 16):
                    ahead += values[p] + features[p]
            partial[:, :] = 0.0
            for p in range(indptr[s], indptr[s + 1]):
                f = features[p]
                v = values[p]
                lane = partial[f & 7 if f < last8 else 0]
                w_f = w_t[f]
                for u in range(n_units):
                    lane[u] += v * w_f[u]
            for u in range(n_units):
                if not active[u]:
                    continue
                k = lo + u
                acc = bias[k] + (((partial[0, u] + partial[1, u]) + (partial[2, u] + partial[3, u]))
                                 + ((partial[4, u] + partial[5, u])
                                    + (partial[6, u] + partial[7, u])))
                out = 1 if acc > 0.0 else 0
                delta = targets[s, k] - out
                if delta != 0:
                    errors[u] += 1
                    step = lr * delta
                    for p in range(indptr[s], indptr[s + 1]):
                        f = features[p]
                        w_t[f, u] += step * values[p]
                        s_t[f, u] += count * step * values[p]
                    bias[k] += step
                    b_sum[k] += count * step
            count += 1.0
        for u in range(n_units):
            if active[u]:
                errors_out[e, lo + u] = errors[u]
                if errors[u] == 0:  # this unit is done: no mistake means no more updates
                    active[u] = False
                    n_active -= 1
                    counts_out[lo + u] = count
    for u in range(n_units):
        if active[u]:
            counts_out[lo + u] = count
        for f in range(n_features):
            weights[lo + u, f] = w_t[f, u]
            w_sum[lo + u, f] = s_t[f, u]
    return ahead


@njit(**NJIT_PARALLEL_OPTIONS)
def _perceptron_ovr_groups(n_groups, indptr, features, values, targets, weights, bias, w_sum,
                           b_sum, order, lr, errors_out, counts_out):
    n_units = weights.shape[0]
    ahead = np.zeros(n_groups)
    for g in prange(n_groups):
        ahead[g] = perceptron_ovr_units(g * n_units // n_groups, (g + 1) * n_units // n_groups,
                                        indptr, features, values, targets, weights, bias, w_sum,
                                        b_sum, order, lr, errors_out, counts_out)
    return ahead.sum()


def perceptron_train_ovr(x, targets, weights, bias, w_sum, b_sum, order, lr, errors_out,
                         counts_out):
    """One-vs-rest perceptron: every output unit ``k`` learns ``targets[:, k]`` (0/1) alone.

    Each unit stops after an epoch without errors. ``order`` (epochs, samples) holds the
    visiting order of every epoch. ``w_sum`` and ``b_sum`` (float64) accumulate the
    averaged-perceptron sums; ``counts_out[k]`` the steps seen + 1. ``x`` and ``weights`` are
    float32 or float64 (scores are summed in float64). The units are split into one group per
    thread; each group makes one pass over the samples per epoch for all its units
    (:func:`perceptron_ovr_units`), from the nonzero entries of ``x`` only. The result is the
    per-unit rule :func:`scalar.ovr_unit_train` bit for bit, whatever the thread count.
    """
    indptr, features, values = perceptron_nonzeros(x)
    n_groups = max(1, min(numba.get_num_threads(), weights.shape[0]))
    _perceptron_ovr_groups(n_groups, indptr, features, values, targets, weights, bias, w_sum,
                           b_sum, order, lr, errors_out, counts_out)


@njit(**NJIT_OPTIONS)
def perceptron_train_multiclass(x, labels, weights, bias, w_sum, b_sum, order, lr, errors_out,
                                counts_out):
    """Multi-class perceptron (Crammer & Singer style, shared winner-take-all): on a mistake the
    true class's unit moves towards x and the predicted (first arg-max) unit away from it."""
    n_epochs, n_samples = order.shape
    n_classes, n_features = weights.shape
    count = 1.0
    for e in range(n_epochs):
        errors = 0
        for pos in range(n_samples):
            s = order[e, pos]
            best_k = 0
            best = -np.inf
            for k in range(n_classes):
                acc = bias[k]
                for f in range(n_features):
                    acc += x[s, f] * weights[k, f]
                if acc > best:
                    best = acc
                    best_k = k
            y = labels[s]
            if best_k != y:
                errors += 1
                for f in range(n_features):
                    weights[y, f] += lr * x[s, f]
                    weights[best_k, f] -= lr * x[s, f]
                    w_sum[y, f] += count * lr * x[s, f]
                    w_sum[best_k, f] -= count * lr * x[s, f]
                bias[y] += lr
                bias[best_k] -= lr
                b_sum[y] += count * lr
                b_sum[best_k] -= count * lr
            count += 1.0
        errors_out[e, 0] = errors
        if errors == 0:
            break
    for k in range(n_classes):
        counts_out[k] = count


# ----------------------------------------------------------------------------------------------
# Leaky / non-leaky integrate-and-fire
# ----------------------------------------------------------------------------------------------


@njit(**NJIT_PARALLEL_OPTIONS)
def lif_run(v, refrac, currents, neuron, spikes_out, v_trace, record_v):
    """``T`` steps of ``N`` independent (L)IF neurons with constants ``neuron``
    (:class:`scalar.LIFConstants`) driven by ``currents`` (T, N), or by the constant
    ``currents`` (1, N) for ``T = spikes_out.shape[0]`` steps.

    v (N,) float and refrac (N,) int32 hold the state and are updated in place; spikes_out
    (T, N) uint8; v_trace (T, N) receives v after each step when ``record_v``. Neurons are
    processed in cache-sized blocks, one block per parallel work item, time inside the block.
    """
    n_steps, n = spikes_out.shape
    block = CPU_NEURON_BLOCK
    n_blocks = (n + block - 1) // block
    for blk in prange(n_blocks):
        lo = blk * block
        hi = min(lo + block, n)
        # 1-D views of the block: LLVM vectorises the neuron loop over these, not over 2-D
        # indexing (measured: 5x faster).
        v_blk = v[lo:hi]
        refrac_blk = refrac[lo:hi]
        for t in range(n_steps):
            current_t = currents[t, lo:hi] if currents.shape[0] > 1 else currents[0, lo:hi]
            spikes_t = spikes_out[t, lo:hi]
            for i in range(hi - lo):
                vi, ri, spiked = lif_neuron_step(v_blk[i], refrac_blk[i], current_t[i], neuron)
                v_blk[i] = vi
                refrac_blk[i] = ri
                spikes_t[i] = 1 if spiked else 0
            if record_v:
                trace_t = v_trace[t, lo:hi]
                for i in range(hi - lo):
                    trace_t[i] = v_blk[i]


# ----------------------------------------------------------------------------------------------
# Input-check helpers (used by neurosim.checks on large arrays)
# ----------------------------------------------------------------------------------------------


@njit(**NJIT_PARALLEL_OPTIONS)
def count_nonfinite(words, mask_lo, mask_hi):
    """Number of 64-bit words holding a non-finite float: the float array viewed as uint64 (one
    float64, or two float32 per word), where a float is NaN or +-inf exactly when its exponent
    bits are all ones. ``mask_lo``/``mask_hi`` select the exponent of each float in a word
    (equal for float64). Integer tests on 64-bit lanes vectorise without fast-math; no
    temporary array is made."""
    n = words.shape[0]
    chunk = 1 << 16
    n_chunks = (n + chunk - 1) // chunk
    bad = 0
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(lo + chunk, n)
        count = 0
        for i in range(lo, hi):
            w = words[i]
            hit = ((w & mask_lo) == mask_lo) or ((w & mask_hi) == mask_hi)
            count += 1 if hit else 0
        bad += count
    return bad



# ----------------------------------------------------------------------------------------------
# Connectivity
# ----------------------------------------------------------------------------------------------


@njit(**NJIT_OPTIONS)
def distinct_samples(uniforms, n, out):
    """Row ``r`` of ``out`` (rows, k) gets ``k`` distinct integers in [0, n): Floyd's algorithm
    (a uniformly random k-subset in k steps, whatever k <= n), driven by ``uniforms`` (rows, k)
    in [0, 1). Step ``i`` draws ``t`` in [0, n - k + i]; if ``t`` is taken it takes
    ``n - k + i`` instead. One mark per integer, cleared after each row: O(k) per row."""
    rows, k = out.shape
    taken = np.zeros(n, np.uint8)
    for r in range(rows):
        for i in range(k):
            top = n - k + i
            t = int(uniforms[r, i] * (top + 1))
            t = min(t, top)  # (u * (top + 1) rounds to top + 1 only for u within 2**-53 of 1)
            pick = top if taken[t] else t
            taken[pick] = 1
            out[r, i] = pick
        for i in range(k):
            taken[out[r, i]] = 0


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
        for item in prange(batch * out_h):
            fired = np.empty((rows * width, n_channels), np.uint8)
            _if_maxpool_row(item, dims, flat_currents, inv_scale, scale, flat_v, gain,
                            subtract, flat_counts, fired, best[item], best_fired[item],
                            flat_out, flat_out_counts)
        return
    for item in prange(batch * out_h):
        _spiking_maxpool_row(item, dims, flat_currents, inv_scale, scale, flat_v, decay, gain,
                             r_m, leaky, subtract, flat_counts, best, best_fired, flat_out,
                             flat_out_counts)


@njit(**NJIT_OPTIONS)
def _if_maxpool_row(item, dims, currents, inv_scale, scale, v, gain, subtract, counts, fired,
                    best, best_fired, out, out_counts):
    """:func:`neurosim.kernels.scalar.spiking_maxpool_row` for IF neurons (threshold 1, reset
    by subtracting 1 or to 0, no refractoriness), two passes per step: every neuron of the
    window row (contiguous channels-last memory: ``v + gain * (current * inv_scale)``, spike
    above 1, reset; ``fired`` (rows*W, C) scratch holds the step's spikes), then every window
    picks its input with the highest count, ties to the first in row-major order, one channel
    vector at a time (``best``, ``best_fired``: (C,) scratch). Same operations in the same
    precision as the rule, so the same bits."""
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
    constant = currents.shape[0] == 1
    zero = v.dtype.type(0.0)
    one = v.dtype.type(1.0)
    for t in range(n_steps):
        row = 0 if constant else t
        for p in range(n_pixels):
            for c in range(n_channels):
                vk = v[first + p, c] + gain * (currents[row, first + p, c] * inv_scale[c])
                spiked = vk > one
                reset = vk - one if subtract else zero
                v[first + p, c] = reset if spiked else vk
                counts[first + p, c] += np.int32(1) if spiked else np.int32(0)
                fired[p, c] = np.uint8(1) if spiked else np.uint8(0)
        for ow in range(out_w):
            o = (b * out_h + oh) * out_w + ow
            q0 = ow * kernel_w
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
                out[t, o, c] = scale[c] if best_fired[c] != 0 else zero
                out_counts[o, c] += best_fired[c]


from neurosim.kernels.cpu_network import (  # noqa: E402,F401  (the same surface as cuda.py)
    network_download,
    network_run,
    network_upload,
    read_recorders,
)
