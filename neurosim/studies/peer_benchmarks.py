"""neurosim and its peers measured side by side: the code behind ``neurosim bench`` and the
scripts in ``benchmarks/``.

CUBA (``benchmarks/bench_cuba.py``, ``neurosim bench cuba``): Brian2's side is written as
Brian2's own CUBA example (``brian2/examples/CUBA.py``: one ``NeuronGroup`` in volts with
``method='exact'``, two ``Synapses`` with ``on_pre='ge += we'``/``'gi += wi'``), given the same
connectivity (``connect(i=..., j=...)``), initial potentials and weights as neurosim's
:func:`~neurosim.network.cuba.build_cuba`. It runs in a fresh subprocess per configuration
(its device is global state), in ``cpp_standalone`` mode; its time is the generated binary's
own simulation time (``device._last_run_time``), so code generation and C++ compilation are
excluded, as neurosim's JIT compilation is. Both sides: one untimed warm-up run, then the
median of ``repeats`` timed runs (Brian2 re-executes the compiled binary, no recompilation).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.network.cuba import build_cuba, isi_cv, mean_rate_hz
from neurosim.network.monitors import RateMonitor, SpikeMonitor
from neurosim.network.network import Network

#: The CUBA rates of neurosim and Brian2 must agree within this relative difference (the
#: network is chaotic: the two runs share connectivity and initial state, not every spike).
CUBA_RATE_TOLERANCE = 0.10


def summarise(times: list[float], warmup: int = 1) -> dict[str, Any]:
    """Median, min, max and every time (the shape of ``benchmarks/common.measure``)."""
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "times_s": list(times), "repeats": len(times), "warmup_calls": warmup}


def _measure(fn: Callable, repeats: int, *, setup: Callable) -> dict[str, Any]:
    """One untimed warm-up call, then the median of ``repeats`` timed calls (``setup``
    untimed before each); ``benchmarks/common.measure`` does the same for the scripts."""
    times, last = [], None
    for k in range(1 + repeats):
        arg = setup()
        t0 = time.perf_counter()
        last = fn(arg)
        if k:
            times.append(time.perf_counter() - t0)
    return {**summarise(times), "last": last}


def cuba_parts(n: int, seed: int = 0) -> dict[str, Any]:
    """The CUBA network's populations and projections (built once: a fresh
    :class:`Network` of the same objects starts again from the same initial state)."""
    net, mons = build_cuba(n, seed=seed, dtype=np.float64, record_spikes=False)
    return {"n": n, "seed": seed, "dt_s": net.dt_s, "exc": mons["exc"], "inh": mons["inh"],
            "projections": list(net.projections)}


def cuba_network(parts: dict[str, Any], dtype: Any = np.float32,
                 backend: str = "cpu") -> tuple[Network, dict]:
    """A fresh network (state at its initial values) of ``parts``, with monitors as
    :func:`build_cuba` makes them."""
    exc, inh = parts["exc"], parts["inh"]
    mons = {"exc": exc, "inh": inh, "rate_exc": RateMonitor(exc), "rate_inh": RateMonitor(inh),
            "spikes_exc": SpikeMonitor(exc), "spikes_inh": SpikeMonitor(inh)}
    net = Network(parts["dt_s"], dtype=dtype, backend=backend).add(exc, inh,
                                                                   *parts["projections"])
    net.add(mons["rate_exc"], mons["rate_inh"], mons["spikes_exc"], mons["spikes_inh"])
    return net, mons


def cuba_arrays(parts: dict[str, Any]) -> dict[str, Any]:
    """What Brian2's script needs: initial potentials (mV), the exc/inh synapses as global
    (i, j) indices (exc neurons first, then inh) and the weights (the float32 values neurosim
    stores, in mV)."""
    exc, inh = parts["exc"], parts["inh"]
    offset = {id(exc): 0, id(inh): exc.n}
    out: dict[str, Any] = {"n": exc.n + inh.n, "n_exc": exc.n,
                           "v0": np.concatenate([exc.v0, inh.v0]).astype(np.float64)}
    for target in ("exc", "inh"):
        projs = [p for p in parts["projections"] if p.target == target]
        out[f"{target}_i"] = np.concatenate([p.pre_idx.astype(np.int64) + offset[id(p.pre)]
                                             for p in projs])
        out[f"{target}_j"] = np.concatenate([p.post_idx.astype(np.int64) + offset[id(p.post)]
                                             for p in projs])
        weights = np.unique(np.concatenate([p.weight for p in projs]))
        if weights.size != 1:
            raise ValueError("Brian2's CUBA example has one weight per synapse type")
        out[f"w_{target}"] = float(weights[0])
    return out


def spike_arrays(mons: dict) -> tuple[np.ndarray, np.ndarray]:
    """(steps, global indices) of a CUBA run's spikes (exc neurons first)."""
    steps = np.concatenate([mons["spikes_exc"].steps, mons["spikes_inh"].steps])
    idx = np.concatenate([mons["spikes_exc"].indices, mons["spikes_inh"].indices + mons["exc"].n])
    return steps.astype(np.int64), idx.astype(np.int64)


def neurosim_cuba(n: int, duration_s: float, *, seed: int = 0, backend: str = "cpu",
                  dtype: Any = np.float32, repeats: int = 5, parts: dict | None = None,
                  measure: Callable | None = None) -> dict[str, Any]:
    """Time the CUBA network in neurosim: one untimed warm-up run (JIT compilation), then the
    median of ``repeats`` runs of a fresh network (built outside the timed call).
    ``measure``: ``benchmarks/common.measure`` in the scripts (same statistic)."""
    t0 = time.perf_counter()
    warm, _ = build_cuba(100, seed=seed, dtype=dtype, backend=backend)
    warm.run(0.002, progress=False)  # compiles the kernel variant used below
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    parts = parts if parts is not None else cuba_parts(n, seed)
    build_s = time.perf_counter() - t0

    def setup():
        net, mons = cuba_network(parts, dtype, backend)
        net.build()  # flatten to kernel arrays outside the timed run
        return net, mons

    def run(built):
        built[0].run(duration_s, progress=False)
        return built

    m = (measure or _measure)(run, max(1, repeats), setup=setup)
    net, mons = m["last"]
    timing = {k: v for k, v in m.items() if k != "last"}
    steps, idx = spike_arrays(mons)
    run_s = timing["median_s"]
    n_steps = int(round(duration_s / net.dt_s))
    return {
        "neurons": n, "synapses": net.n_synapses, "neurosim_s": run_s, "neurosim_timing": timing,
        "neurosim_rate_hz": mean_rate_hz(mons), "neurosim_cv_isi": isi_cv(steps, idx),
        "neurosim_spikes": int(steps.size),
        "neurosim_compile_s": compile_s, "neurosim_build_s": build_s,
        "neurosim_backend": backend, "neurosim_dtype": np.dtype(dtype).name,
        "neuron_updates_per_s": n * n_steps / run_s,
        "synaptic_events_per_s": steps.size * (net.n_synapses / n) / run_s,
    }


def brian2_cuba_example(arrays: dict[str, Any], duration_s: float, *,
                        record: int | None = None) -> dict[str, Any]:
    """Brian2's CUBA example (``examples/CUBA.py``) with neurosim's connectivity, initial
    potentials and weights; runs (or, with ``build_on_run=False``, records) ``duration_s``.
    Returns its monitors: ``"spikes"`` and, with ``record`` (a neuron), ``"state"`` (v, ge, gi
    in volts). Written as a Brian2 user writes it; the device and target are the caller's."""
    from brian2 import (
        NeuronGroup,
        SpikeMonitor,
        StateMonitor,
        Synapses,
        defaultclock,
        ms,
        mV,
        run,
        second,
        start_scope,
    )

    start_scope()
    defaultclock.dt = 0.1 * ms
    taum = 20 * ms
    taue = 5 * ms
    taui = 10 * ms
    Vt = -50 * mV
    Vr = -60 * mV
    El = -49 * mV
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    P = NeuronGroup(arrays["n"], eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                    method="exact")
    P.v = arrays["v0"] * mV
    P.ge = 0 * mV
    P.gi = 0 * mV
    we = arrays["w_exc"] * mV  # excitatory synaptic weight (voltage)
    wi = arrays["w_inh"] * mV  # inhibitory synaptic weight
    Ce = Synapses(P, P, on_pre="ge += we")
    Ci = Synapses(P, P, on_pre="gi += wi")
    Ce.connect(i=arrays["exc_i"], j=arrays["exc_j"])
    Ci.connect(i=arrays["inh_i"], j=arrays["inh_j"])
    s_mon = SpikeMonitor(P)
    state = StateMonitor(P, ["v", "ge", "gi"], record=[record]) if record is not None else None
    _ = (taum, taue, taui, Vt, Vr, El, we, wi, Ce, Ci)  # used by name in the equations
    run(duration_s * second)  # collects the Brian2 objects of this function, as in the example
    return {"spikes": s_mon} if state is None else {"spikes": s_mon, "state": state}


_BRIAN2_SCRIPT = r"""
import json, sys, time
import numpy as np
import brian2
from neurosim.studies.peer_benchmarks import brian2_cuba_example
cfg = json.loads(sys.argv[1])
brian2.prefs.logging.std_redirection = False
if cfg["dtype"] == "float32":
    brian2.prefs.core.default_float_dtype = brian2.float32
standalone = cfg["target"] == "cpp_standalone"
if standalone:
    brian2.set_device("cpp_standalone", directory=cfg["workdir"], build_on_run=False)
    # one thread: Brian2's default serial code (0), not OpenMP with one thread (about 3x slower)
    brian2.prefs.devices.cpp_standalone.openmp_threads = (
        0 if cfg["threads"] <= 1 else cfg["threads"])
else:
    brian2.prefs.codegen.target = cfg["target"]
with np.load(cfg["arrays"]) as f:
    arrays = {k: (f[k] if f[k].ndim else f[k].item()) for k in f.files}
t0 = time.perf_counter()
mons = brian2_cuba_example(arrays, cfg["duration_s"])
if standalone:
    # build, compile and run once (the warm-up), then re-run the same binary
    brian2.device.build(directory=cfg["workdir"], compile=True, run=True, with_output=False)
    build_s = time.perf_counter() - t0
    times = []
    for _ in range(cfg["repeats"]):
        brian2.device.run(directory=cfg["workdir"], with_output=False)
        times.append(brian2.device._last_run_time)
else:
    build_s = 0.0
    times = [time.perf_counter() - t0]  # runtime targets: code generation included
s_mon = mons["spikes"]
steps = np.rint(np.asarray(s_mon.t_[:]) / 1e-4).astype(np.int64)
idx = np.asarray(s_mon.i[:]).astype(np.int64)
np.savez(cfg["spikes"], steps=steps, idx=idx)
print(json.dumps({"times_s": times, "build_s": build_s, "threads": cfg["threads"],
                  "total_s": time.perf_counter() - t0}))
"""


def brian2_cuba(n: int, duration_s: float, *, seed: int = 0, threads: int = 1,
                target: str = "cpp_standalone", dtype: Any = np.float32, repeats: int = 5,
                parts: dict | None = None, workdir: str | None = None,
                timeout_s: float = 1800) -> dict[str, Any]:
    """Run Brian2's CUBA example on neurosim's network (same connectivity, initial state and
    weights) in a fresh subprocess: ``cpp_standalone`` (``threads`` OpenMP threads; one
    warm-up run, then ``repeats`` re-runs of the compiled binary, its own run time) or a
    runtime target (one run, code generation included). ``workdir``: the standalone project
    folder; reusing one across sizes lets ``make`` recompile only what changed."""
    parts = parts if parts is not None else cuba_parts(n, seed)
    dtype = np.dtype(dtype).name
    with tempfile.TemporaryDirectory(prefix="neurosim_brian2_") as tmp:
        tmp_path = Path(tmp)
        arrays = cuba_arrays(parts)
        np.savez(tmp_path / "arrays.npz", **arrays)
        cfg = {"duration_s": duration_s, "threads": threads, "target": target, "dtype": dtype,
               "repeats": max(1, repeats), "workdir": workdir or str(tmp_path / "project"),
               "arrays": str(tmp_path / "arrays.npz"), "spikes": str(tmp_path / "spikes.npz")}
        proc = subprocess.run([sys.executable, "-c", _BRIAN2_SCRIPT, json.dumps(cfg)],
                              capture_output=True, text=True, timeout=timeout_s,
                              env={**os.environ, "OMP_NUM_THREADS": str(threads)})
        if proc.returncode != 0:
            raise RuntimeError(f"Brian2 run failed: {proc.stderr.strip().splitlines()[-3:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        with np.load(tmp_path / "spikes.npz") as f:
            steps, idx = f["steps"], f["idx"]
    timing = summarise(out["times_s"], warmup=1 if target == "cpp_standalone" else 0)
    return {"brian2_s": timing["median_s"], "brian2_timing": timing,
            "brian2_rate_hz": steps.size / (arrays["n"] * duration_s),
            "brian2_cv_isi": isi_cv(steps, idx), "brian2_spikes": int(steps.size),
            "brian2_build_s": out["build_s"], "threads": threads, "target": target,
            "dtype": dtype, "brian2_total_s": out["total_s"]}


def bench_cuba(n: int, duration_s: float, *, compare: str | None = "brian2", seed: int = 0,
               backend: str = "cpu", brian2_target: str = "cpp_standalone", threads: int = 1,
               dtype: Any = np.float32, repeats: int = 5, parts: dict | None = None,
               measure: Callable | None = None, workdir: str | None = None) -> dict[str, Any]:
    """The CUBA benchmark at one size, dtype and thread count: neurosim vs Brian2's CUBA
    example at the same dtype and thread count (the caller limits neurosim's threads, e.g.
    ``benchmarks/common.threads``); medians of ``repeats`` runs; rates compared within
    :data:`CUBA_RATE_TOLERANCE`."""
    parts = parts if parts is not None else cuba_parts(n, seed)
    result = neurosim_cuba(n, duration_s, seed=seed, backend=backend, dtype=dtype,
                           repeats=repeats, parts=parts, measure=measure)
    result.update(duration_s=duration_s, threads=threads)
    if compare == "brian2":
        theirs = brian2_cuba(n, duration_s, seed=seed, threads=threads, target=brian2_target,
                             dtype=dtype, repeats=repeats, parts=parts, workdir=workdir)
        rate_diff = (abs(result["neurosim_rate_hz"] - theirs["brian2_rate_hz"])
                     / theirs["brian2_rate_hz"])
        result.update({
            "brian2_s": theirs["brian2_s"], "brian2_timing": theirs["brian2_timing"],
            "brian2_rate_hz": theirs["brian2_rate_hz"], "brian2_cv_isi": theirs["brian2_cv_isi"],
            "brian2_spikes": theirs["brian2_spikes"], "brian2_build_s": theirs["brian2_build_s"],
            "brian2_target": brian2_target, "brian2_threads": threads,
            "brian2_formulation": "Brian2's CUBA example (examples/CUBA.py), neurosim's "
                                  "connectivity, initial v and weights",
            "speedup": theirs["brian2_s"] / result["neurosim_s"],
            "rate_rel_diff": rate_diff, "rate_tolerance": CUBA_RATE_TOLERANCE,
            "rates_match": bool(rate_diff <= CUBA_RATE_TOLERANCE),
        })
    return result


# The conversion benchmark (neurosim vs native snnTorch and SpikingJelly) lives in
# neurosim.studies.convert_benchmarks.
