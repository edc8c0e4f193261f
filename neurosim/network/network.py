"""``Network``: populations, sources, projections, inputs and monitors, run in compiled code.

The first ``Network.run`` turns the objects into the kernels' records once
(:mod:`neurosim.network.build`) and hands them to the backend (on CUDA they are uploaded and
stay on the device); every run then calls the backend's ``network_run`` kernel for chunks of
steps (:mod:`neurosim.network.runner`). Python runs once per chunk (to read the monitors and
move the progress bar), never once per step.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from neurosim.backends import get_backend
from neurosim.checks import check_choice, check_dtype_arg, check_scalar
from neurosim.network.build import (
    build_recorders,
    build_records,
    check_indices,
    source_offsets,
    state_monitor_of,
    weight_class,
)
from neurosim.network.memory import check_fits, synapse_bytes
from neurosim.network.monitors import RateMonitor, SpikeMonitor, StateMonitor
from neurosim.network.populations import (
    CurrentInput,
    PoissonGroup,
    PoissonInput,
    Population,
    SpikeSource,
)
from neurosim.network.projections import Projection
from neurosim.network.runner import Simulation, run_chunks


class Network:
    """A spiking network simulated with a fixed time step.

    Parameters
    ----------
    dt_s : float
        Time step in seconds.
    dtype : float32 or float64
        Precision of the neuron state (synaptic weights are float32 in any case).
    backend : {"cpu", "cuda", "auto"}
    accumulate : {"float", "exact"}
        How the weights reaching a neuron in one step are summed. ``"float"`` (default):
        in the state's float type, in delivery order; on CUDA that order is the order of
        atomic adds, so a neuron landing exactly on threshold can differ from the CPU in rare
        cases. ``"exact"``: as 64-bit integers in units of 2**-40 of the largest weight, so
        the sum does not depend on the order: CPU and CUDA give the same spikes bit for bit
        (synapses take 12 bytes instead of 8).
    """

    def __init__(self, dt_s: float = 1e-4, *, dtype: Any = np.float32,
                 backend: str = "cpu", accumulate: str = "float") -> None:
        self.dt_s = check_scalar("dt_s", dt_s, positive=True)
        self.dtype = check_dtype_arg(dtype)
        self.accumulate = check_choice("accumulate", accumulate, ("float", "exact"))
        self.backend = backend
        get_backend(backend)
        self.populations: list[Population] = []
        self.poisson: list[PoissonGroup] = []
        self.sources: list[SpikeSource] = []
        self.projections: list[Projection] = []
        self.currents: list[CurrentInput] = []
        self.drives: list[PoissonInput] = []
        self.monitors: list[SpikeMonitor | StateMonitor | RateMonitor] = []
        self.simulation: Simulation | None = None
        self.interrupted = False

    # -- building ------------------------------------------------------------------------------
    def add(self, *objects: Any) -> Network:
        if self.simulation is not None:
            raise RuntimeError("the network has run already: add every object before run()")
        kinds = ((Population, self.populations), (PoissonGroup, self.poisson),
                 (SpikeSource, self.sources), (Projection, self.projections),
                 (CurrentInput, self.currents), (PoissonInput, self.drives),
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
        for cur in self.currents + self.drives:
            if not known(cur.target):
                raise ValueError(f"a {type(cur).__name__} targets a population that was not "
                                 "added")

    @property
    def n_neurons(self) -> int:
        return sum(p.n for p in self.populations)

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections)

    def memory_estimate(self, duration_s: float | None = None, *,
                        chunk_steps: int = 2000) -> int:
        """Bytes the simulation will allocate: synapses and their row pointers, neuron state,
        ring buffer, inputs (time-varying currents, spike times), the monitors' buffers for
        chunks of ``chunk_steps`` steps and, given ``duration_s``, what the state and rate
        monitors will record in a run that long. Spike monitors grow with the activity (12
        bytes per recorded spike) and are not included."""
        n = self.n_neurons
        n_src = n + sum(g.n for g in self.poisson) + sum(g.n for g in self.sources)
        keys = {(p.target, int(d), *weight_class(p)) for p in self.projections
                for d in np.unique(p.delay_steps)}  # the synapse groups build_records makes
        depth = max([k[1] for k in keys], default=0) + 1
        item = self.dtype.itemsize
        exact = self.accumulate == "exact"
        ring_item = 8 if exact else item
        timed_rows = max([c.values.shape[0] for c in self.currents], default=0)
        spike_times = sum(len(s.times_s) for s in self.sources)
        total = (synapse_bytes(self.n_synapses, n_src, max(len(keys), 1))
                 + (4 * self.n_synapses if exact else 0)
                 + n * (5 * item + 4 + 1) + depth * 3 * n * ring_item + n_src * 5
                 + timed_rows * n * item + 20 * spike_times
                 + self._recording_bytes(chunk_steps) + 12 * 4 * n_src)
        if duration_s is not None:
            duration_s = check_scalar("duration_s", duration_s, nonnegative=True)
            total += self._recording_bytes(int(round(duration_s / self.dt_s)))
        return int(total)

    def _recording_bytes(self, n_steps: int) -> int:
        """What the state and rate monitors keep for ``n_steps`` steps."""
        total = 0
        for mon in self.monitors:
            if isinstance(mon, StateMonitor):
                rows = -(-n_steps // mon.every)
                total += rows * (3 * len(mon.recorded) * self.dtype.itemsize + 8)
            elif isinstance(mon, RateMonitor):
                total += n_steps * len(self.populations) * 4
        return total

    @property
    def steps_done(self) -> int:
        """Steps simulated so far (``steps_done * dt_s`` seconds)."""
        return self.simulation.steps_done if self.simulation is not None else 0

    @property
    def t_steps(self) -> int:
        """Deprecated name of :attr:`steps_done`."""
        warnings.warn("Network.t_steps is renamed steps_done", DeprecationWarning, stacklevel=2)
        return self.steps_done

    @property
    def run_s(self) -> float:
        """Seconds spent in kernel calls over all runs (compilation included in the first)."""
        return self.simulation.run_s if self.simulation is not None else 0.0

    def build(self, *, chunk_steps: int = 2000) -> Simulation:
        """Turn every object into the kernels' records and hand them to the backend (uploaded
        once on CUDA); done at the first run. Monitor buffers hold ``chunk_steps`` steps."""
        if self.simulation is not None:
            return self.simulation
        if not self.populations:
            raise ValueError("the network has no Population of neurons")
        self._check_membership()
        state_monitor_of(self)  # at most one StateMonitor
        check_indices(self)  # what the kernels will index, before any size is estimated
        check_fits(self.memory_estimate(), "this network")
        offsets = source_offsets(self.populations, self.poisson, self.sources)
        records = build_records(self, offsets, chunk_steps)
        self._max_delay = int(records.synapses.delay.max(initial=0))
        kernels = get_backend(self.backend)
        self.simulation = Simulation(
            kernels=kernels, records=kernels.network_upload(records), offsets=offsets,
            population_rows={id(p): k for k, p in enumerate(self.populations)},
            chunk_steps=chunk_steps)
        return self.simulation

    # -- running -------------------------------------------------------------------------------
    def run(self, duration_s: float, *, progress: bool = True,
            chunk_steps: int = 2000) -> Network:
        """Advance the network by ``duration_s`` (a whole number of steps).

        A Ctrl-C stops the run between chunks; the monitors keep what they recorded up to
        there, ``interrupted`` is set, and the ``KeyboardInterrupt`` propagates.
        """
        duration_s = check_scalar("duration_s", duration_s, positive=True)
        if not duration_s / self.dt_s < 2**62:
            raise ValueError(f"a run of {duration_s!r} s is {duration_s / self.dt_s:.3g} steps "
                             f"of dt_s = {self.dt_s!r}; the clock counts at most 2**62 steps")
        n_steps = int(round(duration_s / self.dt_s))
        if n_steps == 0 or not math.isclose(n_steps * self.dt_s, duration_s, rel_tol=1e-9,
                                            abs_tol=1e-12):
            raise ValueError(f"duration_s must be a positive multiple of dt_s={self.dt_s}, got "
                             f"{duration_s}")
        if self.steps_done + n_steps >= 2**62:
            raise ValueError(f"a run of {duration_s!r} s is {n_steps:.3g} steps of dt_s = "
                             f"{self.dt_s!r}; the clock counts at most 2**62 steps")
        chunk_steps = check_scalar("chunk_steps", chunk_steps, positive=True, integer=True)
        sim = self.build(chunk_steps=chunk_steps)
        check_fits(self._recording_bytes(n_steps), f"recording a run of {n_steps:,} steps",
                   "record fewer neurons or every k-th step (StateMonitor(every=k))")
        if chunk_steps != sim.chunk_steps:  # monitor buffers sized for another chunk length
            recorders = build_recorders(self, sim.offsets, chunk_steps)
            sim.records = sim.records._replace(recorders=sim.kernels.network_upload(recorders))
            sim.chunk_steps = chunk_steps
        for mon in self.monitors:
            mon.dt_s = self.dt_s
        self.interrupted = False
        try:
            run_chunks(sim, self.monitors, n_steps, progress=progress)
        except KeyboardInterrupt:
            self.interrupted = True
            raise
        return self

    # -- views of the state ---------------------------------------------------------------------
    def state_of(self, population: Population) -> dict[str, np.ndarray]:
        """Current ``v``, ``ge``, ``gi`` and refractory counters (steps the neuron is still
        held) of a population (copies)."""
        sim = self.build()
        neurons = sim.kernels.network_download(sim.records.neurons)
        lo = sim.offsets[id(population)]
        sl = slice(lo, lo + population.n)
        return {"v": neurons.v[sl].copy(), "ge": neurons.ge[sl].copy(),
                "gi": neurons.gi[sl].copy(), "refractory": np.maximum(neurons.refrac[sl] - 1, 0)}
