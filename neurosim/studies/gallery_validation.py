"""The model gallery validated against Brian2: each model runs in neurosim and in Brian2's own
formulation of it (:mod:`neurosim.studies.brian2_gallery`, Brian2's ``CUBA`` example in
:mod:`neurosim.studies.peer_benchmarks`) with the same size, duration, time step (0.1 ms) and
float type, for several seeds; the same statistics
(:func:`neurosim.gallery.stats.spike_statistics`: mean rate, synchrony = CV of the 1 ms
population histogram, mean CV of inter-spike intervals) are read from both over the same window
(after ``transient_s``), averaged over the seeds and compared within :data:`TOLERANCES`.

The two sides share no random numbers (connectivity, Poisson drive and initial state are drawn
by each simulator from its own seed), so the comparison is statistical; each side's per-seed
``min``/``max``/``std`` is reported next to its mean (Brian2's own seed-to-seed variation).
Exceptions: CUBA, where Brian2's example runs on neurosim's network for each seed (as the CUBA
benchmark does; the strict spike-for-spike check is :mod:`neurosim.studies.brian2_crosscheck`),
and COBA with ``network="shared"`` or ``"generators"`` (:func:`validate_coba`).

Tolerances (issue 13): Brunel's regimes: mean rate within 10 % of Brian2's (15 % in the slow
regime D), synchrony within max(0.1, 15 % of Brian2's), CV ISI within 0.1 (absolute); COBA and
CUBA: mean rate within 5 % (synchrony and CV ISI reported, not judged).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from neurosim.checks import check_choice, check_dtype_arg, check_scalar

STATS = ("rate_hz", "synchrony", "cv_isi")
STAT_LABELS = {"rate_hz": "rate (Hz)", "synchrony": "synchrony", "cv_isi": "CV ISI"}


class Tolerance(NamedTuple):
    """``|neurosim - Brian2| <= max(absolute, relative * |Brian2|)`` on seed means."""

    absolute: float = 0.0
    relative: float = 0.0

    def limit(self, reference: float) -> float:
        return max(self.absolute, self.relative * abs(reference))

    def describe(self) -> str:
        rel = f"{self.relative:.0%} of Brian2's"
        if self.absolute and self.relative:
            return f"max({self.absolute:g}, {rel})"
        return rel if self.relative else f"{self.absolute:g}"


_BRUNEL = {"rate_hz": Tolerance(relative=0.10), "synchrony": Tolerance(0.1, 0.15),
           "cv_isi": Tolerance(absolute=0.1)}
#: model (or ``brunel2000_<regime>``) -> statistic -> tolerance; statistics without one are
#: reported, not judged.
TOLERANCES: dict[str, dict[str, Tolerance]] = {
    "brunel2000": _BRUNEL,
    "brunel2000_D": {**_BRUNEL, "rate_hz": Tolerance(relative=0.15)},
    "coba": {"rate_hz": Tolerance(relative=0.05)},
    "cuba": {"rate_hz": Tolerance(relative=0.05)},
}
TARGETS = ("numpy", "cpp_standalone")
DT_S = 1e-4  # every model here, both sides


class SpikeRecord(NamedTuple):
    """One run's spikes (int64 steps and global indices, excitatory neurons first) and the
    window its statistics were read from (steps ``[start_step, n_steps)``)."""

    steps: np.ndarray
    indices: np.ndarray
    n_neurons: int
    n_steps: int
    dt_s: float
    start_step: int


class _Run(NamedTuple):
    spikes: SpikeRecord
    run_s: float
    build_s: float | None


def _summary(per_seed: list[dict]) -> dict:
    """Seed mean, min, max and std (ddof=0) of each statistic, plus the per-seed rows."""
    out: dict[str, Any] = {"per_seed": per_seed}
    for name, fn in (("mean", np.mean), ("min", np.min), ("max", np.max), ("std", np.std)):
        out[name] = {s: float(fn([row[s] for row in per_seed])) for s in STATS}
    return out


def compare(neurosim: dict, brian2: dict, tolerances: dict[str, Tolerance]) -> dict:
    """Judge the seed means of two :func:`_summary` results: one entry per statistic with both
    means, ``difference`` (neurosim - Brian2), ``relative_difference`` (over Brian2's),
    ``tolerance`` (text), ``limit`` and ``passed`` (None when the statistic is not judged;
    False when either mean is NaN)."""
    criteria = {}
    for stat in STATS:
        ours, ref = neurosim["mean"][stat], brian2["mean"][stat]
        diff = ours - ref
        tol = tolerances.get(stat)
        entry = {"neurosim": ours, "brian2": ref, "difference": diff,
                 "relative_difference": diff / ref if ref else math.nan,
                 "tolerance": tol.describe() if tol else None,
                 "limit": tol.limit(ref) if tol else None, "passed": None}
        if tol is not None:
            entry["passed"] = bool(abs(diff) <= tol.limit(ref))  # NaN compares False
        criteria[stat] = entry
    return criteria


def _stats(record: SpikeRecord) -> dict:
    from neurosim.gallery.stats import spike_statistics

    return spike_statistics(record.steps, record.indices, record.n_neurons, record.n_steps,
                            record.dt_s, start_step=record.start_step)


def _compare_model(params: dict, seeds: tuple[int, ...],
                   neurosim_run: Callable[[int], _Run], brian2_run: Callable[[int], _Run],
                   tolerances: dict[str, Tolerance], keep_spikes: bool,
                   log: Callable[[str], None] | None) -> dict:
    sides: dict[str, list] = {"neurosim": [], "brian2": []}
    kept = {}
    for seed in seeds:
        for side, fn in (("neurosim", neurosim_run), ("brian2", brian2_run)):
            run = fn(seed)
            stats = _stats(run.spikes)
            row = {"seed": seed, **{k: stats[k] for k in (*STATS, "n_spikes", "n_cv_neurons",
                                                          "fraction_active")},
                   "run_s": run.run_s}
            if run.build_s is not None:
                row["build_s"] = run.build_s
            sides[side].append(row)
            if keep_spikes and side not in kept:
                kept[side] = run.spikes
            if log:
                log(f"{params['label']} seed {seed} {side}: " + ", ".join(
                    f"{k} {stats[k]:.4g}" for k in STATS) + f" ({run.run_s:.1f} s)")
    summaries = {side: _summary(rows) for side, rows in sides.items()}
    criteria = compare(summaries["neurosim"], summaries["brian2"], tolerances)
    judged = [c["passed"] for c in criteria.values() if c["passed"] is not None]
    result = {**params, "seeds": list(seeds), **summaries, "criteria": criteria,
              "passed": all(judged)}
    if keep_spikes:
        result["spikes"] = kept
    return result


def _check_common(duration_s: Any, transient_s: Any, seeds: Any, dtype: Any) -> tuple:
    duration_s = check_scalar("duration_s", duration_s, positive=True)
    transient_s = check_scalar("transient_s", transient_s, nonnegative=True)
    if transient_s + 1e-3 > duration_s:
        raise ValueError(f"transient_s ({transient_s}) must leave at least 1 ms of the run "
                         f"(duration_s = {duration_s})")
    seeds = tuple(check_scalar("seed", s, nonnegative=True, integer=True) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    return duration_s, transient_s, seeds, check_dtype_arg(dtype)


def _as_run(run: Any, transient_s: float) -> _Run:
    """A neurosim ``ModelRun`` or a ``Brian2Run`` (whose ``build_s`` is kept) as a _Run."""
    start = int(round(transient_s / run.dt_s))
    return _Run(SpikeRecord(run.steps, run.indices, run.n_neurons, run.n_steps, run.dt_s,
                            start), run.run_s, getattr(run, "build_s", None))


def _neurosim(name: str, duration_s: float, transient_s: float, **params: Any) -> _Run:
    from neurosim.gallery import simulate

    return _as_run(simulate(name, duration_s=duration_s, transient_s=transient_s, **params),
                   transient_s)


def validate_brunel(regimes: str | Sequence[str] = "ABCD", *, scale: float = 0.2,
                    duration_s: float = 0.5, transient_s: float = 0.1,
                    seeds: Sequence[int] = (0, 1), target: str | dict[str, str] = "numpy",
                    dtype: Any = np.float64, keep_spikes: bool = False,
                    log: Callable[[str], None] | None = None) -> dict:
    """Brunel (2000)'s regimes (letters of :data:`neurosim.gallery.brunel.REGIMES`) in neurosim
    (``brunel2000``) and Brian2 (its ``Brunel_2000.py``), both at ``scale`` (N_E = 10,000
    scale), ``duration_s`` seconds, statistics after ``transient_s``, each seed once per side.

    Returns ``{"model", "settings", "regimes": {letter: entry}, "passed"}``; an entry holds
    ``g``, ``nu_ratio``, ``n_neurons``, ``neurosim`` and ``brian2`` (``per_seed`` rows with the
    statistics, ``run_s`` and for Brian2 ``build_s``; ``mean``/``min``/``max``/``std`` over
    seeds), ``criteria`` (:func:`compare`) and ``passed``; with ``keep_spikes`` also
    ``spikes``: the first seed's :class:`SpikeRecord` of each side (not JSON: see
    :func:`without_spikes`). ``target``: Brian2's (``numpy`` or ``cpp_standalone``), or one
    per regime (``{"A": "cpp_standalone", "B": "numpy", ...}``: compilation pays off only for
    the busiest runs); ``dtype``: both sides' float type. ``log`` gets one line per run.
    """
    from neurosim.gallery.brunel import REGIMES, sizes
    from neurosim.studies.brian2_gallery import brian2_brunel

    letters = list(regimes)
    for letter in letters:
        check_choice("regime", letter, tuple(REGIMES))
    if not letters or len(set(letters)) != len(letters):
        raise ValueError(f"regimes must be distinct letters of {''.join(REGIMES)}, "
                         f"got {regimes!r}")
    scale = check_scalar("scale", scale, positive=True)
    targets = {k: check_choice("target", target if isinstance(target, str) else target.get(k),
                               TARGETS) for k in letters}
    duration_s, transient_s, seeds, dtype = _check_common(duration_s, transient_s, seeds, dtype)
    size = sizes(scale)
    settings = {"scale": scale, "duration_s": duration_s, "transient_s": transient_s,
                "seeds": list(seeds), "target": targets, "dtype": dtype.name}
    out = {}
    for letter in letters:
        g, nu_ratio = REGIMES[letter]
        params = {"label": f"brunel2000 {letter}", "regime": letter, "g": g,
                  "nu_ratio": nu_ratio, "n_neurons": size["n_exc"] + size["n_inh"],
                  "target": targets[letter]}
        out[letter] = _compare_model(
            params, seeds,
            lambda seed, g=g, nu=nu_ratio: _neurosim(
                "brunel2000", duration_s, transient_s, g=g, nu_ratio=nu, scale=scale,
                seed=seed, dtype=dtype),
            lambda seed, g=g, nu=nu_ratio, on=targets[letter]: _as_run(brian2_brunel(
                g, nu, scale=scale, duration_s=duration_s, seed=seed, target=on,
                dtype=dtype), transient_s),
            TOLERANCES.get(f"brunel2000_{letter}", TOLERANCES["brunel2000"]), keep_spikes, log)
    return {"model": "brunel2000", "settings": settings, "regimes": out,
            "passed": all(entry["passed"] for entry in out.values())}


def _brian2_timed(model: Callable[[], Any], n: int, duration_s: float, transient_s: float,
                  target: str, dtype: np.dtype) -> _Run:
    """Run ``model`` (builds and runs a Brian2 network, returns its SpikeMonitor) on
    ``target``. ``run_s``: the standalone binary's own run time, or on numpy the wall time of
    building and running; ``build_s``: the rest (standalone) or None (numpy)."""
    import time

    from neurosim.studies.brian2_gallery import _brian2_target

    with _brian2_target(target, dtype) as binary_times:
        start = time.perf_counter()
        monitor = model()
        steps = np.rint(np.asarray(monitor.t_[:], dtype=np.float64) / DT_S).astype(np.int64)
        indices = np.asarray(monitor.i[:], dtype=np.int64)
        wall = time.perf_counter() - start
        own = binary_times()  # None on numpy, else [the binary's run time]
    order = np.lexsort((indices, steps))
    record = SpikeRecord(steps[order], indices[order], n, int(round(duration_s / DT_S)), DT_S,
                         int(round(transient_s / DT_S)))
    return _Run(record, wall if own is None else own[0], None if own is None else wall - own[0])


def _brian2_coba_shared(n: int, duration_s: float, transient_s: float, seed: int,
                        target: str, dtype: np.dtype) -> _Run:
    """Brian's classic ``COBA.py`` (the equations of
    :func:`~neurosim.studies.brian2_gallery.brian2_coba`) on neurosim's network for ``seed``
    (``connect(i=..., j=...)``, the same initial v, g_e, g_i)."""
    import brian2
    from brian2 import Network, SpikeMonitor, Synapses, mV, second

    from neurosim.studies.brian2_gallery import coba_group
    from neurosim.studies.coba_networks import neurosim_draw

    arrays = neurosim_draw(n, seed)

    def model():
        brian2.start_scope()
        brian2.defaultclock.dt = DT_S * second
        P, namespace = coba_group(n)
        Ce = Synapses(P, P, on_pre="ge += we", namespace=namespace)
        Ci = Synapses(P, P, on_pre="gi += wi", namespace=namespace)
        Ce.connect(i=arrays["exc_i"], j=arrays["exc_j"])
        Ci.connect(i=arrays["inh_i"], j=arrays["inh_j"])
        P.v = arrays["v0"] * mV
        P.ge = arrays["ge0"]
        P.gi = arrays["gi0"]
        monitor = SpikeMonitor(P)
        Network(P, Ce, Ci, monitor).run(duration_s * second)
        return monitor

    return _brian2_timed(model, n, duration_s, transient_s, target, dtype)


def _neurosim_on_drawn(n: int, duration_s: float, transient_s: float, seed: int,
                       drawn_by: str, dtype: np.dtype) -> _Run:
    """neurosim's COBA on the network that ``drawn_by`` ("neurosim" or "brian2") draws for
    ``seed`` (:mod:`neurosim.studies.coba_networks`)."""
    from neurosim.studies import coba_networks

    draw = coba_networks.neurosim_draw if drawn_by == "neurosim" else coba_networks.brian2_draw
    steps, indices, run_s = coba_networks.neurosim_on(draw(n, seed), duration_s, dtype=dtype)
    n_steps = int(round(duration_s / DT_S))
    return _Run(SpikeRecord(steps, indices, n, n_steps, DT_S, int(round(transient_s / DT_S))),
                run_s, None)


COBA_NETWORKS = {"independent": "coba", "shared": "coba (shared network)",
                 "generators": "coba (the two network generators, both run by neurosim)"}


def validate_coba(n: int = 4000, *, duration_s: float = 1.0, transient_s: float = 0.1,
                  seeds: Sequence[int] = (0, 1), target: str = "numpy", dtype: Any = np.float64,
                  network: str = "independent", keep_spikes: bool = False,
                  log: Callable[[str], None] | None = None) -> dict:
    """The COBA network of ``n`` neurons in neurosim (``coba``) and in Brian2 as its classic
    ``COBA.py``; one entry as in :func:`validate_brunel` plus ``model`` and ``settings``;
    rates judged within 5 %. ``network`` (:data:`COBA_NETWORKS`):

    - ``"independent"``: Brian2 draws its own connectivity and initial state
      (:func:`~neurosim.studies.brian2_gallery.brian2_coba`);
    - ``"shared"``: Brian2 runs on neurosim's network for each seed, which removes the
      network-to-network spread of the rate (about 7 % per seed at n = 4,000) and leaves the
      dynamics alone to compare;
    - ``"generators"``: the other half, the networks alone: neurosim runs both on its own
      network and on the one Brian2's ``COBA.py`` draws for the seed (Brian2 draws, does not
      simulate; ``target`` unused). Its "brian2" side is neurosim on Brian2's networks.
    """
    from neurosim.studies.brian2_gallery import brian2_coba

    n = check_scalar("n", n, positive=True, integer=True)
    network = check_choice("network", network, tuple(COBA_NETWORKS))
    target = check_choice("target", target, TARGETS)
    duration_s, transient_s, seeds, dtype = _check_common(duration_s, transient_s, seeds, dtype)
    settings = {"n": n, "duration_s": duration_s, "transient_s": transient_s,
                "seeds": list(seeds), "target": target, "dtype": dtype.name,
                "network": network}

    def neurosim_run(seed: int) -> _Run:
        if network == "generators":
            return _neurosim_on_drawn(n, duration_s, transient_s, seed, "neurosim", dtype)
        return _neurosim("coba", duration_s, transient_s, n=n, seed=seed, dtype=dtype)

    def brian2_run(seed: int) -> _Run:
        if network == "generators":
            return _neurosim_on_drawn(n, duration_s, transient_s, seed, "brian2", dtype)
        if network == "shared":
            return _brian2_coba_shared(n, duration_s, transient_s, seed, target, dtype)
        return _as_run(brian2_coba(n, duration_s=duration_s, seed=seed, target=target,
                                        dtype=dtype), transient_s)

    entry = _compare_model({"label": COBA_NETWORKS[network], "n_neurons": n}, seeds,
                           neurosim_run, brian2_run, TOLERANCES["coba"], keep_spikes, log)
    return {"model": "coba", "settings": settings, **entry}


def _brian2_cuba(n: int, duration_s: float, transient_s: float, seed: int, target: str,
                 dtype: np.dtype) -> _Run:
    """Brian2's CUBA example on the network neurosim's ``cuba`` builds for ``seed``."""
    from neurosim.studies.peer_benchmarks import brian2_cuba_example, cuba_arrays, cuba_parts

    arrays = cuba_arrays(cuba_parts(n, seed))
    return _brian2_timed(lambda: brian2_cuba_example(arrays, duration_s)["spikes"], n,
                         duration_s, transient_s, target, dtype)


def validate_cuba(n: int = 4000, *, duration_s: float = 1.0, transient_s: float = 0.1,
                  seeds: Sequence[int] = (0, 1), target: str = "numpy", dtype: Any = np.float64,
                  keep_spikes: bool = False, log: Callable[[str], None] | None = None) -> dict:
    """The CUBA network of ``n`` neurons in neurosim (``cuba``) and as Brian2's ``CUBA``
    example on the same network (see the module docstring); as :func:`validate_coba`."""
    n = check_scalar("n", n, positive=True, integer=True)
    target = check_choice("target", target, TARGETS)
    duration_s, transient_s, seeds, dtype = _check_common(duration_s, transient_s, seeds, dtype)
    settings = {"n": n, "duration_s": duration_s, "transient_s": transient_s,
                "seeds": list(seeds), "target": target, "dtype": dtype.name}
    entry = _compare_model(
        {"label": "cuba", "n_neurons": n}, seeds,
        lambda seed: _neurosim("cuba", duration_s, transient_s, n=n, seed=seed, dtype=dtype),
        lambda seed: _brian2_cuba(n, duration_s, transient_s, seed, target, dtype),
        TOLERANCES["cuba"], keep_spikes, log)
    return {"model": "cuba", "settings": settings, **entry}


MODELS = ("brunel2000", "coba", "cuba")


def validate_gallery(models: Sequence[str] = MODELS, *, regimes: str = "ABCD",
                     scale: float = 0.2, n: int = 4000, duration_s: float = 0.5,
                     transient_s: float = 0.1, seeds: Sequence[int] = (0, 1),
                     target: str = "numpy", dtype: Any = np.float64,
                     coba_network: str = "independent", keep_spikes: bool = False,
                     log: Callable[[str], None] | None = None) -> dict:
    """:func:`validate_brunel` (``regimes`` at ``scale``), :func:`validate_coba` (its
    ``network=coba_network``) and :func:`validate_cuba` (``n`` neurons) with the same run
    settings, for those in ``models``. Returns ``{model: result, ..., "passed": all}``."""
    models = [check_choice("model", m, MODELS) for m in models]
    if not models:
        raise ValueError(f"models must name at least one of {', '.join(MODELS)}")
    common = {"duration_s": duration_s, "transient_s": transient_s, "seeds": seeds,
              "target": target, "dtype": dtype, "keep_spikes": keep_spikes, "log": log}
    out: dict[str, Any] = {}
    for model in dict.fromkeys(models):
        if model == "brunel2000":
            out[model] = validate_brunel(regimes, scale=scale, **common)
        elif model == "coba":
            out[model] = validate_coba(n, network=coba_network, **common)
        else:
            out[model] = validate_cuba(n, **common)
    out["passed"] = all(part["passed"] for part in out.values())
    return out


def entries(result: dict) -> dict[str, dict]:
    """``label -> entry`` of a validation result (one of the ``validate_*`` results, or a dict
    of them): ``brunel2000 A`` ... for Brunel's regimes, then each entry's ``label``."""
    if "model" not in result:
        return {label: e for part in result.values() if isinstance(part, dict)
                for label, e in entries(part).items()}
    if result["model"] == "brunel2000":
        return {f"brunel2000 {k}": v for k, v in result["regimes"].items()}
    return {result.get("label", result["model"]): result}


def without_spikes(result: Any) -> Any:
    """A copy of a validation result without the ``spikes`` records (for JSON)."""
    if isinstance(result, dict):
        return {k: without_spikes(v) for k, v in result.items() if k != "spikes"}
    if isinstance(result, list):
        return [without_spikes(v) for v in result]
    return result
