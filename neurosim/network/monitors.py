"""Monitors: what a network run records. Attach to a network with ``Network.add``."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim.checks import check_array, check_scalar
from neurosim.network.populations import PoissonGroup, Population, SpikeSource

STATE_VARIABLES = ("v", "ge", "gi")


def _indices(name: str, indices: Any, n: int) -> np.ndarray:
    if indices is None:
        return np.arange(n)
    idx = check_array(name, indices, ndim=1, kind="iu", dtype=np.int64)
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"{name} must be in [0, {n}), got values from {idx.min()} to "
                         f"{idx.max()}")
    return idx


class SpikeMonitor:
    """Spike steps and (local) indices of a group, for all of its neurons or a subset."""

    def __init__(self, source: Population | PoissonGroup | SpikeSource,
                 indices: Any = None) -> None:
        if not isinstance(source, (Population, PoissonGroup, SpikeSource)):
            raise TypeError("source must be a Population, PoissonGroup or SpikeSource")
        self.source = source
        self.recorded = _indices("indices", indices, source.n)
        self._chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.dt_s = float("nan")

    def _append(self, steps: np.ndarray, local_idx: np.ndarray) -> None:
        self._chunks.append((steps.astype(np.int64), local_idx.astype(np.int64)))

    def clear(self) -> None:
        """Forget the spikes recorded so far (e.g. after reading one stimulus' counts)."""
        self._chunks.clear()

    @property
    def steps(self) -> np.ndarray:
        return np.concatenate([c[0] for c in self._chunks]) if self._chunks else np.zeros(0, int)

    @property
    def indices(self) -> np.ndarray:
        return np.concatenate([c[1] for c in self._chunks]) if self._chunks else np.zeros(0, int)

    @property
    def times_s(self) -> np.ndarray:
        return self.steps * self.dt_s

    @property
    def count(self) -> np.ndarray:
        """Spikes per neuron of the source (zeros for neurons not recorded)."""
        return np.bincount(self.indices, minlength=self.source.n)

    def spike_trains(self) -> dict[int, np.ndarray]:
        """``{index: spike times (s)}`` for every recorded neuron."""
        steps, idx = self.steps, self.indices
        return {int(i): steps[idx == i] * self.dt_s for i in self.recorded}

    def as_raster(self, n_steps: int) -> np.ndarray:
        """(n_steps, source.n) boolean array of the recorded spikes."""
        raster = np.zeros((n_steps, self.source.n), bool)
        raster[self.steps, self.indices] = True
        return raster


class StateMonitor:
    """Variables (``"v"``, ``"ge"``, ``"gi"``) of chosen neurons after every ``every``-th step."""

    def __init__(self, population: Population, variables: tuple[str, ...] = ("v",),
                 indices: Any = None, every: int = 1) -> None:
        if not isinstance(population, Population):
            raise TypeError("population must be a Population")
        for var in variables:
            if var not in STATE_VARIABLES:
                raise ValueError(f"variables must be among {STATE_VARIABLES}, got {var!r}")
        self.population = population
        self.variables = tuple(variables)
        self.recorded = _indices("indices", indices, population.n)
        self.every = check_scalar("every", every, positive=True, integer=True)
        self._chunks: list[np.ndarray] = []
        self._steps: list[np.ndarray] = []
        self.dt_s = float("nan")

    def _append(self, steps: np.ndarray, values: np.ndarray) -> None:
        self._steps.append(steps)
        self._chunks.append(values)

    def _values(self) -> np.ndarray:
        if not self._chunks:
            return np.zeros((0, 3, len(self.recorded)))
        return np.concatenate(self._chunks)

    @property
    def steps(self) -> np.ndarray:
        return np.concatenate(self._steps) if self._steps else np.zeros(0, int)

    @property
    def t_s(self) -> np.ndarray:
        """Time at the end of each recorded step."""
        return (self.steps + 1) * self.dt_s

    def __getattr__(self, name: str) -> np.ndarray:
        if name in STATE_VARIABLES:
            if name not in self.variables:
                raise AttributeError(f"{name!r} was not recorded (variables={self.variables})")
            return self._values()[:, STATE_VARIABLES.index(name), :]
        raise AttributeError(name)


class RateMonitor:
    """Population firing rate: spikes per neuron per second in every step."""

    def __init__(self, population: Population) -> None:
        if not isinstance(population, Population):
            raise TypeError("population must be a Population")
        self.population = population
        self._counts: list[np.ndarray] = []
        self.dt_s = float("nan")

    @property
    def spike_counts(self) -> np.ndarray:
        return np.concatenate(self._counts) if self._counts else np.zeros(0, int)

    @property
    def rate_hz(self) -> np.ndarray:
        return self.spike_counts / (self.population.n * self.dt_s)

    @property
    def t_s(self) -> np.ndarray:
        return np.arange(len(self.spike_counts)) * self.dt_s

    def mean_rate_hz(self) -> float:
        counts = self.spike_counts
        return float(counts.sum() / (self.population.n * len(counts) * self.dt_s)) if len(
            counts) else float("nan")
