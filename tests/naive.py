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


def network_run(net, n_steps):
    """Step-by-step NumPy simulation of a ``neurosim.network.Network`` (built from its objects,
    not from the kernel arrays). Returns {id(population): (n_steps, n) bool spikes} and the
    final {id(population): v}."""
    from neurosim.network.populations import PoissonGroup, poisson_spikes

    dt = net.dt_s
    state = {}
    for pop in net.populations:
        state[id(pop)] = {"v": pop.v0.astype(float).copy(), "ge": np.zeros(pop.n),
                          "gi": np.zeros(pop.n), "ref": np.zeros(pop.n, int)}
    source_spikes = {}
    for src in net.poisson + net.sources:
        if isinstance(src, PoissonGroup):
            source_spikes[id(src)] = poisson_spikes(src, dt, n_steps)
        else:
            raster = np.zeros((n_steps, src.n), int)  # a time listed twice spikes twice
            steps = np.rint(src.times_s / dt).astype(int)
            keep = steps < n_steps
            np.add.at(raster, (steps[keep], src.indices[keep]), 1)
            source_spikes[id(src)] = raster
    timed = {id(c.target): c.values for c in net.currents}
    # dense weight matrices per (projection, delay)
    wiring = []
    for proj in net.projections:
        delays = np.broadcast_to(proj.delay_steps, proj.post_idx.shape)
        for d in np.unique(delays):
            sel = delays == d
            w = np.zeros((proj.pre.n, proj.post.n))
            np.add.at(w, (proj.pre_idx[sel], proj.post_idx[sel]), proj.weight[sel].astype(float))
            wiring.append((proj, int(d), w))
    pending = {}
    out = {id(p): np.zeros((n_steps, p.n), bool) for p in net.populations}
    for t in range(n_steps):
        fired_now = {}
        for pop in net.populations:
            s, prm = state[id(pop)], pop.params
            current = pop.i_bias.copy()
            if id(pop) in timed:
                vals = timed[id(pop)]
                current = current + vals[min(t, len(vals) - 1)]
            syn = np.zeros(pop.n)
            for var, tau in (("ge", pop.tau_exc_s), ("gi", pop.tau_inh_s)):
                if tau is None:
                    continue
                if not prm.leaky:
                    k = tau / prm.tau_m_s * (1 - math.exp(-dt / tau))
                elif abs(tau - prm.tau_m_s) < 1e-15:
                    k = dt / prm.tau_m_s * math.exp(-dt / prm.tau_m_s)
                else:
                    k = tau / (tau - prm.tau_m_s) * (math.exp(-dt / tau)
                                                     - math.exp(-dt / prm.tau_m_s))
                syn = syn + s[var] * k
                s[var] = s[var] * math.exp(-dt / tau)
            if prm.leaky:
                v_inf = prm.v_rest + prm.r_m * current
                v_new = v_inf + (s["v"] - v_inf) * math.exp(-dt / prm.tau_m_s) + syn
            else:
                v_new = s["v"] + prm.r_m * dt / prm.tau_m_s * current + syn
            active = s["ref"] <= 0
            s["v"] = np.where(active, v_new, s["v"])
            s["ref"] = np.where(active, s["ref"], s["ref"] - 1)
            fired_now[id(pop)] = active & (s["v"] > prm.v_th)
        for src in net.poisson + net.sources:
            fired_now[id(src)] = source_spikes[id(src)][t]
        for proj, d, w in wiring:
            pre = fired_now[id(proj.pre)].astype(float)
            if pre.any():
                key = (t + d, id(proj.post), proj.target)
                pending[key] = pending.get(key, 0.0) + pre @ w
        for pop in net.populations:
            s = state[id(pop)]
            for target, var in (("exc", "ge"), ("inh", "gi"), ("v", "v")):
                add = pending.pop((t, id(pop), target), None)
                if add is not None:
                    s[var] = s[var] + add
            prm, fired = pop.params, fired_now[id(pop)]
            if prm.reset == "subtract":
                s["v"] = np.where(fired, s["v"] - (prm.v_th - prm.v_reset), s["v"])
            else:
                s["v"] = np.where(fired, prm.v_reset, s["v"])
            s["ref"] = np.where(fired, max(int(round(prm.t_ref_s / dt)) - 1, 0), s["ref"])
            out[id(pop)][t] = fired
    return out, {k: s["v"] for k, s in state.items()}


def maxpool_gate(spikes, kernel, stride, padding, dilation):
    """Spiking max-pool by the definition: per step, pass the spikes of the window input with
    the highest cumulative spike count (first in row-major order on ties)."""
    n_steps, n_maps, height, width = spikes.shape
    out_h = (height + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    out_w = (width + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    counts = np.cumsum(spikes != 0, axis=0)
    out = np.zeros((n_steps, n_maps, out_h, out_w), spikes.dtype)
    for t in range(n_steps):
        for m in range(n_maps):
            for oh in range(out_h):
                for ow in range(out_w):
                    window = [(oh * stride[0] - padding[0] + ki * dilation[0],
                               ow * stride[1] - padding[1] + kj * dilation[1])
                              for ki in range(kernel[0]) for kj in range(kernel[1])]
                    window = [(i, j) for i, j in window if 0 <= i < height and 0 <= j < width]
                    i, j = max(window, key=lambda ij: (counts[t, m, ij[0], ij[1]],
                                                      -ij[0] * width - ij[1]))
                    out[t, m, oh, ow] = spikes[t, m, i, j]
    return out


def spiking_maxpool(currents, scale, kernel, v0=0.5):
    """IF neurons (threshold 1 on ``current / scale[c]``, reset by subtraction, spikes of
    amplitude ``scale[c]``) feeding the spiking max-pool, by composition of the definitions:
    currents (T, B, C, H, W) -> (pooled spikes (T, B, C, Ho, Wo), neuron spike counts)."""
    scale = np.asarray(scale, np.float32).reshape(1, -1, 1, 1)
    n_steps = currents.shape[0]
    v = np.full(currents.shape[1:], v0, np.float32)
    spikes = np.zeros(currents.shape, np.float32)
    for t in range(n_steps):
        v = v + currents[t] * (np.float32(1) / scale)
        fired = v > 1
        v = np.where(fired, v - 1, v).astype(np.float32)
        spikes[t] = np.where(fired, scale, 0)
    b, c, h, w = currents.shape[1:]
    pooled = maxpool_gate(spikes.reshape(n_steps, b * c, h, w), kernel, kernel, (0, 0), (1, 1))
    return (pooled.reshape((n_steps, b, c) + pooled.shape[-2:]),
            (spikes != 0).sum(axis=0).astype(np.int32))


def distinct_samples(uniforms, n):
    """Floyd's algorithm in plain Python: row r gets k distinct integers in [0, n)."""
    rows, k = uniforms.shape
    out = np.empty((rows, k), np.int64)
    for r in range(rows):
        chosen = set()
        for i in range(k):
            top = n - k + i
            t = min(int(uniforms[r, i] * (top + 1)), top)
            pick = top if t in chosen else t
            chosen.add(pick)
            out[r, i] = pick
    return out
