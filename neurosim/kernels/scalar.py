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
