"""Spike-timing-dependent plasticity rules for projections, and the records the kernels learn
with (:class:`~neurosim.kernels.records.Plasticity`).

A projection learns when it is built with ``plasticity=STDP(...)`` (every ``connect_*``
function takes it). The update equations are in :mod:`neurosim.kernels.scalar_plasticity`;
the order of events within a step is Brian2's (:mod:`neurosim.kernels.cpu_plasticity`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.checks import check_choice, check_scalar
from neurosim.kernels.records import Plasticity

_TARGETS = ("exc", "inh", "v")
#: The per-projection columns of the Plasticity record and their types: the rule's
#: (:meth:`STDP.constants`, float64 unless listed) and where the projection sits.
_PROJECTION_COLUMNS = {
    "decay_pre": np.float64, "decay_post": np.float64, "decay_x": np.float64,
    "decay_y": np.float64, "a_plus": np.float64, "a_minus": np.float64, "a3_plus": np.float64,
    "a3_minus": np.float64, "w_min": np.float64, "w_max": np.float64,
    "multiplicative": np.uint8, "nearest": np.uint8, "pre_lo": np.int64, "pre_hi": np.int64,
    "post_lo": np.int64, "post_hi": np.int64, "pre_base": np.int64, "post_base": np.int64,
    "target": np.int64, "enabled": np.uint8}


@dataclass(frozen=True)
class STDP:
    """Pair-based or triplet STDP with exponential traces (Pfister & Gerstner 2006).

    Parameters
    ----------
    tau_pre_s, tau_post_s : float
        Time constants of the presynaptic trace ``r1`` and the postsynaptic trace ``o1``.
    a_plus, a_minus : float
        Pair terms (>= 0): a postsynaptic spike adds ``a_plus * r1`` to the weight; a
        presynaptic spike, when it arrives, subtracts ``a_minus * o1``.
    w_min, w_max : float
        Weight bounds (``w_min < w_max``); weights are clipped to them.
    weight_dependence : {"additive", "multiplicative"}
        ``"multiplicative"`` (soft bounds) scales potentiation by ``w_max - w`` and
        depression by ``w - w_min``.
    traces : {"all-to-all", "nearest"}
        A spike adds 1 to its trace (every pair of spikes interacts) or sets it to 1 (only
        the nearest spike counts).
    tau_x_s, tau_y_s : float, optional
        Slow presynaptic (``r2``) and postsynaptic (``o2``) traces of the triplet rule.
    a3_plus, a3_minus : float
        Triplet terms: potentiation ``a3_plus * r1 * o2`` (``o2`` just before the
        postsynaptic spike), depression ``a3_minus * o1 * r2`` (``r2`` just before the
        presynaptic spike). Need ``tau_y_s`` and ``tau_x_s`` respectively.

    Examples
    --------
    Song, Miller & Abbott (2000) as in Brian2's STDP example (``gmax = 0.01``)::

        STDP(a_plus=0.01 * gmax, a_minus=0.0105 * gmax, w_max=gmax)

    Diehl & Cook (2015), input to excitatory neurons::

        STDP(tau_y_s=0.04, a_plus=0.0, a3_plus=0.01, a_minus=0.0001, traces="nearest")
    """

    tau_pre_s: float = 0.020
    tau_post_s: float = 0.020
    a_plus: float = 0.01
    a_minus: float = 0.0105
    w_min: float = 0.0
    w_max: float = 1.0
    weight_dependence: str = "additive"
    traces: str = "all-to-all"
    tau_x_s: float | None = None
    tau_y_s: float | None = None
    a3_plus: float = 0.0
    a3_minus: float = 0.0

    def __post_init__(self) -> None:
        for name in ("tau_pre_s", "tau_post_s"):
            check_scalar(name, getattr(self, name), positive=True)
        for name in ("tau_x_s", "tau_y_s"):
            if getattr(self, name) is not None:
                check_scalar(name, getattr(self, name), positive=True)
        for name in ("a_plus", "a_minus", "a3_plus", "a3_minus"):
            check_scalar(name, getattr(self, name), nonnegative=True)
        w_min = check_scalar("w_min", self.w_min)
        w_max = check_scalar("w_max", self.w_max)
        if not w_min < w_max:
            raise ValueError(f"w_min must be below w_max, got {w_min} and {w_max}")
        check_choice("weight_dependence", self.weight_dependence, ("additive", "multiplicative"))
        check_choice("traces", self.traces, ("all-to-all", "nearest"))
        if self.a3_plus > 0 and self.tau_y_s is None:
            raise ValueError("a3_plus > 0 needs tau_y_s (the slow postsynaptic trace)")
        if self.a3_minus > 0 and self.tau_x_s is None:
            raise ValueError("a3_minus > 0 needs tau_x_s (the slow presynaptic trace)")

    def constants(self, dt_s: float) -> dict[str, float]:
        """The rule for time step ``dt_s``, as the columns of
        :class:`~neurosim.kernels.records.Plasticity` hold it."""

        def decay(tau: float | None) -> float:
            return math.exp(-dt_s / tau) if tau is not None else 0.0

        return {"decay_pre": decay(self.tau_pre_s), "decay_post": decay(self.tau_post_s),
                "decay_x": decay(self.tau_x_s), "decay_y": decay(self.tau_y_s),
                "a_plus": self.a_plus, "a_minus": self.a_minus, "a3_plus": self.a3_plus,
                "a3_minus": self.a3_minus, "w_min": self.w_min, "w_max": self.w_max,
                "multiplicative": self.weight_dependence == "multiplicative",
                "nearest": self.traces == "nearest"}


def plastic_projections(net: Any) -> list:
    """The network's projections that learn, in the order of its projections."""
    return [p for p in net.projections if getattr(p, "plasticity", None) is not None]


def build_plasticity(net: Any, offsets: dict, n_sources: int, spike_width: int
                     ) -> tuple[Plasticity, dict]:
    """The :class:`Plasticity` record of ``net`` and, per plastic projection
    (``id(projection)``), the position of each of its synapses in the record's arrays (so
    weights can be read back in the projection's own order)."""
    projections = plastic_projections(net)
    if projections and net.accumulate == "exact":
        raise ValueError("plastic projections need accumulate='float' (their weights change "
                         "and cannot be fixed integer multiples of one unit)")
    columns: dict[str, list] = {name: [] for name in _PROJECTION_COLUMNS}
    lanes: list[tuple[int, int]] = []
    pre_base = post_base = 0
    syn_keys, syn_post, syn_pre_slot, syn_delay, syn_weight, syn_q = [], [], [], [], [], []
    for q, proj in enumerate(projections):
        rule = proj.plasticity.constants(net.dt_s)
        for name, value in rule.items():
            columns[name].append(value)
        pre_lo, post_lo = offsets[id(proj.pre)], offsets[id(proj.post)]
        for name, value in (("pre_lo", pre_lo), ("pre_hi", pre_lo + proj.pre.n),
                            ("post_lo", post_lo), ("post_hi", post_lo + proj.post.n),
                            ("pre_base", pre_base), ("post_base", post_base),
                            ("target", _TARGETS.index(proj.target)), ("enabled", 1)):
            columns[name].append(value)
        delays = np.broadcast_to(np.asarray(proj.delay_steps, np.int64),
                                 proj.post_idx.shape)
        for d in np.unique(delays):
            lanes.append((q, int(d)))
        syn_q.append(np.full(proj.n_synapses, q))
        syn_delay.append(delays)
        syn_keys.append(proj.pre_idx.astype(np.int64) + pre_lo)
        syn_post.append(proj.post_idx.astype(np.int64) + post_lo)
        syn_pre_slot.append(proj.pre_idx.astype(np.int64) + pre_base)
        syn_weight.append(np.asarray(proj.weight, np.float64))
        pre_base += proj.pre.n
        post_base += proj.post.n
    q_all = np.concatenate(syn_q or [np.zeros(0, np.int64)]).astype(np.int64)
    delay_all = np.concatenate(syn_delay or [np.zeros(0, np.int64)])
    source_all = np.concatenate(syn_keys or [np.zeros(0, np.int64)])
    lane_keys = np.array([q * 2**32 + d for q, d in lanes], np.int64)  # ascending
    lane_of = np.searchsorted(lane_keys, q_all * 2**32 + delay_all).astype(np.int64)
    order = np.lexsort((source_all, lane_of))  # CSR: by lane, then by source (stable)
    counts = np.bincount(lane_of * n_sources + source_all, minlength=len(lanes) * n_sources)
    indptr = np.zeros((len(lanes), n_sources + 1), np.int64)
    indptr[:, 1:] = np.cumsum(counts).reshape(len(lanes), n_sources)
    if len(lanes):
        indptr[1:, 0] = indptr[:-1, -1]
    post = np.concatenate(syn_post or [np.zeros(0, np.int64)])[order]
    pre_slot = np.concatenate(syn_pre_slot or [np.zeros(0, np.int64)])[order]
    weight = np.concatenate(syn_weight or [np.zeros(0)])[order]
    post_slot = post - np.array(columns["post_lo"] or [0], np.int64)[q_all[order]] \
        + np.array(columns["post_base"] or [0], np.int64)[q_all[order]]
    post_syn = np.argsort(post_slot, kind="stable")
    post_ptr = np.zeros(post_base + 1, np.int64)
    post_ptr[1:] = np.cumsum(np.bincount(post_slot, minlength=post_base))
    depth = int(delay_all.max(initial=0)) + 2
    scalars = {name: np.array(values, _PROJECTION_COLUMNS[name])
               for name, values in columns.items()}
    record = Plasticity(
        **scalars,
        lane_q=np.array([q for q, _ in lanes], np.int64),
        lane_delay=np.array([d for _, d in lanes], np.int64), indptr=indptr,
        post=post.astype(np.int32), pre_slot=pre_slot.astype(np.int32),
        delay=delay_all[order].astype(np.int32), weight=weight, post_ptr=post_ptr,
        post_syn=post_syn.astype(np.int64), pre1=np.zeros((depth, pre_base)),
        pre2=np.zeros((depth, pre_base)), post1=np.zeros(post_base),
        post2=np.zeros(post_base), spike_hist=np.zeros((depth, spike_width), np.int32),
        hist_count=np.zeros(depth, np.int64))
    # where each projection's synapses went: positions in the record, in projection order
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    starts = np.cumsum([0] + [p.n_synapses for p in projections])
    index = {id(p): position[starts[k]:starts[k + 1]] for k, p in enumerate(projections)}
    return record, index

