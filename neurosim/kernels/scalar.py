"""Per-element update rules shared by the CPU and CUDA backends.

These are plain Python functions with no decorator: :mod:`neurosim.kernels.cpu` compiles them
with ``numba.njit`` and :mod:`neurosim.kernels.cuda` with ``cuda.jit(device=True)``. One source
for the arithmetic of both backends is what makes their spikes identical: the same operations in
the same order, and no fast-math on either side (see :mod:`neurosim.config`).
"""


def lif_neuron_step(v, refrac, current, v_th, v_reset, v_rest, r_m, decay, gain, leaky,
                    subtract, ref_steps):
    """One exact step of one (L)IF neuron; returns ``(v, refrac, spiked)``.

    Leaky: ``v <- v_inf + (v - v_inf) * decay`` with ``v_inf = v_rest + r_m * I``. Written in
    this form, ``v`` never overshoots ``v_inf`` in floating point (the rounded product keeps its
    sign), so a neuron with ``v_inf <= v_th`` provably never fires under ``v > v_th``.
    Non-leaky (IF): ``v <- v + gain * I``. A refractory neuron (``refrac > 0``) neither
    integrates nor fires; its counter counts down. After a spike ``v`` is reset to ``v_reset``
    or reduced by ``v_th - v_reset`` (reset by subtraction) and ``refrac = ref_steps``.
    """
    # Branch-free (conditional expressions become selects), so the neuron loop vectorises.
    active = refrac <= 0
    if leaky:
        v_inf = v_rest + r_m * current
        v_int = v_inf + (v - v_inf) * decay
    else:
        v_int = v + gain * current
    v_new = v_int if active else v
    spiked = active and v_new > v_th
    v_spiked = v_new - (v_th - v_reset) if subtract else v_reset
    v_out = v_spiked if spiked else v_new
    refrac_out = ref_steps if spiked else (refrac - 1 if refrac > 0 else refrac)
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


def hash_uniform(seed, step, index):
    """A uniform number in [0, 1) from ``(seed, step, index)``, all ``uint64``: the SplitMix64
    finaliser over a mix of the three. Counter-based, so Poisson spikes do not depend on the
    order neurons are visited in, the thread count, or the backend; NumPy reproduces it
    (:func:`neurosim.network.populations.poisson_spikes`)."""
    x = seed ^ (step * 0x9E3779B97F4A7C15) ^ (index * 0xC2B2AE3D27D4EB4F)
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB
    x = x ^ (x >> 31)
    return (x >> 11) * (1.0 / 9007199254740992.0)



def make_spiking_maxpool_map(lif_neuron_step):
    """The fused neuron + max-pool rule below, calling a backend's compiled
    :func:`lif_neuron_step` (plain functions cannot call plain functions in compiled code)."""

    def spiking_maxpool_map(m, currents, inv_scale, scale, width, kernel_h, kernel_w, v, decay,
                            gain, r_m, leaky, subtract, counts, fired, out, out_counts):
        """IF/LIF neurons and the spiking max-pool that reads them, fused, for feature map ``m``
        over T steps (tiled windows: kernel == stride, no padding or dilation).

        currents (T or 1, M, H*W); v, counts (M, H*W): the neurons' state and spike counts, which
        are also the gate's running counts (a spike is nonzero: thresholds are positive); fired
        (M, H*W) uint8 scratch; out (T, M, Ho, Wo): the pooled spikes of amplitude ``scale[c]``,
        ``c = m % len(scale)``; out_counts (M, Ho, Wo) gains the spikes passed. Gives exactly
        ``spiking_layer`` followed by ``maxpool_gate``, without the full-resolution spike tensor
        between them.
        """
        n_steps = out.shape[0]
        out_h = out.shape[2]
        out_w = out.shape[3]
        n = v.shape[1]
        c = m % scale.shape[0]
        inv_c = inv_scale[c]
        amp_c = scale[c]
        one = amp_c * 0 + 1
        zero = amp_c * 0
        constant = currents.shape[0] == 1
        v_m = v[m]
        counts_m = counts[m]
        fired_m = fired[m]
        out_counts_m = out_counts[m]
        for t in range(n_steps):
            cur = currents[0 if constant else t, m]
            for k in range(n):  # 1-D views: this loop vectorises on the CPU
                vk, _, spiked = lif_neuron_step(v_m[k], 0, cur[k] * inv_c, one, zero, zero, r_m,
                                                decay, gain, leaky, subtract, 0)
                v_m[k] = vk
                fired_m[k] = 1 if spiked else 0
                counts_m[k] += 1 if spiked else 0
            out_tm = out[t, m]
            for oh in range(out_h):
                for ow in range(out_w):
                    best = -1
                    best_fired = 0
                    for i in range(oh * kernel_h, oh * kernel_h + kernel_h):
                        row = i * width
                        for j in range(ow * kernel_w, ow * kernel_w + kernel_w):
                            if counts_m[row + j] > best:
                                best = counts_m[row + j]
                                best_fired = fired_m[row + j]
                    out_tm[oh, ow] = amp_c if best_fired != 0 else zero
                    out_counts_m[oh, ow] += best_fired

    return spiking_maxpool_map
