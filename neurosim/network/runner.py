"""The chunked driver of ``Network.run``: kernel calls, monitor read-out, progress, Ctrl-C.

It works on a :class:`Simulation` (the backend, the records on that backend and the numbering
of groups) and the network's monitors; it never imports the ``Network`` class (that module
imports this one).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from neurosim.kernels.records import Clock, NetworkRecords, Readout
from neurosim.network.monitors import RateMonitor, SpikeMonitor, StateMonitor


@dataclass
class Simulation:
    """A built network on its backend: records (device-resident on CUDA) and bookkeeping."""

    kernels: ModuleType  # the backend's kernel module
    records: NetworkRecords  # as the backend holds them (device arrays on CUDA)
    offsets: dict  # id(group) -> global index of its first neuron or source
    population_rows: dict  # id(population) -> its row in records.populations
    chunk_steps: int  # the recorders hold this many steps
    steps_done: int = 0  # steps simulated so far (the network's clock)
    run_s: float = 0.0  # seconds spent in kernel calls
    plastic_index: dict = field(default_factory=dict)  # id(projection) -> synapse positions


def run_chunks(sim: Simulation, monitors: list, n_steps: int, *, progress: bool) -> None:
    """Advance ``sim`` by ``n_steps`` steps, one kernel call per chunk, handing what each call
    recorded to the monitors."""
    spike_mons = [m for m in monitors if isinstance(m, SpikeMonitor)]
    state_mons = [m for m in monitors if isinstance(m, StateMonitor)]
    rate_mons = [m for m in monitors if isinstance(m, RateMonitor)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_steps, unit="step", desc="simulating", leave=False,
                   disable=n_steps < 20_000)
    done = 0
    try:
        with _interrupts_between_chunks() as interrupted:
            while done < n_steps:
                if interrupted():
                    raise KeyboardInterrupt
                steps = min(sim.chunk_steps, n_steps - done)
                t0 = sim.steps_done
                start = time.perf_counter()
                # a chunk and its bookkeeping are one unit: a Ctrl-C arriving meanwhile waits
                # for the end of the chunk, so the clock always says where the state is
                sim.kernels.network_run(Clock(t0, steps), sim.records)
                out = sim.kernels.read_recorders(sim.records.recorders)
                sim.run_s += time.perf_counter() - start
                _hand_out(sim, out, t0, spike_mons, state_mons, rate_mons)
                sim.steps_done += out.steps_done
                done += out.steps_done
                if bar is not None:
                    bar.update(out.steps_done)
    finally:
        if bar is not None:
            bar.close()


@contextlib.contextmanager
def _interrupts_between_chunks() -> Iterator:
    """Defer SIGINT (Ctrl-C) to the next chunk boundary, where it becomes a
    ``KeyboardInterrupt`` (whatever handler was set before, e.g. Brian2's, is put back after the
    run); yields a function telling whether one arrived. Outside the main thread (where handlers
    cannot be set) nothing changes."""
    pending = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = signal.getsignal(signal.SIGINT)  # restored afterwards, whoever set it

    def defer(signum, frame):
        pending.append(signum)

    signal.signal(signal.SIGINT, defer)
    try:
        yield lambda: bool(pending)
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt


def _hand_out(sim: Simulation, out: Readout, t0: int, spike_mons: list, state_mons: list,
              rate_mons: list) -> None:
    if len(out.spike_step):
        order = np.lexsort((out.spike_source, out.spike_step))  # CUDA collects in any order
        steps, sources = out.spike_step[order], out.spike_source[order]
        for mon in spike_mons:
            lo = sim.offsets[id(mon.source)]
            mine = (sources >= lo) & (sources < lo + mon.source.n)
            local = sources[mine] - lo
            keep = np.isin(local, mon.recorded)
            mon._append(steps[mine][keep], local[keep])
    for mon in state_mons:
        rows = len(out.state_v)
        every = mon.every
        first = t0 + (-t0 % every)
        values = np.stack([out.state_v, out.state_ge, out.state_gi], axis=1)
        mon._append(np.arange(first, t0 + out.steps_done, every)[:rows], values)
    for mon in rate_mons:
        mon._counts.append(out.rate[:, sim.population_rows[id(mon.population)]].copy())
