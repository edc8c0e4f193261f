"""Song, Miller & Abbott (2000) in neurosim against Brian2's STDP example (issue 14).

Both sides simulate one neuron driven by ``n_inputs`` Poisson inputs through plastic
conductance synapses with additive STDP (neurosim: the gallery's ``song_abbott``; Brian2:
``examples/synapses/STDP.py``, :mod:`neurosim.studies.brian2_stdp`), each with its own random
numbers (initial weights ``U(0, gmax)`` and Poisson spikes), so they are compared as
distributions, pooled over the seeds each side runs:

- the final weights: the fraction below ``0.1 gmax`` and the fraction above ``0.9 gmax`` on each
  side; the check passes if both fractions differ by at most ``tolerance_points`` (5)
  percentage points. The histograms (``bins`` bins over ``[0, gmax]``) are kept for both.
- the output rate over time, in bins of ``bin_s`` seconds (reported, with the relative
  difference of the mean rate over the second half of the run; not part of the verdict). The
  neuron is driven by fluctuations near threshold, so its rate before learning has settled
  depends steeply on the initial weight draw (with learning off, about 9 Hz more per 1 % of
  gmax added to the mean initial weight, on both sides), and the early bins of the two sides
  differ as much as their draws do. ``shared_start`` therefore also runs Brian2's
  example from neurosim's initial weights (``S.w`` set to them): from the same start the
  rates agree bin by bin. The integration of ``v`` differs a little (Brian2's example:
  forward Euler; neurosim: exponential Euler, which fires ~8 % more at ~60 Hz with learning
  off, as Brian2's ``exponential_euler`` does). Learning removes the differences: the rate
  settles at the same value on both sides.

:func:`validate_stdp` runs both and returns a JSON-able dict; :func:`weight_summary`,
:func:`rate_over_time` and :func:`compare_sides` work on plain arrays.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from neurosim.checks import check_array, check_choice, check_scalar

LOW_FRACTION, HIGH_FRACTION = 0.1, 0.9  # "near a bound": below 0.1 gmax, above 0.9 gmax
TOLERANCE_POINTS = 5.0


class SongAbbottRun(NamedTuple):
    """One side's run: final ``weights`` (float64, ``(n_inputs,)``, units of the leak
    conductance), the output neuron's spike ``output_steps`` (int64), the step ``dt_s``,
    ``n_steps`` simulated, ``run_s`` (the simulation), ``build_s`` (the rest) and the
    ``initial_weights`` where the side knows them."""

    weights: np.ndarray
    output_steps: np.ndarray
    n_steps: int
    dt_s: float
    run_s: float
    build_s: float
    params: dict
    initial_weights: np.ndarray | None = None


def weight_summary(weights: Any, w_max: float, *, bins: int = 20) -> dict[str, Any]:
    """The distribution of ``weights`` on ``[0, w_max]``: ``histogram`` (counts in ``bins``
    equal bins, ``edges`` in units of ``w_max``), ``fraction_low`` (``w < 0.1 w_max``),
    ``fraction_high`` (``w > 0.9 w_max``), ``mean_over_w_max`` and ``n``."""
    weights = check_array("weights", weights, ndim=1, dtype=np.float64)
    w_max = check_scalar("w_max", w_max, positive=True)
    bins = check_scalar("bins", bins, positive=True, integer=True)
    rel = weights / w_max
    counts, edges = np.histogram(np.clip(rel, 0.0, 1.0), bins=bins, range=(0.0, 1.0))
    return {"n": int(weights.size), "histogram": counts.tolist(), "edges": edges.tolist(),
            "fraction_low": float((rel < LOW_FRACTION).mean()),
            "fraction_high": float((rel > HIGH_FRACTION).mean()),
            "mean_over_w_max": float(rel.mean())}


def rate_over_time(spike_steps: Any, n_steps: int, dt_s: float,
                   bin_s: float) -> dict[str, Any]:
    """One neuron's firing rate in consecutive bins of ``bin_s`` seconds (the last bin may be
    shorter): ``t_s`` (bin starts), ``rate_hz`` and ``bin_s``."""
    steps = (np.zeros(0, np.int64) if np.size(spike_steps) == 0 else
             check_array("spike_steps", spike_steps, ndim=1, kind="iu", dtype=np.int64))
    n_steps = check_scalar("n_steps", n_steps, positive=True, integer=True)
    dt_s = check_scalar("dt_s", dt_s, positive=True)
    bin_s = check_scalar("bin_s", bin_s, positive=True)
    if steps.size and (steps.min() < 0 or steps.max() >= n_steps):
        raise ValueError(f"spike_steps must lie in [0, {n_steps})")
    per_bin = max(1, int(round(bin_s / dt_s)))
    n_bins = -(-n_steps // per_bin)
    counts = np.bincount(steps // per_bin, minlength=n_bins)
    widths = np.minimum(per_bin, n_steps - np.arange(n_bins) * per_bin) * dt_s
    return {"bin_s": per_bin * dt_s, "t_s": (np.arange(n_bins) * per_bin * dt_s).tolist(),
            "rate_hz": (counts / widths).tolist()}


def side_summary(runs: SongAbbottRun | list[SongAbbottRun], w_max: float, *,
                 bins: int = 20, bin_s: float = 10.0) -> dict[str, Any]:
    """One side's :func:`weight_summary` and :func:`rate_over_time`, its mean rates over the
    whole run and over the second half, and its timings. Several ``runs`` (seeds, all of the
    same length) are pooled: their weights together, their rates averaged; ``per_run``
    keeps each run's fractions and rates (the spread between realizations)."""
    runs = [runs] if isinstance(runs, SongAbbottRun) else list(runs)
    if not runs or len({(r.n_steps, r.dt_s) for r in runs}) != 1:
        raise ValueError("runs must be one or more runs of the same length and step")
    n_steps, dt_s, k = runs[0].n_steps, runs[0].dt_s, len(runs)
    half = n_steps // 2

    def rates(steps: np.ndarray) -> dict[str, float]:
        return {"rate_hz": steps.size / (n_steps * dt_s * k),
                "rate_second_half_hz": int((steps >= half).sum()) / ((n_steps - half) * dt_s
                                                                      * k)}

    per_run = []
    for run in runs:
        w = weight_summary(run.weights, w_max, bins=bins)
        per_run.append({"fraction_low": w["fraction_low"], "fraction_high": w["fraction_high"],
                        **rates(np.asarray(run.output_steps, dtype=np.int64)),
                        "run_s": run.run_s, "build_s": run.build_s, "params": run.params})
    steps = np.concatenate([np.asarray(r.output_steps, dtype=np.int64) for r in runs])
    rate = rate_over_time(steps, n_steps, dt_s, bin_s)
    rate["rate_hz"] = [r / k for r in rate["rate_hz"]]
    return {"runs": k, "weights": weight_summary(np.concatenate([r.weights for r in runs]),
                                                 w_max, bins=bins),
            "rate": rate, **rates(steps), "output_spikes": int(steps.size),
            "run_s": float(sum(r.run_s for r in runs)),
            "build_s": float(sum(r.build_s for r in runs)), "per_run": per_run}


def compare_sides(ours: dict[str, Any], theirs: dict[str, Any], *,
                  tolerance_points: float = TOLERANCE_POINTS) -> dict[str, Any]:
    """The verdict on two :func:`side_summary` dicts (neurosim, Brian2): the differences of
    the low and high fractions in percentage points (``passed`` if both are at most
    ``tolerance_points``), and the relative difference of the second-half rates (reported)."""
    tolerance_points = check_scalar("tolerance_points", tolerance_points, nonnegative=True)
    diff = {key: 100.0 * abs(ours["weights"][key] - theirs["weights"][key])
            for key in ("fraction_low", "fraction_high")}
    r_ours, r_theirs = ours["rate_second_half_hz"], theirs["rate_second_half_hz"]
    rate_diff = abs(r_ours - r_theirs) / r_theirs if r_theirs > 0 else None
    return {"points_low": diff["fraction_low"], "points_high": diff["fraction_high"],
            "tolerance_points": tolerance_points,
            "passed": bool(max(diff.values()) <= tolerance_points),
            "rate_second_half_rel_diff": rate_diff}


def neurosim_song_abbott(*, n_inputs: int = 1000, rate_hz: float = 15.0, gmax: float = 0.01,
                         a_pre: float = 0.01, duration_s: float = 100.0, seed: int = 0,
                         dtype: Any = np.float64, backend: str = "cpu") -> SongAbbottRun:
    """Build the gallery's ``song_abbott`` model and run it for ``duration_s``."""
    from neurosim import gallery

    duration_s = check_scalar("duration_s", duration_s, positive=True)
    t0 = time.perf_counter()
    model = gallery.build("song_abbott", n_inputs=n_inputs, rate_hz=rate_hz, gmax=gmax,
                          a_pre=a_pre, seed=seed, dtype=dtype, backend=backend)
    net = model.network
    net.build()
    initial = net.weights_of(net.projections[0])
    t1 = time.perf_counter()
    net.run(duration_s, progress=False)
    t2 = time.perf_counter()
    weights = net.weights_of(net.projections[0])
    t3 = time.perf_counter()
    return SongAbbottRun(weights, np.asarray(model.spikes[0].steps, dtype=np.int64),
                         int(net.steps_done), float(net.dt_s), t2 - t1, (t1 - t0) + (t3 - t2),
                         {**model.params, "duration_s": duration_s}, initial)


def brian2_side(*, n_inputs: int = 1000, rate_hz: float = 15.0, gmax: float = 0.01,
                a_pre: float = 0.01, duration_s: float = 100.0, seed: int = 0,
                dtype: Any = np.float64, target: str = "numpy",
                initial_weights: Any = None) -> SongAbbottRun:
    """Brian2's STDP example (:func:`neurosim.studies.brian2_stdp.brian2_song_abbott`) as a
    :class:`SongAbbottRun` (``initial_weights``: its ``rand() * gmax`` draw if None)."""
    from neurosim.studies.brian2_stdp import brian2_song_abbott

    run = brian2_song_abbott(n_inputs, rate_hz=rate_hz, gmax=gmax, a_pre=a_pre,
                             duration_s=duration_s, seed=seed, target=target, dtype=dtype,
                             initial_weights=initial_weights)
    return SongAbbottRun(run.weights, run.output_steps, run.n_steps, run.dt_s, run.run_s,
                         run.build_s, {**run.params, "target": run.target}, initial_weights)


def validate_stdp(*, duration_s: float = 100.0, n_inputs: int = 1000, rate_hz: float = 15.0,
                  gmax: float = 0.01, a_pre: float = 0.01, seeds: tuple[int, ...] = (0,),
                  dtype: Any = np.float64, target: str = "numpy", bins: int = 20,
                  bin_s: float = 10.0, tolerance_points: float = TOLERANCE_POINTS,
                  shared_start: bool = True,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run neurosim's ``song_abbott`` and Brian2's STDP example with the same parameters, once
    per seed of ``seeds`` on each side (separate random numbers), and compare the pooled
    results (module docstring). Returns a JSON-able dict: ``settings``, ``neurosim`` and
    ``brian2`` (:func:`side_summary`), ``check`` (:func:`compare_sides`) and ``passed``.
    With ``shared_start``, Brian2 also runs once from neurosim's initial weights of the first
    seed: ``shared_start`` holds both sides' summaries of that pair and their comparison
    (reported; the verdict is the independent comparison's)."""
    target = check_choice("target", target, ("numpy", "cpp_standalone"))
    seeds = tuple(check_scalar("seed", s, nonnegative=True, integer=True) for s in seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    dtype = np.dtype(dtype)
    settings = {"duration_s": duration_s, "n_inputs": n_inputs, "rate_hz": rate_hz,
                "gmax": gmax, "a_pre": a_pre, "seeds": list(seeds), "dtype": dtype.name,
                "target": target, "bins": bins, "bin_s": bin_s,
                "low_below": LOW_FRACTION, "high_above": HIGH_FRACTION}
    args = {"n_inputs": n_inputs, "rate_hz": rate_hz, "gmax": gmax, "a_pre": a_pre,
            "duration_s": duration_s, "dtype": dtype}
    sides, first = {}, {}
    for name, one_run in (("neurosim", lambda seed: neurosim_song_abbott(**args, seed=seed)),
                          ("brian2", lambda seed: brian2_side(**args, seed=seed,
                                                              target=target))):
        runs = []
        for seed in seeds:
            runs.append(one_run(seed))
            if log is not None:
                one = side_summary(runs[-1], gmax, bins=bins, bin_s=bin_s)
                w = one["weights"]
                log(f"{name} seed {seed}: {duration_s:g} s in {one['run_s']:.1f} s; weights "
                    f"{w['fraction_low']:.1%} < 0.1 gmax, {w['fraction_high']:.1%} > 0.9 "
                    f"gmax; rate {one['rate_hz']:.2f} Hz (second half "
                    f"{one['rate_second_half_hz']:.2f} Hz)")
        sides[name], first[name] = side_summary(runs, gmax, bins=bins, bin_s=bin_s), runs[0]
    check = compare_sides(sides["neurosim"], sides["brian2"],
                          tolerance_points=tolerance_points)
    result = {"model": "song_abbott", "settings": settings, **sides, "check": check,
              "passed": check["passed"]}
    if shared_start:
        same = brian2_side(**args, seed=seeds[0], target=target,
                           initial_weights=first["neurosim"].initial_weights)
        pair = {"neurosim": side_summary(first["neurosim"], gmax, bins=bins, bin_s=bin_s),
                "brian2": side_summary(same, gmax, bins=bins, bin_s=bin_s)}
        result["shared_start"] = {"seed": seeds[0], **pair, "check": compare_sides(
            pair["neurosim"], pair["brian2"], tolerance_points=tolerance_points)}
        if log is not None:
            w = pair["brian2"]["weights"]
            log(f"brian2 from neurosim's initial weights (seed {seeds[0]}): weights "
                f"{w['fraction_low']:.1%} < 0.1 gmax, {w['fraction_high']:.1%} > 0.9 gmax; "
                f"rate {pair['brian2']['rate_hz']:.2f} Hz")
    return result


def to_markdown(result: dict[str, Any]) -> str:
    """A short table of :func:`validate_stdp`'s result."""
    ns, b2, check = result["neurosim"], result["brian2"], result["check"]
    s = result["settings"]
    lines = [
        f"Song, Miller & Abbott (2000): {s['n_inputs']} Poisson inputs at {s['rate_hz']:g} Hz, "
        f"additive STDP, {s['duration_s']:g} s, {s['dtype']}, Brian2 {s['target']}; seeds "
        f"{', '.join(map(str, s['seeds']))} on each side (weights pooled, rates averaged).",
        "",
        "| | neurosim | Brian2 | difference |",
        "|---|---:|---:|---:|",
        f"| weights < 0.1 gmax | {ns['weights']['fraction_low']:.1%} | "
        f"{b2['weights']['fraction_low']:.1%} | {check['points_low']:.1f} points |",
        f"| weights > 0.9 gmax | {ns['weights']['fraction_high']:.1%} | "
        f"{b2['weights']['fraction_high']:.1%} | {check['points_high']:.1f} points |",
        f"| output rate, second half (Hz) | {ns['rate_second_half_hz']:.2f} | "
        f"{b2['rate_second_half_hz']:.2f} | "
        + ("-" if check["rate_second_half_rel_diff"] is None
           else f"{check['rate_second_half_rel_diff']:.1%}") + " |",
    ]
    shared = result.get("shared_start")
    if shared:
        sc = shared["check"]
        lines.append(
            f"| from the same initial weights (seed {shared['seed']}): < 0.1 / > 0.9 gmax, "
            f"rate 2nd half | {shared['neurosim']['weights']['fraction_low']:.1%} / "
            f"{shared['neurosim']['weights']['fraction_high']:.1%}, "
            f"{shared['neurosim']['rate_second_half_hz']:.2f} Hz | "
            f"{shared['brian2']['weights']['fraction_low']:.1%} / "
            f"{shared['brian2']['weights']['fraction_high']:.1%}, "
            f"{shared['brian2']['rate_second_half_hz']:.2f} Hz | "
            f"{sc['points_low']:.1f} / {sc['points_high']:.1f} points |")
    lines += [
        "",
        f"Check (both fractions within {check['tolerance_points']:g} points): "
        + ("PASS" if check["passed"] else "FAIL"),
    ]
    return "\n".join(lines) + "\n"


def figure(result: dict[str, Any]):
    """:func:`validate_stdp`'s result as a matplotlib ``Figure``: the final weight histograms
    of neurosim and Brian2 side by side (weights in units of gmax) and, under them, both
    output rates over time."""
    from matplotlib.figure import Figure

    shared = result.get("shared_start")
    rows = [["neurosim", "brian2"], ["rate", "rate"]] + ([["shared", "shared"]] if shared
                                                          else [])
    fig = Figure(figsize=(10, 6.5 + 2.5 * bool(shared)), layout="constrained")
    axes = fig.subplot_mosaic(rows)
    labels = {"neurosim": "neurosim", "brian2": f"Brian2 ({result['settings']['target']})"}
    colors = {"neurosim": "tab:blue", "brian2": "tab:orange"}
    top = 0
    for side in ("neurosim", "brian2"):
        w = result[side]["weights"]
        edges = np.asarray(w["edges"])
        axes[side].bar(edges[:-1], w["histogram"], width=np.diff(edges), align="edge",
                       color=colors[side], edgecolor="white")
        axes[side].set_title(f"{labels[side]}: {w['fraction_low']:.1%} < 0.1 gmax, "
                             f"{w['fraction_high']:.1%} > 0.9 gmax", fontsize=10)
        axes[side].set_xlabel("final weight / gmax")
        top = max(top, max(w["histogram"]))
    for side in ("neurosim", "brian2"):
        axes[side].set_ylim(0, top * 1.08)
    axes["neurosim"].set_ylabel("synapses")
    panels = [("rate", result, "each side's own initial weights, mean over seeds")]
    if shared:
        panels.append(("shared", shared, f"seed {shared['seed']}, Brian2 started from "
                       "neurosim's initial weights"))
    for key, part, title in panels:
        for side in ("neurosim", "brian2"):
            rate = part[side]["rate"]
            t = np.asarray(rate["t_s"]) + 0.5 * rate["bin_s"]
            axes[key].plot(t, rate["rate_hz"], "o-", color=colors[side], label=labels[side])
        axes[key].set_xlabel("time (s)")
        axes[key].set_ylabel(f"output rate (Hz, {part['neurosim']['rate']['bin_s']:g} s bins)")
        axes[key].set_ylim(bottom=0)
        axes[key].set_title(title, fontsize=10)
        axes[key].legend()
    s = result["settings"]
    fig.suptitle(f"Song, Miller & Abbott (2000): {s['n_inputs']} inputs at {s['rate_hz']:g} Hz, "
                 f"additive STDP, {s['duration_s']:g} s: "
                 + ("PASS" if result["passed"] else "FAIL"), fontsize=11)
    return fig
