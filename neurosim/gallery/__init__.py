"""The field's standard network models, one documented constructor each.

``build(name, **params)`` returns a :class:`Model` (the network, its populations and a spike
monitor over every neuron); ``simulate(name, duration_s=..., **params)`` builds, runs and
summarises it (:class:`ModelRun`: rate, synchrony and CV of inter-spike intervals from
:mod:`neurosim.gallery.stats`); ``run_model`` is the flat form a parameter sweep calls.

===============  ==============================================================================
``cuba``         Vogels & Abbott (2005) / Brette et al. (2007) benchmark 2: current synapses
``coba``         the same network with conductance-based synapses (benchmark 1)
``brunel2000``   Brunel (2000): sparse E/I network with Poisson drive, four regimes (Fig. 8)
``song_abbott``  Song, Miller & Abbott (2000): one neuron, 1,000 Poisson inputs, additive STDP
===============  ==============================================================================
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.checks import check_choice, check_scalar

#: name -> module path of its constructor (imported when first used).
MODELS: dict[str, str] = {
    "cuba": "neurosim.gallery.cuba",
    "coba": "neurosim.gallery.coba",
    "brunel2000": "neurosim.gallery.brunel",
    "song_abbott": "neurosim.gallery.song_abbott",
}


@dataclass
class Model:
    """A built gallery model: ``network`` ready to run, ``populations`` in the order their
    neurons are numbered in ``spikes`` (a SpikeMonitor per population), and the parameters
    it was built with (defaults filled in)."""

    name: str
    network: Any
    populations: list
    spikes: list
    params: dict
    description: str = ""


@dataclass
class ModelRun:
    """What :func:`simulate` returns: the model, the spikes of all neurons (steps and global
    indices), and the statistics of the recorded window."""

    model: Model
    steps: np.ndarray
    indices: np.ndarray
    n_neurons: int
    n_steps: int
    dt_s: float
    transient_s: float
    run_s: float
    stats: dict = field(default_factory=dict)


def build_function(name: str) -> Callable[..., Model]:
    """The ``build`` function of gallery model ``name`` (its signature lists the parameters)."""
    import importlib

    name = check_choice("model", name, tuple(MODELS))
    return importlib.import_module(MODELS[name]).build


def build(name: str, **params: Any) -> Model:
    """Build gallery model ``name`` with ``params`` (see each model's ``build``)."""
    return build_function(name)(**params)


def simulate(name: str, *, duration_s: float = 1.0, transient_s: float = 0.0,
             progress: bool = False, **params: Any) -> ModelRun:
    """Build model ``name``, run it for ``duration_s`` and summarise the spikes after
    ``transient_s`` (:func:`neurosim.gallery.stats.spike_statistics`)."""
    from neurosim.gallery.stats import spike_statistics

    duration_s = check_scalar("duration_s", duration_s, positive=True)
    transient_s = check_scalar("transient_s", transient_s, nonnegative=True)
    if transient_s >= duration_s:
        raise ValueError(f"transient_s ({transient_s}) must be shorter than duration_s "
                         f"({duration_s})")
    model = build(name, **params)
    net = model.network
    start = time.perf_counter()
    net.run(duration_s, progress=progress)
    run_s = time.perf_counter() - start
    steps, indices, offset = [], [], 0
    for pop, mon in zip(model.populations, model.spikes):
        steps.append(mon.steps)
        indices.append(mon.indices + offset)
        offset += pop.n
    steps = np.concatenate(steps)
    indices = np.concatenate(indices)
    order = np.lexsort((indices, steps))
    steps, indices = steps[order], indices[order]
    n_steps = net.steps_done
    first = int(round(transient_s / net.dt_s))
    stats = spike_statistics(steps, indices, offset, n_steps, net.dt_s, start_step=first)
    return ModelRun(model, steps, indices, offset, n_steps, net.dt_s, transient_s, run_s,
                    stats)


def run_model(name: str, params: dict | None = None, *, duration_s: float = 1.0,
              transient_s: float = 0.0) -> dict:
    """One point of a parameter sweep: ``params`` (model parameters, e.g. ``{"g": 5,
    "nu_ratio": 2, "scale": 0.1, "seed": 0}``) in, a flat dict of floats out: the
    statistics (``rate_hz``, ``synchrony``, ``cv_isi``, ...) and ``run_s``."""
    run = simulate(name, duration_s=duration_s, transient_s=transient_s, **(params or {}))
    return {**run.stats, "run_s": run.run_s}
