"""``Network``: populations, sources, projections, inputs and monitors, run in compiled code.

``Network.run(duration)`` turns the objects into flat arrays once (:func:`build_arrays`) and
calls the backend's ``network_run`` kernel for chunks of steps; Python runs once per chunk (to
empty monitor buffers and move the progress bar), never once per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.backends import get_backend
from neurosim.network.memory import check_fits, synapse_bytes
from neurosim.network.monitors import RateMonitor, SpikeMonitor, StateMonitor
from neurosim.network.populations import CurrentInput, PoissonGroup, Population, SpikeSource
from neurosim.network.projections import TARGETS, Projection
from neurosim.validation import check_dtype_arg, check_scalar

_MONITOR_CAPACITY = 1 << 20


@dataclass
class NetworkArrays:
    """The flat arrays the kernels work on (see :mod:`neurosim.kernels.cpu_network`)."""

    v: np.ndarray
    ge: np.ndarray
    gi: np.ndarray
    refrac: np.ndarray
    fired: np.ndarray
    fired_words: np.ndarray
    i_bias: np.ndarray
    timed_i: np.ndarray
    pop_bounds: np.ndarray
    pop_f: np.ndarray
    pop_i: np.ndarray
    poisson_p: np.ndarray
    poisson_seed: np.uint64
    gen_ptr: np.ndarray
    gen_idx: np.ndarray
    grp_indptr: np.ndarray
    syn_post: np.ndarray
    syn_w: np.ndarray
    grp_target: np.ndarray
    grp_delay: np.ndarray
    ring: np.ndarray
    slot_dirty: np.ndarray
    spike_list: np.ndarray
    rec_mask: np.ndarray
    n_rec: int
    offsets: dict


class Network:
    """A spiking network simulated with a fixed time step.

    Parameters
    ----------
    dt_s : float
        Time step in seconds.
    dtype : float32 or float64
        Precision of the neuron state (synaptic weights are float32 in any case).
    backend : {"cpu", "cuda", "auto"}
    """

    def __init__(self, dt_s: float = 1e-4, *, dtype: Any = np.float32,
                 backend: str = "cpu") -> None:
        self.dt_s = check_scalar("dt_s", dt_s, positive=True)
        self.dtype = check_dtype_arg(dtype)
        self.backend = backend
        get_backend(backend)
        self.populations: list[Population] = []
        self.poisson: list[PoissonGroup] = []
        self.sources: list[SpikeSource] = []
        self.projections: list[Projection] = []
        self.currents: list[CurrentInput] = []
        self.monitors: list[SpikeMonitor | StateMonitor | RateMonitor] = []
        self.t_steps = 0
        self.arrays: NetworkArrays | None = None
        self.interrupted = False
        self.run_s = 0.0  # seconds spent in the kernel over all runs

    # -- building ------------------------------------------------------------------------------
    def add(self, *objects: Any) -> Network:
        if self.arrays is not None:
            raise RuntimeError("the network has run already: add every object before run()")
        kinds = ((Population, self.populations), (PoissonGroup, self.poisson),
                 (SpikeSource, self.sources), (Projection, self.projections),
                 (CurrentInput, self.currents),
                 ((SpikeMonitor, StateMonitor, RateMonitor), self.monitors))
        for obj in objects:
            for kind, bucket in kinds:
                if isinstance(obj, kind):
                    if not any(obj is other for other in bucket):
                        bucket.append(obj)
                    break
            else:
                raise TypeError(f"cannot add a {type(obj).__name__} to a Network")
        return self

    def _check_membership(self) -> None:
        groups = self.populations + self.poisson + self.sources

        def known(group: Any) -> bool:
            return any(group is g for g in groups)

        for proj in self.projections:
            if not (known(proj.pre) and known(proj.post)):
                raise ValueError(f"a projection {proj.pre.name!r} -> {proj.post.name!r} "
                                 "connects a group that was not added to the network")
        for mon in self.monitors:
            group = getattr(mon, "source", None) or getattr(mon, "population", None)
            if not known(group):
                raise ValueError(f"a {type(mon).__name__} watches a group that was not added")
        for cur in self.currents:
            if not known(cur.target):
                raise ValueError("a CurrentInput targets a population that was not added")

    @property
    def n_neurons(self) -> int:
        return sum(p.n for p in self.populations)

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections)

    def memory_estimate(self) -> int:
        """Bytes the simulation arrays will take (synapses, state, ring buffer, row pointers)."""
        n = self.n_neurons
        n_src = n + sum(g.n for g in self.poisson) + sum(g.n for g in self.sources)
        keys = {(p.target, int(d)) for p in self.projections for d in np.unique(p.delay_steps)}
        depth = max([d for _, d in keys], default=0) + 1
        item = self.dtype.itemsize
        return int(synapse_bytes(self.n_synapses, n_src, max(len(keys), 1))
                   + n * (4 * item + 4 + 1) + depth * 3 * n * item + n_src * 5)

    def build(self) -> NetworkArrays:
        """Flatten every object into kernel arrays (done once, at the first run)."""
        if self.arrays is not None:
            return self.arrays
        if not self.populations:
            raise ValueError("the network has no Population of neurons")
        self._check_membership()
        check_fits(self.memory_estimate(), "this network")
        self.arrays = build_arrays(self)
        return self.arrays

    # -- running -------------------------------------------------------------------------------
    def run(self, duration_s: float, *, progress: bool = True,
            chunk_steps: int = 2000) -> Network:
        """Advance the network by ``duration_s`` (a whole number of steps).

        A Ctrl-C stops the run between chunks; the monitors keep what they recorded up to
        there, ``interrupted`` is set, and the ``KeyboardInterrupt`` propagates.
        """
        duration_s = check_scalar("duration_s", duration_s, positive=True)
        n_steps = int(round(duration_s / self.dt_s))
        if n_steps == 0 or not math.isclose(n_steps * self.dt_s, duration_s, rel_tol=1e-9,
                                            abs_tol=1e-12):
            raise ValueError(f"duration_s must be a positive multiple of dt_s={self.dt_s}, got "
                             f"{duration_s}")
        chunk_steps = check_scalar("chunk_steps", chunk_steps, positive=True, integer=True)
        arrays = self.build()
        max_delay = int(arrays.grp_delay.max(initial=0))
        if max_delay >= n_steps + self.t_steps:
            raise ValueError(f"a synaptic delay of {max_delay} steps is longer than the run "
                             f"({n_steps + self.t_steps} steps)")
        from neurosim.network.runner import run_chunks

        run_chunks(self, arrays, n_steps, progress=progress, chunk_steps=chunk_steps)
        return self

    # -- views of the state ---------------------------------------------------------------------
    def state_of(self, population: Population) -> dict[str, np.ndarray]:
        """Current ``v``, ``ge``, ``gi`` and refractory counters of a population (copies)."""
        arrays = self.build()
        lo = arrays.offsets[id(population)]
        sl = slice(lo, lo + population.n)
        return {"v": arrays.v[sl].copy(), "ge": arrays.ge[sl].copy(), "gi": arrays.gi[sl].copy(),
                "refractory": arrays.refrac[sl].copy()}


def build_arrays(net: Network) -> NetworkArrays:
    dtype, dt = net.dtype, net.dt_s
    offsets: dict[int, int] = {}
    start = 0
    for group in net.populations + net.poisson + net.sources:
        offsets[id(group)] = start
        start += group.n
    n = net.n_neurons
    n_sources = start
    n_poisson = sum(g.n for g in net.poisson)

    bounds = np.cumsum([0] + [p.n for p in net.populations]).astype(np.int64)
    pop_f = np.empty((len(net.populations), 10), dtype)
    pop_i = np.empty((len(net.populations), 3), np.int64)
    for k, pop in enumerate(net.populations):
        prm = pop.params
        decay_m = math.exp(-dt / prm.tau_m_s) if prm.leaky else 1.0
        k_e, k_i, d_e, d_i = pop.synapse_constants(dt)
        pop_f[k] = (prm.v_th, prm.v_reset, prm.v_rest, prm.r_m, decay_m,
                    prm.r_m * dt / prm.tau_m_s, k_e, k_i, d_e, d_i)
        pop_i[k] = (prm.leaky, prm.reset == "subtract", prm.refractory_steps(dt))
    v = np.concatenate([p.v0 for p in net.populations]).astype(dtype)
    i_bias = np.concatenate([p.i_bias for p in net.populations]).astype(dtype)

    timed_len = max([c.values.shape[0] for c in net.currents], default=0)
    timed_i = np.zeros((timed_len, n), dtype)
    for cur in net.currents:
        lo = offsets[id(cur.target)]
        vals = cur.values
        padded = np.concatenate([vals, np.repeat(vals[-1:], timed_len - len(vals), axis=0)])
        timed_i[:, lo:lo + cur.target.n] += padded

    seeds = {g.seed for g in net.poisson}
    if len(seeds) > 1:
        raise ValueError("all PoissonGroups of a network must share one seed (streams differ by "
                         "source index already)")
    poisson_p = np.concatenate([g.rate_hz * dt for g in net.poisson] or [np.zeros(0)])
    if (poisson_p > 1).any():
        raise ValueError(f"a Poisson rate of {poisson_p.max() / dt:.0f} Hz exceeds 1/dt_s")

    gen_steps, gen_idx = [], []
    for src in net.sources:
        steps = np.rint(src.times_s / dt).astype(np.int64)
        if not np.allclose(steps * dt, src.times_s, rtol=0, atol=1e-6 * dt + 1e-12):
            raise ValueError(f"spike times of {src.name!r} must lie on the time grid (multiples "
                             f"of dt_s={dt})")
        gen_steps.append(steps)
        gen_idx.append(src.indices + offsets[id(src)] - n - n_poisson)
    gen_steps_all = np.concatenate(gen_steps or [np.zeros(0, np.int64)])
    gen_idx_all = np.concatenate(gen_idx or [np.zeros(0, np.int64)])
    order = np.argsort(gen_steps_all, kind="stable")
    n_gen_steps = int(gen_steps_all.max(initial=-1)) + 1
    gen_ptr = np.zeros(n_gen_steps + 1, np.int64)
    np.add.at(gen_ptr, gen_steps_all + 1, 1)
    gen_ptr = np.cumsum(gen_ptr)

    grp_indptr, syn_post, syn_w, grp_target, grp_delay = _synapse_groups(net, offsets,
                                                                          n_sources)
    depth = int(grp_delay.max(initial=0)) + 1
    rec_mask = np.zeros(n_sources, np.uint8)
    for mon in net.monitors:
        if isinstance(mon, SpikeMonitor):
            rec_mask[offsets[id(mon.source)] + mon.recorded] = 1
    fired = np.zeros(-(-max(n, 1) // 8) * 8, np.uint8)
    return NetworkArrays(
        v=v, ge=np.zeros(n, dtype), gi=np.zeros(n, dtype), refrac=np.zeros(n, np.int32),
        fired=fired, fired_words=fired.view(np.uint64), i_bias=i_bias, timed_i=timed_i,
        pop_bounds=bounds, pop_f=pop_f, pop_i=pop_i, poisson_p=poisson_p,
        poisson_seed=np.uint64(seeds.pop() if seeds else 0), gen_ptr=gen_ptr,
        gen_idx=gen_idx_all[order].astype(np.int32), grp_indptr=grp_indptr, syn_post=syn_post,
        syn_w=syn_w, grp_target=grp_target, grp_delay=grp_delay,
        ring=np.zeros((depth, 3, n), dtype), slot_dirty=np.zeros((depth, 3), np.uint8),
        spike_list=np.zeros(n_sources, np.int32), rec_mask=rec_mask,
        n_rec=int(rec_mask.sum()), offsets=offsets)


def _synapse_groups(net: Network, offsets: dict, n_sources: int):
    """Merge every projection into CSR groups keyed by (target, delay)."""
    keys = sorted({(TARGETS.index(p.target), int(d)) for p in net.projections
                   for d in np.unique(p.delay_steps)})
    key_index = {key: g for g, key in enumerate(keys)}
    group_of, pre, post, weight = [], [], [], []
    for proj in net.projections:
        delays = np.broadcast_to(proj.delay_steps, proj.post_idx.shape)
        codes = np.array([key_index[(TARGETS.index(proj.target), int(d))] for d in
                          np.unique(delays)])
        lookup = dict(zip(np.unique(delays).tolist(), codes.tolist()))
        group_of.append(np.vectorize(lookup.get, otypes=[np.int64])(delays)
                        if len(lookup) > 1 else np.full(delays.shape, codes[0], np.int64))
        pre.append(proj.pre_idx.astype(np.int64) + offsets[id(proj.pre)])
        post.append(proj.post_idx.astype(np.int64) + offsets[id(proj.post)])
        weight.append(proj.weight)
    n_groups = len(keys)
    if not n_groups:
        return (np.zeros((0, n_sources + 1), np.int64), np.zeros(0, np.int32),
                np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64))
    group_of = np.concatenate(group_of)
    pre = np.concatenate(pre)
    order = np.lexsort((pre, group_of))
    counts = np.bincount(group_of * n_sources + pre, minlength=n_groups * n_sources)
    indptr = np.zeros((n_groups, n_sources + 1), np.int64)
    flat_cum = np.cumsum(counts)
    indptr[:, 1:] = flat_cum.reshape(n_groups, n_sources)
    indptr[1:, 0] = indptr[:-1, -1]
    syn_post = np.concatenate(post)[order].astype(np.int32)
    syn_w = np.concatenate(weight)[order].astype(np.float32)
    return (indptr, syn_post, syn_w, np.array([k[0] for k in keys], np.int64),
            np.array([k[1] for k in keys], np.int64))
