"""Summary statistics of a network's spikes: mean rate, population synchrony and the
irregularity of single neurons (the coefficient of variation of inter-spike intervals).

Spikes come as a spike monitor records them: two equal-length 1-D integer arrays, ``steps``
(the time step of each spike) and ``indices`` (the neuron, numbered globally ``0 ..
n_neurons - 1``), in any order. Every statistic is computed over the window of steps
``[start_step, n_steps)``; ``start_step`` drops a transient.

The three numbers that place a network in Brunel's (2000) diagram:

- ``rate_hz``: spikes per neuron per second in the window.
- ``synchrony``: the coefficient of variation (std / mean, ``ddof=0``) of the population
  spike-count histogram in bins of ``bin_s`` (1 ms). Independent Poisson neurons give about
  ``1 / sqrt(expected spikes per bin)``; a population firing in volleys gives much more.
- ``cv_isi``: the mean over neurons with at least 3 spikes in the window of std / mean of
  their inter-spike intervals (``ddof=0``): 0 for a clock, about 1 for a Poisson train.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim.checks import check_array, check_scalar

#: Neurons need this many spikes in the window (two intervals) to enter ``cv_isi``.
MIN_SPIKES_FOR_CV = 3


def _spike_array(name: str, value: Any) -> np.ndarray:
    """A 1-D integer array as int64 (an empty list, whose NumPy dtype is float, is accepted)."""
    if isinstance(value, (list, tuple)) and len(value) == 0:
        return np.zeros(0, dtype=np.int64)
    arr = check_array(name, value, ndim=1, kind="iu", allow_empty=True)
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds values too large for int64")
    return arr.astype(np.int64, copy=False)


def _check_spikes(steps: Any, indices: Any | None, n_neurons: Any, n_steps: Any, dt_s: Any,
                  start_step: Any, bin_s: Any) -> dict[str, Any]:
    """Check the common arguments once; returns them converted, plus the bin size in steps."""
    n_neurons = check_scalar("n_neurons", n_neurons, positive=True, integer=True)
    n_steps = check_scalar("n_steps", n_steps, positive=True, integer=True)
    dt_s = check_scalar("dt_s", dt_s, positive=True)
    start_step = check_scalar("start_step", start_step, nonnegative=True, integer=True)
    bin_s = check_scalar("bin_s", bin_s, positive=True)
    if start_step >= n_steps:
        raise ValueError(f"start_step ({start_step}) must be smaller than n_steps ({n_steps})")
    bin_steps = int(round(bin_s / dt_s))
    if bin_steps < 1:
        raise ValueError(f"bin_s ({bin_s:g} s) must be at least one step (dt_s = {dt_s:g} s)")
    if n_steps - start_step < bin_steps:
        raise ValueError(f"the window [{start_step}, {n_steps}) of {n_steps - start_step} steps "
                         f"is shorter than one bin of {bin_steps} steps (bin_s = {bin_s:g} s)")
    steps = _spike_array("steps", steps)
    if steps.size and (steps.min() < 0 or steps.max() >= n_steps):
        raise ValueError(f"steps must lie in [0, n_steps = {n_steps}), got values in "
                         f"[{steps.min()}, {steps.max()}]")
    out = {"steps": steps, "n_neurons": n_neurons, "n_steps": n_steps, "dt_s": dt_s,
           "start_step": start_step, "bin_steps": bin_steps}
    if indices is not None:
        indices = _spike_array("indices", indices)
        if indices.shape != steps.shape:
            raise ValueError(f"steps and indices must have the same length, got "
                             f"{steps.size} and {indices.size}")
        if indices.size and (indices.min() < 0 or indices.max() >= n_neurons):
            raise ValueError(f"indices must lie in [0, n_neurons = {n_neurons}), got values "
                             f"in [{indices.min()}, {indices.max()}]")
        out["indices"] = indices
    return out


def _bin_counts(steps: np.ndarray, start_step: int, n_steps: int,
                bin_steps: int) -> np.ndarray:
    """Population spike counts in the window's whole bins (a trailing partial bin dropped)."""
    n_bins = (n_steps - start_step) // bin_steps
    in_bins = steps[(steps >= start_step) & (steps < start_step + n_bins * bin_steps)]
    return np.bincount((in_bins - start_step) // bin_steps, minlength=n_bins)


def _sorted_trains(steps: np.ndarray, indices: np.ndarray, n_steps: int) -> tuple[np.ndarray,
                                                                                   np.ndarray]:
    """Spikes sorted by neuron, then step (one int64 sort of ``neuron * n_steps + step``,
    faster than ``np.lexsort`` for millions of spikes)."""
    if indices.size and int(indices.max()) < (np.iinfo(np.int64).max - n_steps) // n_steps:
        key = np.sort(indices * np.int64(n_steps) + steps)
        return key // n_steps, key % n_steps
    order = np.lexsort((steps, indices))
    return indices[order], steps[order]


def _cv_isi(steps: np.ndarray, indices: np.ndarray, n_steps: int,
            n_neurons: int) -> tuple[float, int]:
    """Mean over neurons with >= :data:`MIN_SPIKES_FOR_CV` spikes of std/mean of their ISIs,
    and how many neurons that is (``nan`` and 0 when none)."""
    neuron, step = _sorted_trains(steps, indices, n_steps)
    same = neuron[1:] == neuron[:-1]
    isi = np.diff(step)[same]
    if np.any(isi == 0):
        first = int(neuron[1:][same][np.flatnonzero(isi == 0)[0]])
        raise ValueError(f"neuron {first} has two spikes in one step")
    owner = neuron[1:][same]
    n_isi = np.bincount(owner, minlength=n_neurons)
    used = n_isi >= MIN_SPIKES_FOR_CV - 1
    n_cv = int(used.sum())
    if n_cv == 0:
        return float("nan"), 0
    total = np.bincount(owner, weights=isi, minlength=n_neurons)
    mean = np.divide(total, n_isi, out=np.zeros(n_neurons), where=n_isi > 0)
    # two passes (deviations from each neuron's mean): a regular train gives exactly 0
    sq_dev = np.bincount(owner, weights=(isi - mean[owner]) ** 2, minlength=n_neurons)
    cv = np.sqrt(sq_dev[used] / n_isi[used]) / mean[used]
    return float(cv.mean()), n_cv


def spike_statistics(steps: Any, indices: Any, n_neurons: int, n_steps: int, dt_s: float, *,
                     start_step: int = 0, bin_s: float = 1e-3) -> dict[str, float | int]:
    """Rate, synchrony and ISI irregularity of a network's spikes in steps
    ``[start_step, n_steps)``.

    Parameters
    ----------
    steps, indices : 1-D integer arrays of equal length
        Step and global neuron index of every spike (any order; a neuron spikes at most once
        per step).
    n_neurons : int
        Number of neurons (silent ones count in the rate).
    n_steps : int
        Steps simulated; spike steps lie in ``[0, n_steps)``.
    dt_s : float
        Time step in seconds.
    start_step : int
        First step of the window (drops a transient).
    bin_s : float
        Bin width of the population histogram, seconds; rounded to whole steps
        (``round(bin_s / dt_s)``, at least 1).

    Returns
    -------
    dict of plain Python numbers
        ``rate_hz`` (spikes per neuron per second in the window), ``synchrony`` (CV of the
        population spike count in the window's whole bins; a trailing partial bin is dropped;
        0.0 when no spike falls in them, a silent population being perfectly flat),
        ``cv_isi`` (mean over neurons with at least 3 spikes in the window of std/mean of
        their inter-spike intervals; ``nan`` when no neuron has 3 spikes), ``n_cv_neurons``
        (how many neurons entered ``cv_isi``), ``n_spikes`` (in the window),
        ``fraction_active`` (fraction of neurons with at least one spike in the window),
        ``window_s`` and ``bin_s`` (the bin actually used, whole steps).

    Raises
    ------
    TypeError
        Non-integer spike arrays or non-numeric scalars.
    ValueError
        Arrays not 1-D or of different lengths, indices outside ``[0, n_neurons)``, steps
        outside ``[0, n_steps)``, ``start_step >= n_steps``, ``dt_s <= 0``, a bin shorter
        than one step, a window shorter than one bin, or a neuron with two spikes in a step.
    """
    args = _check_spikes(steps, indices, n_neurons, n_steps, dt_s, start_step, bin_s)
    steps, indices = args["steps"], args["indices"]
    start_step, bin_steps = args["start_step"], args["bin_steps"]
    dt_s = args["dt_s"]
    in_window = steps >= start_step
    steps, indices = steps[in_window], indices[in_window]
    window_s = (n_steps - start_step) * dt_s
    counts = _bin_counts(steps, start_step, n_steps, bin_steps)
    mean_count = counts.mean()
    synchrony = float(counts.std() / mean_count) if mean_count > 0 else 0.0
    cv_isi, n_cv = _cv_isi(steps, indices, n_steps, n_neurons)
    active = np.bincount(indices, minlength=n_neurons) > 0
    return {
        "rate_hz": float(steps.size / (n_neurons * window_s)),
        "synchrony": synchrony,
        "cv_isi": cv_isi,
        "n_cv_neurons": n_cv,
        "n_spikes": int(steps.size),
        "fraction_active": float(active.mean()),
        "window_s": float(window_s),
        "bin_s": float(bin_steps * dt_s),
    }


def population_rate(steps: Any, n_neurons: int, n_steps: int, dt_s: float,
                    bin_s: float = 1e-3, start_step: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The population rate in whole bins of ``bin_s`` over steps ``[start_step, n_steps)``
    (a trailing partial bin dropped), for plotting.

    Returns ``(t_s, rate_hz)``: the start time of each bin in seconds and the spikes in it
    per neuron per second. Arguments and errors as :func:`spike_statistics` (no indices).
    """
    args = _check_spikes(steps, None, n_neurons, n_steps, dt_s, start_step, bin_s)
    start_step, bin_steps, dt_s = args["start_step"], args["bin_steps"], args["dt_s"]
    counts = _bin_counts(args["steps"], start_step, args["n_steps"], bin_steps)
    t_s = (start_step + bin_steps * np.arange(counts.size)) * dt_s
    return t_s, counts / (args["n_neurons"] * bin_steps * dt_s)
