"""Projections: synapses from a source group to a :class:`Population`, stored as CSR.

Every synapse costs 8 bytes (an int32 postsynaptic index and a float32 weight); rows are indexed
by the presynaptic neuron. Integer delays (in time steps) are not stored per synapse: synapses
are grouped by delay value, one CSR row-pointer array per group, so the 8 bytes hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.checks import check_array, check_choice, check_scalar
from neurosim.kernels.cpu import distinct_samples
from neurosim.network.memory import check_fits
from neurosim.network.plasticity import STDP
from neurosim.network.populations import PoissonGroup, Population, SpikeSource

TARGETS = ("exc", "inh", "v")
Source = Population | PoissonGroup | SpikeSource
WeightSpec = float | np.ndarray | Callable[[np.random.Generator, int], np.ndarray]


@dataclass(eq=False)
class Projection:
    """Synapses ``pre -> post``: sorted by presynaptic index (CSR), weights and delays.

    Build with the ``connect_*`` functions. ``target`` is ``"exc"``/``"inh"`` (add to the
    exponential synaptic current) or ``"v"`` (jump of the membrane potential).
    ``plasticity``: an :class:`~neurosim.network.plasticity.STDP` rule, or ``None`` (fixed
    weights); every ``connect_*`` function takes it as a keyword.
    """

    pre: Source
    post: Population
    pre_idx: np.ndarray    # int32, sorted
    post_idx: np.ndarray   # int32
    weight: np.ndarray     # float32
    delay_steps: np.ndarray  # int32 per synapse before grouping, or a single value
    target: str = "exc"
    plasticity: Any = None  # an STDP rule: the weights learn (neurosim.network.plasticity)

    @property
    def n_synapses(self) -> int:
        return int(self.post_idx.size)


def _weights(weight: WeightSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    if callable(weight):
        values = np.asarray(weight(rng, n), dtype=np.float64)
    else:
        values = check_array("weight", weight, ndim=(0, 1), dtype=np.float64)
    if values.ndim == 1 and values.shape != (n,):
        raise ValueError(f"weight must be a scalar or have one value per synapse ({n}), got "
                         f"shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("weight must be finite (no NaN or infinity)")
    big = np.abs(values) > np.finfo(np.float32).max
    if big.any():
        raise ValueError(f"weight {values[big].flat[0]!r} overflows float32, the type synapses "
                         "are stored in (largest 3.4e+38)")
    return np.broadcast_to(values, (n,)).astype(np.float32)


def _delays(delay_steps: Any, n: int) -> np.ndarray:
    delays = check_array("delay_steps", delay_steps, ndim=(0, 1), kind="iu", dtype=np.int64)
    if (delays < 0).any():
        raise ValueError("delay_steps must be >= 0")
    if delays.ndim == 1 and delays.shape != (n,):
        raise ValueError(f"delay_steps must be a scalar or have one value per synapse ({n})")
    return delays.astype(np.int32)  # a scalar stays one value (4 bytes per synapse saved)


def _check_endpoints(pre: Any, post: Any, target: str) -> str:
    if not isinstance(pre, (Population, PoissonGroup, SpikeSource)):
        raise TypeError(f"pre must be a Population, PoissonGroup or SpikeSource, got "
                        f"{type(pre).__name__}")
    if not isinstance(post, Population):
        raise TypeError(f"post must be a Population, got {type(post).__name__}")
    target = check_choice("target", target, TARGETS)
    tau = {"exc": post.tau_exc_s, "inh": post.tau_inh_s}.get(target, 0.0)
    if tau is None:
        raise ValueError(f"target={target!r} needs a synaptic time constant on {post.name!r} "
                         f"(tau_{target}_s), or use target='v' for a jump of v")
    return target


# Building takes more than the final 8 bytes per synapse: int64 pair positions, indices and
# the sort's scratch, about 40 bytes per synapse at the peak.
_BUILD_BYTES_PER_SYNAPSE = 40


def _check_build(n_synapses: float, pre: Source, post: Population) -> None:
    check_fits(n_synapses * _BUILD_BYTES_PER_SYNAPSE,
               f"building about {n_synapses:,.0f} synapses {pre.name!r} -> {post.name!r}")


def _check_plasticity(plasticity: Any) -> Any:
    if plasticity is not None and not isinstance(plasticity, STDP):
        raise TypeError(f"plasticity must be an STDP rule or None, got "
                        f"{type(plasticity).__name__}")
    return plasticity


def _finish(pre, post, pre_idx, post_idx, weight, delay_steps, target, rng,
            plasticity=None) -> Projection:
    order = np.lexsort((post_idx, pre_idx))
    pre_idx, post_idx = pre_idx[order], post_idx[order]
    weights = _weights(weight, len(order), rng)
    delays = _delays(delay_steps, len(order))
    if not callable(weight) and np.ndim(weight) == 1:
        weights = weights[order]
    if np.ndim(delay_steps) == 1:
        delays = delays[order]
    return Projection(pre, post, pre_idx.astype(np.int32), post_idx.astype(np.int32), weights,
                      delays, target, _check_plasticity(plasticity))


def connect_explicit(pre: Source, post: Population, pre_idx: Any, post_idx: Any,
                     weight: WeightSpec = 1.0, *, delay_steps: Any = 0,
                     target: str = "exc", plasticity: Any = None) -> Projection:
    """Synapses from explicit ``(pre_idx[k], post_idx[k])`` pairs with weights and delays."""
    target = _check_endpoints(pre, post, target)
    pre_idx = check_array("pre_idx", pre_idx, ndim=1, kind="iu", dtype=np.int64,
                          allow_empty=True)
    post_idx = check_array("post_idx", post_idx, ndim=1, kind="iu", dtype=np.int64,
                           allow_empty=True)
    if pre_idx.shape != post_idx.shape:
        raise ValueError(f"pre_idx and post_idx must have the same length, got {pre_idx.size} "
                         f"and {post_idx.size}")
    for name, idx, size in (("pre_idx", pre_idx, pre.n), ("post_idx", post_idx, post.n)):
        if idx.size and (idx.min() < 0 or idx.max() >= size):
            raise ValueError(f"{name} must be in [0, {size}), got values from {idx.min()} to "
                             f"{idx.max()}")
    return _finish(pre, post, pre_idx, post_idx, weight, delay_steps, target,
                   np.random.default_rng(0), plasticity)


def connect_dense(pre: Source, post: Population, weights: Any, *, delay_steps: Any = 0,
                  target: str = "exc", plasticity: Any = None) -> Projection:
    """All-to-all synapses with a weight matrix of shape (pre.n, post.n)."""
    target = _check_endpoints(pre, post, target)
    weights = check_array("weights", weights, ndim=2, dtype=np.float64)
    if weights.shape != (pre.n, post.n):
        raise ValueError(f"weights must have shape (pre.n, post.n) = {(pre.n, post.n)}, got "
                         f"{weights.shape}")
    _check_build(weights.size, pre, post)
    pre_idx, post_idx = np.indices(weights.shape).reshape(2, -1)
    return _finish(pre, post, pre_idx, post_idx, weights.reshape(-1), delay_steps, target,
                   np.random.default_rng(0), plasticity)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting (NumPy 2.3's hash-based ``np.unique`` of integers takes
    ~100x longer: 28 s of the 40,000-neuron CUBA network's 30 s build)."""
    values = np.sort(values)
    keep = np.ones(values.shape, bool)
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def connect_fixed_probability(pre: Source, post: Population, p: float,
                              weight: WeightSpec = 1.0, *, delay_steps: Any = 0,
                              target: str = "exc", seed: int = 0,
                              autapses: bool = True, plasticity: Any = None) -> Projection:
    """Each (pre, post) pair is connected independently with probability ``p`` (Brian2's
    ``connect(p=...)``; ``autapses=False`` drops i -> i when ``pre is post``)."""
    target = _check_endpoints(pre, post, target)
    p = check_scalar("p", p, nonnegative=True)
    if p > 1:
        raise ValueError(f"p must be in [0, 1], got {p}")
    rng = np.random.default_rng(seed)
    n_pairs = pre.n * post.n
    _check_build(p * n_pairs, pre, post)
    if p > 0.25:  # dense enough to draw every pair
        flat = np.flatnonzero(rng.random(n_pairs) < p)
    else:  # draw the count, then distinct pair positions (duplicates redrawn)
        count = rng.binomial(n_pairs, p)
        flat = _sorted_unique(rng.integers(0, n_pairs, count))
        while flat.size < count:
            extra = rng.integers(0, n_pairs, count - flat.size)
            flat = _sorted_unique(np.concatenate([flat, extra]))
    pre_idx, post_idx = np.divmod(flat, post.n)
    if not autapses and pre is post:
        keep = pre_idx != post_idx
        pre_idx, post_idx = pre_idx[keep], post_idx[keep]
    return _finish(pre, post, pre_idx, post_idx, weight, delay_steps, target, rng, plasticity)


def _distinct_draws(rng: np.random.Generator, rows: int, k: int, n: int) -> np.ndarray:
    """``rows`` rows of ``k`` distinct integers in [0, n).

    Small ``k`` (``k * (k - 1) <= 2 n``, a row has no repeat with probability >= 1/e): draw and
    redraw the rows with a repeat (the original method; seeds keep their networks). Larger ``k``:
    Floyd's algorithm, compiled, O(k) per row for any k <= n (redrawing whole rows would take
    about exp(k**2 / 2n) tries: for n = 1,000 and k = 200 it never finished).
    """
    if k > n:
        raise ValueError(f"cannot draw {k} distinct neurons out of {n}")
    if k * (k - 1) > 2 * n:
        out = np.empty((rows, k), np.int64)
        distinct_samples(rng.random((rows, k)), n, out)
        return out
    draws = rng.integers(0, n, (rows, k))
    while True:
        sorted_draws = np.sort(draws, axis=1)
        bad = (np.diff(sorted_draws, axis=1) == 0).any(axis=1)
        if not bad.any():
            return draws
        draws[bad] = rng.integers(0, n, (int(bad.sum()), k))


def _fixed_degree(pre: Source, post: Population, k: Any, weight: WeightSpec, delay_steps: Any,
                  target: str, seed: int, *, per_post: bool, plasticity: Any) -> Projection:
    """``k`` distinct partners for every neuron of one side (post: in-degree, pre: out-degree)."""
    target = _check_endpoints(pre, post, target)
    k = check_scalar("k", k, nonnegative=True, integer=True)
    fixed, free = (post, pre) if per_post else (pre, post)
    _check_build(k * fixed.n, pre, post)
    rng = np.random.default_rng(seed)
    drawn = _distinct_draws(rng, fixed.n, k, free.n).reshape(-1)
    repeated = np.repeat(np.arange(fixed.n), k)
    pre_idx, post_idx = (drawn, repeated) if per_post else (repeated, drawn)
    return _finish(pre, post, pre_idx, post_idx, weight, delay_steps, target, rng, plasticity)


def connect_fixed_indegree(pre: Source, post: Population, k: int, weight: WeightSpec = 1.0, *,
                           delay_steps: Any = 0, target: str = "exc",
                           seed: int = 0, plasticity: Any = None) -> Projection:
    """Every postsynaptic neuron receives exactly ``k`` synapses from distinct sources."""
    return _fixed_degree(pre, post, k, weight, delay_steps, target, seed, per_post=True,
                         plasticity=plasticity)


def connect_fixed_outdegree(pre: Source, post: Population, k: int, weight: WeightSpec = 1.0, *,
                            delay_steps: Any = 0, target: str = "exc",
                            seed: int = 0, plasticity: Any = None) -> Projection:
    """Every presynaptic neuron makes exactly ``k`` synapses onto distinct targets."""
    return _fixed_degree(pre, post, k, weight, delay_steps, target, seed, per_post=False,
                         plasticity=plasticity)
