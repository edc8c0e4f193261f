"""The phase diagram of a parameter sweep (:mod:`neurosim.studies.sweep`): heat maps of the
statistics over two swept parameters, in the style of Brunel (2000), Fig. 2."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from neurosim.studies.sweep_table import ERROR

AXIS_LABELS = {"g": "g (relative strength of inhibition)",
               "nu_ratio": r"$\nu_\mathrm{ext} / \nu_\mathrm{thr}$"}
#: Colour of a rate of 0 on the log colour scale (failed or missing points stay white).
SILENT_COLOUR = "0.35"
STAT_LABELS = {"rate_hz": "rate (Hz)", "synchrony": "synchrony", "cv_isi": "CV of ISI"}


def _cell_edges(centres: np.ndarray) -> np.ndarray:
    """Edges of cells around sorted centres (half-way between neighbours)."""
    if len(centres) == 1:
        half = 0.5 * abs(centres[0]) or 0.5
        return np.array([centres[0] - half, centres[0] + half])
    mids = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mids[0]], mids, [2 * centres[-1] - mids[-1]]])


def phase_diagram(rows: Sequence[dict], x: str = "g", y: str = "nu_ratio",
                  stats: Sequence[str] = ("rate_hz", "synchrony", "cv_isi"), *,
                  title: str | None = None):
    """Heat maps of ``stats`` over the (``x``, ``y``) plane of a sweep's rows, in the style of
    Brunel (2000), Fig. 2: one panel per statistic, each with its colour bar; statistics named
    ``rate*`` on a log colour scale (a rate of 0 in dark grey, below the bar). Cells of failed
    or missing points (and NaN values, e.g. a CV without enough spikes) are blank; several
    rows at one (x, y) (another parameter varied) are averaged. Returns the matplotlib
    ``Figure``."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    rows = list(rows)
    for name in (x, y, *stats):
        if not any(row.get(name) is not None for row in rows):
            columns = sorted({k for row in rows for k in row})
            raise ValueError(f"no values of {name!r} in the rows (columns: "
                             f"{', '.join(columns) or 'none'})")
    placed = [r for r in rows if isinstance(r.get(x), (int, float))
              and isinstance(r.get(y), (int, float))]
    xs = np.array(sorted({float(r[x]) for r in placed}))
    ys = np.array(sorted({float(r[y]) for r in placed}))
    fig = Figure(figsize=(4.2 * len(stats), 3.6), layout="constrained")
    for i, stat in enumerate(stats):
        total = np.zeros((len(ys), len(xs)))
        count = np.zeros((len(ys), len(xs)))
        for row in placed:
            value = row.get(stat)
            if row.get(ERROR) or not isinstance(value, (int, float)) or math.isnan(value):
                continue
            cell = np.searchsorted(ys, float(row[y])), np.searchsorted(xs, float(row[x]))
            total[cell] += value
            count[cell] += 1
        image = np.ma.masked_where(count == 0, total / np.maximum(count, 1))
        norm, extend = None, "neither"
        positive = image[image > 0] if image.count() else np.array([])
        if stat.startswith("rate") and positive.size:
            low = float(positive.min())
            norm = LogNorm(vmin=low, vmax=max(float(positive.max()), low * 1.01))
            if (image <= 0).any():  # silent points: the "under" colour, below the bar
                image, extend = np.ma.where(image > 0, image, low / 10), "min"
        ax = fig.add_subplot(1, len(stats), i + 1)
        mesh = ax.pcolormesh(_cell_edges(xs), _cell_edges(ys), image, norm=norm,
                             cmap=colormaps["viridis"].with_extremes(under=SILENT_COLOUR))
        bar = fig.colorbar(mesh, ax=ax, label=STAT_LABELS.get(stat, stat), extend=extend)
        if norm is not None:  # plain numbers (20, 50), not 2x10^1, on the log scale
            bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            wide = norm.vmax > 10 * norm.vmin  # then label 2 and 5 between decades
            bar.ax.yaxis.set_minor_formatter(FuncFormatter(
                lambda v, _, wide=wide: f"{v:g}" if not wide or f"{v:g}"[0] in "25" else ""))
        ax.set_xlabel(AXIS_LABELS.get(x, x))
        ax.set_ylabel(AXIS_LABELS.get(y, y))
        ax.set_xticks(xs, labels=[f"{v:g}" for v in xs])
        ax.set_yticks(ys, labels=[f"{v:g}" for v in ys])
        ax.set_title(STAT_LABELS.get(stat, stat))
    if title:
        fig.suptitle(title)
    return fig
