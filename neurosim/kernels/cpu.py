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
    n_pad = (n_units + 7) // 8 * 8  # whole vectors in the scoring loop (zero weights past
    w_t = np.zeros((n_features, n_pad), weights.dtype)  # the last unit: 1.2x on 10 units)
    s_t = np.empty((n_features, n_units), w_sum.dtype)
    for u in range(n_units):
        for f in range(n_features):
            w_t[f, u] = weights[lo + u, f]
            s_t[f, u] = w_sum[lo + u, f]
    partial = np.zeros((8, n_pad), np.float64)
    scores = np.empty(n_pad, np.float64)
    b_t = np.zeros(n_pad, bias.dtype)
    for u in range(n_units):
        b_t[u] = bias[lo + u]
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
                for u in range(n_pad):
                    lane[u] += v * w_f[u]
            for u in range(n_pad):  # every unit's score at once (vectorises)
                scores[u] = b_t[u] + (((partial[0, u] + partial[1, u])
                                       + (partial[2, u] + partial[3, u]))
                                      + ((partial[4, u] + partial[5, u])
                                         + (partial[6, u] + partial[7, u])))
            for u in range(n_units):
                if not active[u]:
                    continue
                k = lo + u
                out = 1 if scores[u] > 0.0 else 0
                delta = targets[s, k] - out
                if delta != 0:
                    errors[u] += 1
                    step = lr * delta
                    for p in range(indptr[s], indptr[s + 1]):
                        f = features[p]
                        w_t[f, u] += step * values[p]
                        s_t[f, u] += count * step * values[p]
                    b_t[u] += step
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
        bias[lo + u] = b_t[u]
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


# The conversion kernels (spiking layers, max-pool) live in their own module; the backend is
# this module, so they are re-exported here.
from neurosim.kernels.cpu_convert import (  # noqa: E402, F401
    maxpool_gate,
    sparse_conv2d,
    spiking_layer,
    spiking_maxpool,
)
from neurosim.kernels.cpu_network import (  # noqa: E402,F401  (the same surface as cuda.py)
    network_download,
    network_run,
    network_upload,
    read_recorders,
)
from neurosim.kernels.cpu_plasticity import normalize_weights  # noqa: E402,F401
