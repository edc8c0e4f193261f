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


def hash_uniforms(key, step, index):
    """NumPy twin of ``scalar_network.hash_uniform`` over an array of indices."""
    with np.errstate(over="ignore"):
        x = (np.uint64(key) ^ (np.uint64(step) * np.uint64(0x9E3779B97F4A7C15))
             ^ (index.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)))
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def binomial_counts(key, step, index, n, p, key2=None):
    """NumPy twin of ``scalar_network.binomial_count`` for the neurons ``index`` in ``step``."""
    from neurosim.kernels.scalar_network import BINOMIAL_EXACT_MEAN

    if p >= 1.0:
        return np.full(index.shape, n, np.int64)
    mean = n * p
    if mean > BINOMIAL_EXACT_MEAN:
        u1 = hash_uniforms(key, step, index)
        u2 = hash_uniforms(_drive_key(int(key), 0) if key2 is None else key2, step, index)
        z = np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(6.283185307179586 * u2)
        k = np.floor(mean + math.sqrt(mean * (1.0 - p)) * z + 0.5)
        return np.clip(k, 0, n).astype(np.int64)
    from neurosim.network.drives import binomial_cdf_table

    table, last = binomial_cdf_table(n, p)
    u = hash_uniforms(key, step, index)
    return np.minimum(np.searchsorted(np.asarray(table), u, side="left"), last).astype(np.int64)


def _drive_key(seed, position):
    mask = (1 << 64) - 1
    x = (seed + (position + 1) * 0x9E3779B97F4A7C15) & mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def network_run(net, n_steps):
    """Step-by-step NumPy simulation of a ``neurosim.network.Network`` (built from its objects,
    not from the kernel arrays). Returns {id(population): (n_steps, n) bool spikes} and the
    final {id(population): v}.

    Refractoriness as Brian2 and NEST define it, written directly: a neuron is "held" in a
    step when its refractory counter is positive at the start of the step; jumps onto ``v``
    that arrive in a step where it is held, or in which it fires (with a refractory period),
    are discarded (``refractory_input="discard"``) or kept with the leak of the held steps to
    come and added at the end of its last held step (``"buffer"``)."""
    from neurosim.network.populations import PoissonGroup, poisson_spikes

    dt = net.dt_s
    state = {}
    for pop in net.populations:
        state[id(pop)] = {"v": pop.v0.astype(float).copy(), "ge": pop.ge0.astype(float).copy(),
                          "gi": pop.gi0.astype(float).copy(), "ref": np.zeros(pop.n, int),
                          "held": np.zeros(pop.n), "theta": np.zeros(pop.n)}
    offsets, start = {}, 0
    for pop in net.populations:
        offsets[id(pop)] = start
        start += pop.n
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
    plastic = [StdpTwin(p, dt, n_steps) for p in net.projections if p.plasticity is not None]
    for proj in net.projections:
        if proj.plasticity is not None:
            continue
        delays = np.broadcast_to(proj.delay_steps, proj.post_idx.shape)
        for d in np.unique(delays):
            sel = delays == d
            w = np.zeros((proj.pre.n, proj.post.n))
            np.add.at(w, (proj.pre_idx[sel], proj.post_idx[sel]), proj.weight[sel].astype(float))
            wiring.append((proj, int(d), w))
    pending = {}
    out = {id(p): np.zeros((n_steps, p.n), bool) for p in net.populations}
    held_now = {}

    def jump(pop, amount):
        """A jump onto v after this step's update, with the refractoriness rule."""
        s, prm, fired = state[id(pop)], pop.params, fired_now[id(pop)]
        r_steps = prm.refractory_steps(dt)
        blocked = held_now[id(pop)] | (fired & (r_steps > 0))
        s["v"] = np.where(blocked, s["v"], s["v"] + amount)
        if pop.refractory_input == "buffer":
            remaining = np.where(fired, r_steps, s["ref"])
            decay = math.exp(-dt / prm.tau_m_s) if prm.leaky else 1.0
            s["held"] = np.where(blocked, s["held"] + amount * decay ** remaining, s["held"])

    for t in range(n_steps):
        fired_now = {}
        for pop in net.populations:
            s, prm = state[id(pop)], pop.params
            current = pop.i_bias.copy()
            if id(pop) in timed:
                vals = timed[id(pop)]
                current = current + vals[min(t, len(vals) - 1)]
            active = s["ref"] <= 0
            v_start = s["v"]
            ge, gi = s["ge"], s["gi"]
            if pop.synapse_model == "conductance":
                g = 1 + ge + gi
                v_inf = (prm.v_rest + prm.r_m * current + ge * pop.e_exc + gi * pop.e_inh) / g
                v_new = v_inf + (v_start - v_inf) * np.exp(-g * dt / prm.tau_m_s)
            else:
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
                if prm.leaky:
                    v_inf = prm.v_rest + prm.r_m * current
                    v_new = v_inf + (v_start - v_inf) * math.exp(-dt / prm.tau_m_s) + syn
                else:
                    v_new = v_start + prm.r_m * dt / prm.tau_m_s * current + syn
            for var, tau in (("ge", pop.tau_exc_s), ("gi", pop.tau_inh_s)):
                s[var] = s[var] * math.exp(-dt / tau) if tau is not None else s[var] * 0.0
            s["v"] = np.where(active, v_new, s["v"])
            held_now[id(pop)] = ~active
            s["ref"] = np.where(active, s["ref"], s["ref"] - 1)
            if pop.tau_theta_s is not None:
                s["theta"] = s["theta"] * math.exp(-dt / pop.tau_theta_s)
            fired_now[id(pop)] = active & (s["v"] > prm.v_th + s["theta"])
        for src in net.poisson + net.sources:
            fired_now[id(src)] = source_spikes[id(src)][t]
        for proj, d, w in wiring:
            pre = fired_now[id(proj.pre)].astype(float)
            if pre.any():
                key = (t + d, id(proj.post), proj.target)
                pending[key] = pending.get(key, 0.0) + pre @ w
        for twin in plastic:
            twin.step(t, fired_now, pending)
        for pop in net.populations:
            s = state[id(pop)]
            for target, var in (("exc", "ge"), ("inh", "gi")):
                add = pending.pop((t, id(pop), target), None)
                if add is not None:
                    s[var] = s[var] + add
            add = pending.pop((t, id(pop), "v"), None)
            if add is not None:
                jump(pop, add)
        for position, drive in enumerate(net.drives):
            pop = drive.target
            index = np.arange(offsets[id(pop)], offsets[id(pop)] + pop.n)
            key = _drive_key(drive.seed, position)
            counts = binomial_counts(key, t, index, drive.n, drive.rate_hz * dt,
                                     _drive_key(key, 0))
            amount = counts * drive.weight
            if drive.var == "v":
                jump(pop, amount)
            else:
                var = "ge" if drive.var == "exc" else "gi"
                state[id(pop)][var] = state[id(pop)][var] + amount
        for pop in net.populations:
            s = state[id(pop)]
            # kept input enters v at the end of the last refractory step
            release = held_now[id(pop)] & (s["ref"] == 0)
            s["v"] = np.where(release, s["v"] + s["held"], s["v"])
            s["held"] = np.where(release, 0.0, s["held"])
            prm, fired = pop.params, fired_now[id(pop)]
            if prm.reset == "subtract":
                s["v"] = np.where(fired, s["v"] - (prm.v_th - prm.v_reset), s["v"])
            else:
                s["v"] = np.where(fired, prm.v_reset, s["v"])
            s["ref"] = np.where(fired, prm.refractory_steps(dt), s["ref"])
            s["theta"] = np.where(fired, s["theta"] + pop.theta_plus, s["theta"])
            out[id(pop)][t] = fired
    network_run.weights = {id(twin.proj): twin.w for twin in plastic}
    network_run.theta = {k: s["theta"] for k, s in state.items()}
    return out, {k: s["v"] for k, s in state.items()}


class StdpTwin:
    """One plastic projection, synapse by synapse, with the traces' whole history (every step
    of every presynaptic source): the NumPy twin of ``kernels/cpu_plasticity.py``."""

    def __init__(self, proj, dt, n_steps):
        rule = proj.plasticity
        self.proj, self.rule = proj, rule
        self.w = np.asarray(proj.weight, float).copy()
        self.delay = np.broadcast_to(np.asarray(proj.delay_steps), proj.post_idx.shape)
        self.dec = {name: (math.exp(-dt / tau) if tau is not None else 0.0) for name, tau in
                    (("r1", rule.tau_pre_s), ("r2", rule.tau_x_s), ("o1", rule.tau_post_s),
                     ("o2", rule.tau_y_s))}
        # r1/r2 after each step (row t + 1; row 0: before the first step)
        self.r1 = np.zeros((n_steps + 1, proj.pre.n))
        self.r2 = np.zeros((n_steps + 1, proj.pre.n))
        self.o1 = np.zeros(proj.post.n)
        self.o2 = np.zeros(proj.post.n)
        self.pre_count = np.zeros((n_steps, proj.pre.n), int)

    def _bump(self, x, count):
        if self.rule.traces == "nearest":
            return np.where(count > 0, 1.0, x)
        return x + count

    def _clip(self, w):
        return np.clip(w, self.rule.w_min, self.rule.w_max)

    def step(self, t, fired_now, pending):
        rule, proj = self.rule, self.proj
        count = np.asarray(fired_now[id(proj.pre)]).astype(int)
        self.pre_count[t] = count
        self.r1[t + 1] = self._bump(self.r1[t] * self.dec["r1"], count)
        self.r2[t + 1] = self._bump(self.r2[t] * self.dec["r2"], count)
        self.o1 *= self.dec["o1"]
        self.o2 *= self.dec["o2"]
        # arrivals: spikes emitted delay steps ago, each delivers w, then depresses it
        emitted = t - self.delay
        valid = emitted >= 0
        for k in np.flatnonzero(valid):
            pre, post, e = proj.pre_idx[k], proj.post_idx[k], emitted[k]
            for _ in range(self.pre_count[e, pre]):
                key = (t, id(proj.post), proj.target)
                add = pending.setdefault(key, np.zeros(proj.post.n))
                add[post] += self.w[k]
                r2_before = self.r2[e, pre] * self.dec["r2"]
                dep = (self.w[k] - rule.w_min) if rule.weight_dependence == "multiplicative" \
                    else 1.0
                self.w[k] = self._clip(self.w[k] - dep * self.o1[post]
                                       * (rule.a_minus + rule.a3_minus * r2_before))
        # postsynaptic spikes potentiate with the presynaptic trace of what has arrived
        post_fired = np.asarray(fired_now[id(proj.post)])
        for k in np.flatnonzero(post_fired[proj.post_idx]):
            pre, post, e = proj.pre_idx[k], proj.post_idx[k], t - self.delay[k]
            r1 = self.r1[e + 1, pre] if e >= 0 else 0.0
            pot = (rule.w_max - self.w[k]) if rule.weight_dependence == "multiplicative" \
                else 1.0
            self.w[k] = self._clip(self.w[k] + pot * r1
                                   * (rule.a_plus + rule.a3_plus * self.o2[post]))
        self.o1 = self._bump(self.o1, post_fired.astype(int))
        self.o2 = self._bump(self.o2, post_fired.astype(int))


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


def sparse_conv2d(x, weight, bias, padding):
    """Stride-1 convolution, channels-last x (N, H, W, C), weight (O, C, KH, KW): the bias,
    then every (kernel row, kernel column, channel) term added one after the other in float32.
    A zero input adds an exact zero, so this is the event-driven kernel's sum bit for bit."""
    n, height, width, _ = x.shape
    n_out, n_in, k_h, k_w = weight.shape
    pad_h, pad_w = padding
    xp = np.zeros((n, height + 2 * pad_h, width + 2 * pad_w, n_in), np.float32)
    xp[:, pad_h:pad_h + height, pad_w:pad_w + width] = x
    out_h, out_w = height + 2 * pad_h - k_h + 1, width + 2 * pad_w - k_w + 1
    out = np.broadcast_to(bias.astype(np.float32), (n, out_h, out_w, n_out)).copy()
    for a in range(k_h):
        for b in range(k_w):
            for c in range(n_in):
                term = xp[:, a:a + out_h, b:b + out_w, c, None] * weight[:, c, a, b]
                out = (out + term).astype(np.float32)
    return out
