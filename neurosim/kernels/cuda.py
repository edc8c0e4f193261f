"""Numba CUDA kernels and their host drivers.

Each public function here has the signature of its twin in :mod:`neurosim.kernels.cpu`: it
takes host (NumPy) arrays, runs on the GPU and writes the results back into the given host
arrays. Per-element arithmetic comes from :mod:`neurosim.kernels.scalar`, compiled as CUDA
device functions, so both backends execute the same operations in the same order.

Under ``NUMBA_ENABLE_CUDASIM=1`` these kernels run on the CPU in Numba's simulator (CI does
this with small sizes and small blocks, so that several blocks run).
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from neurosim import config
from neurosim.kernels import scalar

NAME = "cuda"

rules = scalar.compile_rules(cuda.jit(device=True))
_lif_neuron_step = rules.lif_neuron_step
_ovr_unit_train = rules.ovr_unit_train
_spiking_maxpool_row = rules.spiking_maxpool_row
_sparse_conv_pixel = rules.sparse_conv_pixel
LIFConstants = scalar.LIFConstants


def _launch_config(n_threads: int) -> tuple[int, int]:
    tpb = max(1, int(config.CUDA_THREADS_PER_BLOCK))
    return max(1, (n_threads + tpb - 1) // tpb), tpb


# ----------------------------------------------------------------------------------------------
# McCulloch-Pitts
# ----------------------------------------------------------------------------------------------


@cuda.jit
def _mp_step_kernel(inputs_t, prev_state, exc_weights, inh_mask, threshold, next_state):
    idx = cuda.grid(1)
    n_batch, n_units = next_state.shape
    if idx >= n_batch * n_units:
        return
    b = idx // n_units
    j = idx % n_units
    n_in = inputs_t.shape[1]
    acc = 0.0
    inhibited = 0
    for i in range(n_in + n_units):
        active = inputs_t[b, i] if i < n_in else prev_state[b, i - n_in]
        if active:
            acc += exc_weights[i, j]
            inhibited |= inh_mask[i, j]
    next_state[b, j] = 1 if (inhibited == 0 and acc >= threshold[j]) else 0


def mp_run(inputs, state, exc_weights, inh_mask, threshold, states_out):
    """See :func:`neurosim.kernels.cpu.mp_run`; one launch per step (a grid-wide barrier)."""
    n_steps, n_batch, _ = inputs.shape
    n_units = state.shape[1]
    d_inputs = cuda.to_device(inputs)
    d_state = cuda.to_device(state)
    d_exc = cuda.to_device(exc_weights)
    d_inh = cuda.to_device(inh_mask)
    d_thr = cuda.to_device(threshold)
    d_out = cuda.device_array(states_out.shape, dtype=states_out.dtype)
    blocks, tpb = _launch_config(n_batch * n_units)
    for t in range(n_steps):
        prev = d_state if t == 0 else d_out[t - 1]
        _mp_step_kernel[blocks, tpb](d_inputs[t], prev, d_exc, d_inh, d_thr, d_out[t])
    d_out.copy_to_host(states_out)
    if n_steps:
        state[...] = states_out[n_steps - 1]


# ----------------------------------------------------------------------------------------------
# Perceptron
# ----------------------------------------------------------------------------------------------


@cuda.jit
def _scores_kernel(x, weights, bias, scores_out):
    idx = cuda.grid(1)
    n_samples, n_features = x.shape
    n_classes = weights.shape[0]
    if idx >= n_samples * n_classes:
        return
    s = idx // n_classes
    k = idx % n_classes
    acc = bias[k]
    for f in range(n_features):
        acc += x[s, f] * weights[k, f]
    scores_out[s, k] = acc


def perceptron_scores(x, weights, bias, scores_out):
    d_scores = cuda.device_array(scores_out.shape, dtype=scores_out.dtype)
    blocks, tpb = _launch_config(scores_out.size)
    _scores_kernel[blocks, tpb](cuda.to_device(x), cuda.to_device(weights), cuda.to_device(bias),
                                d_scores)
    d_scores.copy_to_host(scores_out)


@cuda.jit
def _ovr_kernel(x, targets, weights, bias, w_sum, b_sum, order, lr, errors_out, counts_out):
    k = cuda.grid(1)
    if k >= weights.shape[0]:
        return
    counts_out[k] = _ovr_unit_train(k, x, targets, weights, bias, w_sum, b_sum, order, lr,
                                    errors_out)


def _to_device_all(*arrays):
    return [cuda.to_device(a) for a in arrays]


def _copy_back(pairs):
    for device_array, host_array in pairs:
        device_array.copy_to_host(host_array)


def perceptron_train_ovr(x, targets, weights, bias, w_sum, b_sum, order, lr, errors_out,
                         counts_out):
    """One thread per output unit, as the units of one-vs-rest learning are independent."""
    arrays = _to_device_all(x, targets, weights, bias, w_sum, b_sum, order, errors_out,
                            counts_out)
    d_x, d_t, d_w, d_b, d_ws, d_bs, d_order, d_err, d_counts = arrays
    blocks, tpb = _launch_config(weights.shape[0])
    _ovr_kernel[blocks, tpb](d_x, d_t, d_w, d_b, d_ws, d_bs, d_order, lr, d_err, d_counts)
    _copy_back([(d_w, weights), (d_b, bias), (d_ws, w_sum), (d_bs, b_sum), (d_err, errors_out),
                (d_counts, counts_out)])


@cuda.jit
def _multiclass_kernel(x, labels, weights, bias, w_sum, b_sum, order, lr, errors_out, counts_out,
                       scores):
    # One block: threads share the class scores of a sample, then the weight update.
    tid = cuda.threadIdx.x
    n_threads = cuda.blockDim.x
    flags = cuda.shared.array(2, dtype=np.int64)  # [predicted class, stop]
    n_epochs = order.shape[0]
    n_samples = order.shape[1]
    n_classes = weights.shape[0]
    n_features = weights.shape[1]
    count = 1.0
    for e in range(n_epochs):
        errors = 0
        for pos in range(n_samples):
            s = order[e, pos]
            for k in range(tid, n_classes, n_threads):
                acc = bias[k]
                for f in range(n_features):
                    acc += x[s, f] * weights[k, f]
                scores[k] = acc
            cuda.syncthreads()
            if tid == 0:
                best_k = 0
                best = -math.inf
                for k in range(n_classes):
                    if scores[k] > best:
                        best = scores[k]
                        best_k = k
                flags[0] = best_k
            cuda.syncthreads()
            best_k = flags[0]
            y = labels[s]
            if best_k != y:
                errors += 1
                for f in range(tid, n_features, n_threads):
                    weights[y, f] += lr * x[s, f]
                    weights[best_k, f] -= lr * x[s, f]
                    w_sum[y, f] += count * lr * x[s, f]
                    w_sum[best_k, f] -= count * lr * x[s, f]
                if tid == 0:
                    bias[y] += lr
                    bias[best_k] -= lr
                    b_sum[y] += count * lr
                    b_sum[best_k] -= count * lr
            count += 1.0
            cuda.syncthreads()
        if tid == 0:
            errors_out[e, 0] = errors
            flags[1] = 1 if errors == 0 else 0
        cuda.syncthreads()
        if flags[1] == 1:
            break
    for k in range(tid, n_classes, n_threads):
        counts_out[k] = count


def perceptron_train_multiclass(x, labels, weights, bias, w_sum, b_sum, order, lr, errors_out,
                                counts_out):
    """The multi-class rule is sequential over samples: one block, threads over classes and
    features within a sample."""
    arrays = _to_device_all(x, labels, weights, bias, w_sum, b_sum, order, errors_out,
                            counts_out)
    d_x, d_y, d_w, d_b, d_ws, d_bs, d_order, d_err, d_counts = arrays
    d_scores = cuda.device_array(weights.shape[0], dtype=weights.dtype)
    tpb = max(1, min(int(config.CUDA_THREADS_PER_BLOCK), 1024))
    _multiclass_kernel[1, tpb](d_x, d_y, d_w, d_b, d_ws, d_bs, d_order, lr, d_err, d_counts,
                               d_scores)
    _copy_back([(d_w, weights), (d_b, bias), (d_ws, w_sum), (d_bs, b_sum), (d_err, errors_out),
                (d_counts, counts_out)])


# ----------------------------------------------------------------------------------------------
# Leaky / non-leaky integrate-and-fire
# ----------------------------------------------------------------------------------------------


@cuda.jit
def _lif_run_kernel(v, refrac, currents, neuron, spikes_out, v_trace, record_v):
    i = cuda.grid(1)
    if i >= v.shape[0]:
        return
    vi = v[i]
    ri = refrac[i]
    constant = currents.shape[0] == 1
    for t in range(spikes_out.shape[0]):
        vi, ri, spiked = _lif_neuron_step(vi, ri, currents[0 if constant else t, i], neuron)
        spikes_out[t, i] = 1 if spiked else 0
        if record_v:
            v_trace[t, i] = vi
    v[i] = vi
    refrac[i] = ri


def lif_run(v, refrac, currents, neuron, spikes_out, v_trace, record_v):
    """See :func:`neurosim.kernels.cpu.lif_run`; one thread per neuron, time inside the thread."""
    d_v, d_refrac, d_currents = _to_device_all(v, refrac, currents)
    d_spikes = cuda.device_array(spikes_out.shape, dtype=spikes_out.dtype)
    trace_shape = v_trace.shape if record_v else (1, 1)
    d_trace = cuda.device_array(trace_shape, dtype=v.dtype)
    blocks, tpb = _launch_config(v.shape[0])
    _lif_run_kernel[blocks, tpb](d_v, d_refrac, d_currents, neuron, d_spikes, d_trace,
                                 record_v)
    _copy_back([(d_v, v), (d_refrac, refrac), (d_spikes, spikes_out)])
    if record_v:
        d_trace.copy_to_host(v_trace)



# ----------------------------------------------------------------------------------------------
# Spiking max-pooling (ANN-to-SNN conversion)
# ----------------------------------------------------------------------------------------------


@cuda.jit
def _maxpool_gate_kernel(spikes, kernel, stride, padding, dilation, counts, out, out_counts):
    m = cuda.grid(1)
    n_steps, n_maps, height, width = spikes.shape
    if m >= n_maps:
        return
    for t in range(n_steps):
        for i in range(height):
            for j in range(width):
                if spikes[t, m, i, j] != 0:
                    counts[m, i, j] += 1
        for oh in range(out.shape[2]):
            for ow in range(out.shape[3]):
                best = -1
                best_i = 0
                best_j = 0
                for ki in range(kernel[0]):
                    i = oh * stride[0] - padding[0] + ki * dilation[0]
                    if i < 0 or i >= height:
                        continue
                    for kj in range(kernel[1]):
                        j = ow * stride[1] - padding[1] + kj * dilation[1]
                        if j < 0 or j >= width:
                            continue
                        if counts[m, i, j] > best:
                            best = counts[m, i, j]
                            best_i = i
                            best_j = j
                out[t, m, oh, ow] = spikes[t, m, best_i, best_j]
                if spikes[t, m, best_i, best_j] != 0:
                    out_counts[m, oh, ow] += 1


def maxpool_gate(spikes, kernel, stride, padding, dilation, counts, out, out_counts):
    """See :func:`neurosim.kernels.cpu.maxpool_gate`; one thread per feature map."""
    d_counts = cuda.to_device(counts)
    d_out_counts = cuda.to_device(out_counts)
    d_out = cuda.device_array(out.shape, dtype=out.dtype)
    blocks, tpb = _launch_config(spikes.shape[1])
    _maxpool_gate_kernel[blocks, tpb](cuda.to_device(spikes), cuda.to_device(kernel),
                                      cuda.to_device(stride), cuda.to_device(padding),
                                      cuda.to_device(dilation), d_counts, d_out, d_out_counts)
    d_counts.copy_to_host(counts)
    d_out_counts.copy_to_host(out_counts)
    d_out.copy_to_host(out)


@cuda.jit
def _spiking_layer_kernel(currents, inv_scale, scale, inner, v, decay, gain, r_m, leaky,
                          subtract, spikes_out, counts):
    i = cuda.grid(1)
    n = v.shape[0]
    if i >= n:
        return
    c = (i // inner) % scale.shape[0]
    constant = currents.shape[0] == 1
    vi = v[i]
    one = vi * 0 + 1  # the state's float type
    zero = vi * 0
    neuron = LIFConstants(one, zero, zero, r_m, decay, gain, leaky, subtract, 0)
    for t in range(spikes_out.shape[0]):
        vi, _, spiked = _lif_neuron_step(vi, 0, currents[0 if constant else t, i] * inv_scale[c],
                                         neuron)
        spikes_out[t, i] = scale[c] if spiked else zero
        if spiked:
            counts[i] += 1
    v[i] = vi


def spiking_layer(currents, inv_scale, scale, inner, v, decay, gain, r_m, leaky, subtract,
                  spikes_out, counts):
    """See :func:`neurosim.kernels.cpu.spiking_layer`; one thread per neuron."""
    d_v, d_counts = cuda.to_device(v), cuda.to_device(counts)
    d_out = cuda.device_array(spikes_out.shape, dtype=spikes_out.dtype)
    blocks, tpb = _launch_config(v.shape[0])
    _spiking_layer_kernel[blocks, tpb](cuda.to_device(currents), cuda.to_device(inv_scale),
                                       cuda.to_device(scale), inner, d_v, decay, gain, r_m,
                                       leaky, subtract, d_out, d_counts)
    _copy_back([(d_v, v), (d_counts, counts), (d_out, spikes_out)])

@cuda.jit
def _spiking_maxpool_kernel(dims, currents, inv_scale, scale, v, decay, gain, r_m, leaky,
                            subtract, counts, best, best_fired, out, out_counts):
    item = cuda.grid(1)
    if item < best.shape[0]:
        _spiking_maxpool_row(item, dims, currents, inv_scale, scale, v, decay, gain, r_m, leaky,
                             subtract, counts, best, best_fired, out, out_counts)


def spiking_maxpool(currents, inv_scale, scale, kernel_h, kernel_w, v, decay, gain, r_m, leaky,
                    subtract, counts, best, best_fired, out, out_counts):
    """See :func:`neurosim.kernels.cpu.spiking_maxpool`; one thread per row of windows."""
    batch, height, width, n_channels = v.shape
    out_h, out_w = out.shape[2], out.shape[3]
    dims = np.array((height, width, out_h, out_w, kernel_h, kernel_w), np.int64)
    pixels, pooled = batch * height * width, batch * out_h * out_w
    host = [v.reshape(pixels, n_channels), counts.reshape(pixels, n_channels),
            out_counts.reshape(pooled, n_channels)]
    d_v, d_counts, d_out_counts = (cuda.to_device(a) for a in host)
    d_out = cuda.device_array((out.shape[0], pooled, n_channels), dtype=out.dtype)
    blocks, tpb = _launch_config(batch * out_h)
    _spiking_maxpool_kernel[blocks, tpb](
        cuda.to_device(dims), cuda.to_device(currents.reshape(currents.shape[0], pixels,
                                                              n_channels)),
        cuda.to_device(inv_scale), cuda.to_device(scale), d_v, decay, gain, r_m, leaky,
        subtract, d_counts, cuda.to_device(best), cuda.to_device(best_fired), d_out,
        d_out_counts)
    _copy_back([(d_v, host[0]), (d_counts, host[1]), (d_out_counts, host[2]),
                (d_out, out.reshape(out.shape[0], pooled, n_channels))])


@cuda.jit
def _sparse_conv2d_kernel(x, weight, bias, pad_h, pad_w, out):
    q = cuda.grid(1)
    n_img, out_h, out_w = out.shape[0], out.shape[1], out.shape[2]
    if q < n_img * out_h * out_w:
        n = q // (out_h * out_w)
        rest = q - n * out_h * out_w
        oh = rest // out_w
        _sparse_conv_pixel(n, oh, rest - oh * out_w, x, weight, bias, pad_h, pad_w, out)


def sparse_conv2d(x, weight, bias, pad_h, pad_w, out=None):
    """See :func:`neurosim.kernels.cpu.sparse_conv2d`; one thread per output pixel."""
    if out is None:
        out = np.empty((x.shape[0], x.shape[1] + 2 * pad_h - weight.shape[2] + 1,
                        x.shape[2] + 2 * pad_w - weight.shape[3] + 1, weight.shape[0]), x.dtype)
    d_out = cuda.device_array(out.shape, dtype=out.dtype)
    blocks, tpb = _launch_config(out.shape[0] * out.shape[1] * out.shape[2])
    _sparse_conv2d_kernel[blocks, tpb](
        cuda.to_device(x), cuda.to_device(np.ascontiguousarray(weight.transpose(2, 3, 1, 0))),
        cuda.to_device(bias), pad_h, pad_w, d_out)
    d_out.copy_to_host(out)
    return out


from neurosim.kernels.cuda_network import (  # noqa: E402,F401  (the same surface as cpu.py)
    network_download,
    network_run,
    network_upload,
    read_recorders,
)
from neurosim.kernels.cuda_plasticity import normalize_weights  # noqa: E402,F401
