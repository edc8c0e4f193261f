"""Reports of :mod:`neurosim.studies.gallery_validation`'s results: a markdown table per model
or regime (:func:`to_markdown`) and Brunel (2000) Fig. 8 for neurosim and Brian2 side by side
(:func:`raster_figure`)."""

from __future__ import annotations

import math

import numpy as np

from neurosim.checks import check_scalar
from neurosim.studies.gallery_validation import STAT_LABELS, entries


def raster_figure(result: dict, *, window_s: float = 0.1, n_raster: int = 50,
                  bin_s: float = 5e-4):
    """Brunel (2000) Fig. 8 for neurosim and Brian2 side by side: for every entry of ``result``
    (run with ``keep_spikes=True``; see :func:`entries`), a raster of neurons ``0 ..
    n_raster - 1`` (excitatory) over the last ``window_s`` of the first seed's run and, under
    it, the population rate in bins of ``bin_s``; neurosim left, Brian2 right, each titled
    with its side's seed means. Returns the matplotlib ``Figure``."""
    from matplotlib.figure import Figure

    from neurosim.gallery.stats import population_rate

    window_s = check_scalar("window_s", window_s, positive=True)
    n_raster = check_scalar("n_raster", n_raster, positive=True, integer=True)
    rows = entries(result)
    if not rows or any("spikes" not in e for e in rows.values()):
        raise ValueError("raster_figure needs a result run with keep_spikes=True")
    fig = Figure(figsize=(10, 2.6 * len(rows)), layout="constrained")
    grid = fig.add_gridspec(2 * len(rows), 2, height_ratios=[2, 1] * len(rows))
    rate_axes = None
    for row, (label, entry) in enumerate(rows.items()):
        for col, side in enumerate(("neurosim", "brian2")):
            rec = entry["spikes"][side]
            first = max(rec.start_step, rec.n_steps - int(round(window_s / rec.dt_s)))
            shown = (rec.steps >= first) & (rec.indices < n_raster)
            top = fig.add_subplot(grid[2 * row, col])
            top.scatter(rec.steps[shown] * rec.dt_s * 1e3, rec.indices[shown], s=1.5, c="k",
                        marker=".", linewidths=0)
            top.set_xlim(first * rec.dt_s * 1e3, rec.n_steps * rec.dt_s * 1e3)
            top.set_ylim(-0.5, min(n_raster, rec.n_neurons) - 0.5)
            top.tick_params(labelbottom=False)
            top.set_ylabel("neuron")
            mean = entry[side]["mean"]
            top.set_title(f"{label}, {'neurosim' if side == 'neurosim' else 'Brian2'}: "
                          f"{mean['rate_hz']:.3g} Hz, synchrony {mean['synchrony']:.2f}, "
                          f"CV ISI {mean['cv_isi']:.2f}", fontsize=9)
            t_s, rate = population_rate(rec.steps, rec.n_neurons, rec.n_steps, rec.dt_s,
                                        bin_s=bin_s, start_step=first)
            bottom = fig.add_subplot(grid[2 * row + 1, col], sharex=top,
                                     sharey=None if col == 0 else rate_axes)
            rate_axes = bottom  # both sides of a row on one rate scale
            bottom.plot(t_s * 1e3, rate, lw=0.7, c="C0" if side == "neurosim" else "C3")
            bottom.set_ylabel("rate (Hz)")
            bottom.set_xlabel("time (ms)")
    return fig


def _cell(summary: dict, stat: str) -> str:
    mean, low, high = (summary[k][stat] for k in ("mean", "min", "max"))
    values = np.array([row[stat] for row in summary["per_seed"]], np.float64)
    defined = values[np.isfinite(values)]
    if math.isnan(mean) and 0 < defined.size < values.size:
        # (e.g. CV ISI of a network that fell silent: no intervals)
        return (f"nan: undefined in {values.size - defined.size} of {values.size} seeds; "
                f"{defined.mean():.4g} ({defined.min():.4g}-{defined.max():.4g}) over the rest")
    if len(summary["per_seed"]) == 1:
        return f"{mean:.4g}"
    return f"{mean:.4g} ({low:.4g}-{high:.4g})"


def _seeds(seeds: list[int]) -> str:
    """``0, 1`` or, for a run of more than three, ``0-63``."""
    if len(seeds) > 3 and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def to_markdown(result: dict) -> str:
    """One markdown table per model or regime: each statistic's seed mean (and per-seed
    min-max) in neurosim and Brian2, the difference, the tolerance and the verdict."""
    parts = []
    for label, entry in entries(result).items():
        what = (f"g = {entry['g']:g}, nu_ext/nu_thr = {entry['nu_ratio']:g}, "
                if "g" in entry else "")
        verdict = "PASS" if entry["passed"] else "FAIL"
        parts.append(f"**{label}** ({what}N = {entry['n_neurons']:,}, seeds "
                     f"{_seeds(entry['seeds'])}): {verdict}\n")
        parts.append("| statistic | neurosim | Brian2 | difference | tolerance | passed |\n"
                     "|---|---|---|---|---|---|")
        for stat, crit in entry["criteria"].items():
            rel = crit["relative_difference"]
            diff = ("-" if math.isnan(crit["difference"]) else f"{crit['difference']:+.3g}"
                    + ("" if math.isnan(rel) else f" ({rel:+.1%})"))
            judged = crit["passed"]
            parts.append(f"| {STAT_LABELS[stat]} | {_cell(entry['neurosim'], stat)} | "
                         f"{_cell(entry['brian2'], stat)} | {diff} | "
                         f"{crit['tolerance'] or 'reported'} | "
                         f"{'-' if judged is None else ('yes' if judged else 'NO')} |")
        parts.append("")
    return "\n".join(parts)
