"""Figures: each function returns the matplotlib ``Figure`` and draws on ``ax`` when given one.

Headless by default (the Agg backend is selected when no display backend was chosen).
"""

from __future__ import annotations

from typing import Any

import matplotlib

if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def _axes(ax: Axes | None, figsize=(6.4, 3.6)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def raster(spikes: np.ndarray, dt_s: float, *, ax: Axes | None = None, max_neurons: int = 500,
           title: str | None = None, **scatter_kw: Any) -> Figure:
    """Spike raster from a (T, N) boolean array: one dot per spike (first ``max_neurons``)."""
    fig, ax = _axes(ax)
    steps, neurons = np.nonzero(np.asarray(spikes)[:, :max_neurons])
    ax.scatter(steps * dt_s * 1e3, neurons, s=scatter_kw.pop("s", 1.5),
               c=scatter_kw.pop("c", "k"), marker="|" if len(steps) < 5000 else ".",
               linewidths=0.6, **scatter_kw)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron index")
    ax.set_xlim(0, len(spikes) * dt_s * 1e3)
    if title:
        ax.set_title(title)
    return fig


def membrane_traces(v: np.ndarray, dt_s: float, *, v_th: float | None = None,
                    v_reset: float | None = None, spikes: np.ndarray | None = None,
                    labels: list[str] | None = None, unit: str = "", ax: Axes | None = None,
                    title: str | None = None) -> Figure:
    """Membrane potential over time (T,) or (T, k), with threshold/reset lines and spike marks."""
    fig, ax = _axes(ax)
    v = np.asarray(v).reshape(len(v), -1)
    t_ms = np.arange(1, len(v) + 1) * dt_s * 1e3
    for k in range(v.shape[1]):
        ax.plot(t_ms, v[:, k], lw=1.0, label=labels[k] if labels else None)
        if spikes is not None:
            spk = np.flatnonzero(np.asarray(spikes).reshape(len(v), -1)[:, k])
            if v_th is not None and spk.size:
                ax.vlines(t_ms[spk], v_th, v_th + 0.15 * (v_th - (v_reset or 0) or 1),
                          color=ax.lines[-1].get_color(), lw=1.0)
    if v_th is not None:
        ax.axhline(v_th, color="crimson", ls="--", lw=0.8, label="threshold")
    if v_reset is not None:
        ax.axhline(v_reset, color="grey", ls=":", lw=0.8, label="reset")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"membrane potential{f' ({unit})' if unit else ''}")
    ax.legend(loc="lower right", fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def population_rate(spikes: np.ndarray, dt_s: float, *, window_s: float = 0.005,
                    ax: Axes | None = None, title: str | None = None) -> Figure:
    """Population firing rate (Hz per neuron), smoothed with a box window."""
    fig, ax = _axes(ax)
    spikes = np.asarray(spikes)
    per_step = spikes.reshape(len(spikes), -1).mean(axis=1) / dt_s
    width = max(1, int(round(window_s / dt_s)))
    smooth = np.convolve(per_step, np.ones(width) / width, mode="same")
    ax.plot(np.arange(len(smooth)) * dt_s * 1e3, smooth, lw=1.0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz per neuron)")
    if title:
        ax.set_title(title)
    return fig


def isi_histogram(spikes: np.ndarray, dt_s: float, *, bins: int = 50, ax: Axes | None = None,
                  title: str | None = None) -> Figure:
    """Histogram of inter-spike intervals (ms) pooled over neurons."""
    fig, ax = _axes(ax)
    spikes = np.asarray(spikes).reshape(len(spikes), -1)
    isis = [np.diff(np.flatnonzero(spikes[:, i])) for i in range(spikes.shape[1])]
    isis = np.concatenate(isis) * dt_s * 1e3 if isis else np.array([])
    ax.hist(isis, bins=bins, color="steelblue")
    ax.set_xlabel("inter-spike interval (ms)")
    ax.set_ylabel("count")
    if title:
        ax.set_title(title)
    return fig


def scaling(sizes: np.ndarray, series: dict[str, np.ndarray], *, ylabel: str,
            xlabel: str = "neurons", ax: Axes | None = None, title: str | None = None) -> Figure:
    """Benchmark scaling on log-log axes: one line per named series."""
    fig, ax = _axes(ax)
    for name, values in series.items():
        values = np.asarray(values, float)
        ok = np.isfinite(values)
        ax.loglog(np.asarray(sizes)[ok], values[ok], marker="o", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def accuracy_vs_timesteps(snn_accuracy: dict, ann_accuracy: float, *, ax: Axes | None = None,
                          title: str | None = None) -> Figure:
    """SNN accuracy against the number of time steps, with the ANN as a horizontal line."""
    fig, ax = _axes(ax)
    steps = sorted(int(t) for t in snn_accuracy)
    ax.semilogx(steps, [100 * snn_accuracy[t] for t in steps], marker="o", base=2,
                label="spiking network")
    ax.axhline(100 * ann_accuracy, color="crimson", ls="--", label="ANN")
    ax.set_xlabel("time steps T")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks(steps)
    ax.set_xticklabels([str(t) for t in steps])
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return fig


def layer_rates(firing_rates: dict, *, ax: Axes | None = None,
                title: str | None = None) -> Figure:
    """Mean firing rate (spikes per neuron per time step) of every spiking layer."""
    fig, ax = _axes(ax)
    names = list(firing_rates)
    ax.bar(range(len(names)), [firing_rates[n] for n in names], color="steelblue")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.set_ylabel("spikes per neuron per step")
    if title:
        ax.set_title(title)
    return fig


def raster_and_rate(steps: np.ndarray, indices: np.ndarray, n_neurons: int, n_steps: int,
                    dt_s: float, *, show_neurons: int = 50, t_range_s: tuple | None = None,
                    bin_s: float = 1e-3, title: str | None = None,
                    axes: tuple[Axes, Axes] | None = None) -> Figure:
    """Brunel (2000) Fig. 8 style: the spikes of the first ``show_neurons`` neurons above,
    the population rate (Hz per neuron, ``bin_s`` bins, all neurons) below, over
    ``t_range_s`` (default: the whole run). Spikes as recorded: steps and global indices."""
    if axes is None:
        fig, (ax_r, ax_p) = plt.subplots(2, 1, figsize=(4.2, 4.6), sharex=True,
                                         height_ratios=[3, 1], layout="constrained")
    else:
        ax_r, ax_p = axes
        fig = ax_r.figure
    steps, indices = np.asarray(steps), np.asarray(indices)
    lo, hi = (0.0, n_steps * dt_s) if t_range_s is None else t_range_s
    keep = (indices < show_neurons) & (steps * dt_s >= lo) & (steps * dt_s < hi)
    ax_r.plot(steps[keep] * dt_s * 1e3, indices[keep], "|", ms=3, color="k", mew=0.6)
    ax_r.set_ylabel("neuron")
    ax_r.set_ylim(-0.5, show_neurons - 0.5)
    width = max(1, int(round(bin_s / dt_s)))
    counts = np.bincount(steps // width, minlength=-(-n_steps // width))
    t = np.arange(len(counts)) * width * dt_s
    ax_p.plot(t * 1e3, counts / (n_neurons * width * dt_s), lw=0.8, color="C0")
    ax_p.set_xlim(lo * 1e3, hi * 1e3)
    ax_p.set_xlabel("time (ms)")
    ax_p.set_ylabel("rate (Hz)")
    if title:
        ax_r.set_title(title)
    return fig
