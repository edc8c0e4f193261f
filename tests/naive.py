"""Plain NumPy twins of every kernel: the references the kernel tests compare against.

Written for clarity, not speed: whole-array NumPy operations or plain Python loops, and no code
shared with the kernels.
"""

from __future__ import annotations

import math

import numpy as np


def mp_run(inputs, state, exc_weights, inh_mask, threshold):
    """Synchronous McCulloch-Pitts updates; returns states (T, B, n) as bool."""
    state = state.astype(bool)
    out = []
    for x_t in inputs.astype(bool):
        sources = np.concatenate([x_t, state], axis=1).astype(float)  # (B, n_src)
        drive = sources @ exc_weights
        inhibited = (sources @ inh_mask.astype(float)) > 0
        state = (drive >= threshold) & ~inhibited
        out.append(state)
    return np.array(out)


def perceptron_scores(x, weights, bias):
    return x @ weights.T + bias


def perceptron_train_ovr(x, targets, order, lr, average=False):
    """One-vs-rest Rosenblatt rule; each unit stops after an epoch without mistakes."""
    n_units = targets.shape[1]
    weights = np.zeros((n_units, x.shape[1]))
    bias = np.zeros(n_units)
    for k in range(n_units):
        w, b = np.zeros(x.shape[1]), 0.0
        w_total, b_total, steps = np.zeros_like(w), 0.0, 1  # mean over w_0..w_N, w_0 = 0
        for epoch_order in order:
            mistakes = 0
            for s in epoch_order:
                out = 1 if b + x[s] @ w > 0 else 0
                if out != targets[s, k]:
                    mistakes += 1
                    w = w + lr * (targets[s, k] - out) * x[s]
                    b = b + lr * (targets[s, k] - out)
                w_total += w
                b_total += b
                steps += 1
            if mistakes == 0:
                break
        weights[k], bias[k] = (w_total / steps, b_total / steps) if average else (w, b)
    return weights, bias


def perceptron_train_multiclass(x, labels, n_classes, order, lr, average=False):
    w = np.zeros((n_classes, x.shape[1]))
    b = np.zeros(n_classes)
    w_total, b_total, steps = np.zeros_like(w), np.zeros_like(b), 1
    for epoch_order in order:
        mistakes = 0
        for s in epoch_order:
            pred = int(np.argmax(b + w @ x[s]))
            if pred != labels[s]:
                mistakes += 1
                w[labels[s]] += lr * x[s]
                w[pred] -= lr * x[s]
                b[labels[s]] += lr
                b[pred] -= lr
            w_total += w
            b_total += b
            steps += 1
        if mistakes == 0:
            break
    return (w_total / steps, b_total / steps) if average else (w, b)


def lif_run(currents, params, dt_s, v0=None):
    """(L)IF neurons step by step, in float64; returns (spikes (T, N) bool, v (T, N))."""
    n_steps, n = currents.shape
    v = np.full(n, params.v_rest, float) if v0 is None else np.array(v0, float)
    refractory = np.zeros(n, int)
    ref_steps = max(int(round(params.t_ref_s / dt_s)) - 1, 0)
    decay = math.exp(-dt_s / params.tau_m_s)
    spikes = np.zeros((n_steps, n), bool)
    trace = np.zeros((n_steps, n))
    for t in range(n_steps):
        active = refractory == 0
        if params.leaky:
            v_inf = params.v_rest + params.r_m * currents[t]
            v_new = v_inf + (v - v_inf) * decay
        else:
            v_new = v + params.r_m * dt_s / params.tau_m_s * currents[t]
        v = np.where(active, v_new, v)
        fired = active & (v > params.v_th)
        if params.reset == "subtract":
            v = np.where(fired, v - (params.v_th - params.v_reset), v)
        else:
            v = np.where(fired, params.v_reset, v)
        refractory = np.where(active, refractory, refractory - 1)
        refractory = np.where(fired, ref_steps, refractory)
        spikes[t] = fired
        trace[t] = v
    return spikes, trace
