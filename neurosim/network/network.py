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
from neurosim.checks import check_array, check_choice, check_dtype_arg, check_scalar
from neurosim.network.build import (
    build_recorders,
    build_records,
    cast_finite,
    check_indices,
    source_offsets,
    state_monitor_of,
    weight_class,
)
from neurosim.network.memory import check_fits, synapse_bytes
from neurosim.network.monitors import RateMonitor, SpikeMonitor, StateMonitor
from neurosim.network.plasticity import plastic_projections
from neurosim.network.populations import (
    CurrentInput,
    PoissonGroup,
    PoissonInput,
    Population,
    SpikeSource,
)
from neurosim.network.projections import Projection
from neurosim.network.runner import Simulation, run_chunks

#: What a plastic synapse costs (see :class:`~neurosim.kernels.records.Plasticity`).
PLASTIC_BYTES_PER_SYNAPSE = 4 + 4 + 4 + 8 + 8


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
        fixed = [p for p in self.projections if p.plasticity is None]
        keys = {(p.target, int(d), *weight_class(p)) for p in fixed
                for d in np.unique(p.delay_steps)}  # the synapse groups build_records makes
        depth = max([k[1] for k in keys], default=0) + 1
        plastic = plastic_projections(self)
        lanes = sum(len(np.unique(p.delay_steps)) for p in plastic)
        plastic_depth = max([int(np.max(p.delay_steps)) for p in plastic], default=0) + 2
        n_fixed = sum(p.n_synapses for p in fixed)
        item = self.dtype.itemsize
        exact = self.accumulate == "exact"
        ring_item = 8 if exact else item
        timed_rows = max([c.values.shape[0] for c in self.currents], default=0)
        spike_times = sum(len(s.times_s) for s in self.sources)
        total = (synapse_bytes(n_fixed, n_src, max(len(keys), 1))
                 + (4 * n_fixed if exact else 0)
                 # plastic synapses: post, source slot and delay (int32), weight (float64),
                 # the by-neuron index (int64), row pointers per lane, traces and spike history
                 + sum(p.n_synapses for p in plastic) * PLASTIC_BYTES_PER_SYNAPSE
                 + lanes * (n_src + 1) * 8
                 + plastic_depth * (16 * sum(p.pre.n for p in plastic) + 4 * n_src)
                 + 16 * sum(p.post.n for p in plastic)
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
        records, plastic_index = build_records(self, offsets, chunk_steps)
        self._max_delay = int(records.synapses.delay.max(initial=0))
        kernels = get_backend(self.backend)
        self.simulation = Simulation(
            kernels=kernels, records=kernels.network_upload(records), offsets=offsets,
            population_rows={id(p): k for k, p in enumerate(self.populations)},
            chunk_steps=chunk_steps, plastic_index=plastic_index)
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
                "gi": neurons.gi[sl].copy(), "refractory": np.maximum(neurons.refrac[sl] - 1, 0),
                "theta": neurons.theta[sl].copy()}

    def set_state(self, population: Population, **values: Any) -> None:
        """Set ``v``, ``ge``, ``gi`` or ``theta`` (a scalar or one value per neuron) of a
        population, e.g. to start every stimulus from rest or to restore thresholds."""
        self._check_group(population, self.populations, "population")
        sim = self.build()
        lo = sim.offsets[id(population)]
        for name, value in values.items():
            if name not in ("v", "ge", "gi", "theta"):
                raise ValueError(f"set_state sets v, ge, gi or theta, not {name!r}")
            array = population._per_neuron(name, value)
            state = getattr(sim.records.neurons, name)
            state[lo:lo + population.n] = cast_finite(name, array, state.dtype)

    def set_poisson_rates(self, group: PoissonGroup, rate_hz: Any) -> None:
        """New rates (Hz, a scalar or one per source) for a Poisson group, from the next
        step on (e.g. the next stimulus); the random streams continue."""
        self._check_group(group, self.poisson, "PoissonGroup")
        rates = check_array("rate_hz", rate_hz, ndim=(0, 1), dtype=np.float64)
        if rates.ndim == 1 and rates.shape != (group.n,):
            raise ValueError(f"rate_hz must be a scalar or have shape ({group.n},), got "
                             f"{rates.shape}")
        if not np.all(np.isfinite(rates)) or rates.min(initial=0) < 0 \
                or rates.max(initial=0) * self.dt_s > 1:
            raise ValueError(f"rate_hz must be finite, in [0, 1/dt_s = {1 / self.dt_s:g}]")
        sim = self.build()
        lo = sim.offsets[id(group)] - self.n_neurons
        p = np.broadcast_to(rates * self.dt_s, (group.n,))
        sim.records.sources.poisson_p[lo:lo + group.n] = np.ascontiguousarray(p)

    # -- plasticity ------------------------------------------------------------------------------
    def _plastic(self, projection: Projection) -> tuple[Simulation, np.ndarray, int]:
        self._check_group(projection, self.projections, "projection")
        sim = self.build()
        if id(projection) not in sim.plastic_index:
            raise ValueError("this projection has no plasticity (build it with plasticity="
                             "STDP(...)): its weights are projection.weight")
        q = [id(p) for p in plastic_projections(self)].index(id(projection))
        return sim, sim.plastic_index[id(projection)], q

    def weights_of(self, projection: Projection) -> np.ndarray:
        """The projection's weights now (float64, in its synapse order: ``pre_idx``,
        ``post_idx``); for a plastic projection, what learning has made of them."""
        if getattr(projection, "plasticity", None) is None:
            return np.asarray(projection.weight, np.float64).copy()
        sim, index, _ = self._plastic(projection)
        return _to_host(sim.records.plasticity.weight)[index]

    def set_weights(self, projection: Projection, weights: Any) -> None:
        """Replace a plastic projection's weights (same order as :meth:`weights_of`)."""
        sim, index, _ = self._plastic(projection)
        weights = check_array("weights", weights, ndim=1, dtype=np.float64, allow_empty=True)
        if weights.shape != index.shape or not np.isfinite(weights).all():
            raise ValueError(f"weights must be {index.size} finite values, got shape "
                             f"{weights.shape}")
        all_weights = _to_host(sim.records.plasticity.weight)
        all_weights[index] = weights
        sim.records.plasticity.weight[:] = all_weights

    def normalize_weights(self, projection: Projection, total: float) -> None:
        """Scale each neuron's incoming weights of a plastic projection so that they sum to
        ``total`` (Diehl & Cook's normalisation; a neuron whose weights sum to 0 keeps them)."""
        total = check_scalar("total", total, positive=True)
        sim, _, q = self._plastic(projection)
        sim.kernels.normalize_weights(sim.records.plasticity, q, total)

    def set_learning(self, enabled: bool, projection: Projection | None = None) -> None:
        """Switch learning on or off for one plastic projection or all of them (traces keep
        running either way, so switching back on is seamless)."""
        if not isinstance(enabled, bool | np.bool_):
            raise TypeError(f"enabled must be True or False, got {enabled!r}")
        sim = self.build()
        flags = _to_host(sim.records.plasticity.enabled)
        if projection is None:
            flags[:] = enabled
        else:
            flags[self._plastic(projection)[2]] = enabled
        sim.records.plasticity.enabled[:] = flags

    def _check_group(self, group: Any, bucket: list, kind: str) -> None:
        if not any(group is g for g in bucket):
            raise ValueError(f"this {kind} is not part of the network (add it first)")


def _to_host(array: Any) -> np.ndarray:
    """A host copy of a host or device array."""
    return array.copy_to_host() if hasattr(array, "copy_to_host") else np.array(array)
