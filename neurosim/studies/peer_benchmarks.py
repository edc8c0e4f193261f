"""neurosim and its peers measured side by side: the code behind ``neurosim bench`` and the
scripts in ``benchmarks/``.

Brian2 runs in a fresh subprocess per configuration (its device is global state), in
``cpp_standalone`` mode; its time is the generated binary's own simulation time
(``device._last_run_time``), so code generation and C++ compilation are excluded, as neurosim's
JIT compilation is (a warm-up run first; the compile time is reported separately).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

from neurosim.network.cuba import build_cuba, isi_cv, mean_rate_hz


def neurosim_cuba(n: int, duration_s: float, *, seed: int = 0, backend: str = "cpu",
                  dtype: Any = np.float32, repeats: int = 1) -> dict[str, Any]:
    """Build and time the CUBA network in neurosim (JIT warm-up excluded and reported).

    With ``repeats > 1`` the fastest of several fresh runs of the same network is reported."""
    t0 = time.perf_counter()
    warm, _ = build_cuba(100, seed=seed, dtype=dtype, backend=backend)
    warm.run(0.002, progress=False)  # compiles the kernel variant used below
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    net, mons = build_cuba(n, seed=seed, dtype=dtype, backend=backend)
    net.build()  # flatten to kernel arrays outside the timed run
    build_s = time.perf_counter() - t0
    run_s = float("inf")
    for attempt in range(repeats):
        if attempt:
            net, mons = build_cuba(n, seed=seed, dtype=dtype, backend=backend)
            net.build()
        t0 = time.perf_counter()
        net.run(duration_s, progress=False)
        run_s = min(run_s, time.perf_counter() - t0)
    spike_steps = np.concatenate([mons["spikes_exc"].steps, mons["spikes_inh"].steps])
    idx = np.concatenate([mons["spikes_exc"].indices,
                          mons["spikes_inh"].indices + mons["exc"].n])
    steps = int(round(duration_s / net.dt_s))
    n_spikes = int(spike_steps.size)
    return {
        "neurons": n, "synapses": net.n_synapses, "neurosim_s": run_s,
        "neurosim_rate_hz": mean_rate_hz(mons), "neurosim_cv_isi": isi_cv(spike_steps, idx),
        "neurosim_compile_s": compile_s, "neurosim_build_s": build_s,
        "neurosim_backend": backend, "neurosim_dtype": np.dtype(dtype).name,
        "neuron_updates_per_s": n * steps / run_s,
        "synaptic_events_per_s": n_spikes * (net.n_synapses / n) / run_s,
    }


_BRIAN2_SCRIPT = r"""
import json, sys, time, numpy as np, brian2 as b2
from neurosim.network.cuba import build_cuba, isi_cv
from neurosim.interop.brian2 import to_brian2
n, duration_s, seed, threads, target, workdir = (int(sys.argv[1]), float(sys.argv[2]),
    int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
b2.prefs.logging.std_redirection = False
if target == "cpp_standalone":
    b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = threads
else:
    b2.prefs.codegen.target = target
net, mons = build_cuba(n, seed=seed, dtype=np.float64)
model = to_brian2(net, duration_s)
t0 = time.perf_counter()
model.network.run(duration_s * b2.second)
if target == "cpp_standalone":
    b2.device.build(directory=workdir, compile=True, run=True)
    run_s = b2.device._last_run_time
else:
    run_s = time.perf_counter() - t0
steps, idx = [], []
for k, pop in enumerate(net.populations):
    s, i = model.spike_steps(pop)
    steps.append(s); idx.append(i + sum(p.n for p in net.populations[:k]))
steps, idx = np.concatenate(steps), np.concatenate(idx)
print(json.dumps({"brian2_s": run_s, "brian2_rate_hz": steps.size / (n * duration_s),
                  "brian2_cv_isi": isi_cv(steps, idx), "threads": threads,
                  "brian2_total_s": time.perf_counter() - t0}))
"""


def brian2_cuba(n: int, duration_s: float, *, seed: int = 0, threads: int = 1,
                target: str = "cpp_standalone", timeout_s: float = 1800) -> dict[str, Any]:
    """Run the same CUBA network (same connectivity and initial state) in Brian2."""
    with tempfile.TemporaryDirectory(prefix="neurosim_brian2_") as workdir:
        proc = subprocess.run(
            [sys.executable, "-c", _BRIAN2_SCRIPT, str(n), str(duration_s), str(seed),
             str(threads), target, workdir],
            capture_output=True, text=True, timeout=timeout_s,
            env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if proc.returncode != 0:
        raise RuntimeError(f"Brian2 run failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_cuba(n: int, duration_s: float, *, compare: str | None = "brian2", seed: int = 0,
               backend: str = "cpu", brian2_target: str = "cpp_standalone",
               brian2_threads: tuple[int, ...] = (1, 2), repeats: int = 1) -> dict[str, Any]:
    """The CUBA benchmark: neurosim vs Brian2 (the better of its thread counts)."""
    result = neurosim_cuba(n, duration_s, seed=seed, backend=backend, repeats=repeats)
    result["duration_s"] = duration_s
    if compare == "brian2":
        runs = [brian2_cuba(n, duration_s, seed=seed, threads=k, target=brian2_target)
                for k in (brian2_threads if brian2_target == "cpp_standalone" else (1,))]
        best = min(runs, key=lambda r: r["brian2_s"])
        result.update({
            "brian2_s": best["brian2_s"], "brian2_rate_hz": best["brian2_rate_hz"],
            "brian2_cv_isi": best["brian2_cv_isi"], "brian2_target": brian2_target,
            "brian2_threads": best["threads"],
            "brian2_runs": [{"threads": r["threads"], "s": r["brian2_s"]} for r in runs],
            "speedup": best["brian2_s"] / result["neurosim_s"],
            "rate_rel_diff": abs(result["neurosim_rate_hz"] - best["brian2_rate_hz"])
            / best["brian2_rate_hz"],
        })
    return result


def _best_time_s(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_convert(model: Any, x: Any, calibration: Any, *, timesteps: int = 32,
                  compare: str | None = "snntorch", repeats: int = 3) -> dict[str, Any]:
    """Images per second of the converted network in neurosim, in snnTorch (``snn.Leaky``,
    beta 1, reset by subtraction, ``nn.MaxPool2d`` on spikes, constant input, same T and batch,
    a Python loop over steps as snnTorch runs) and of the ANN itself, on one batch ``x``."""
    import torch

    from neurosim.convert import convert

    torch.set_num_threads(max(1, torch.get_num_threads()))
    x = torch.as_tensor(x, dtype=torch.float32)
    snn = convert(model, calibration)
    snn.simulate(x[:4], timesteps)  # compile the kernels
    ours_s = _best_time_s(lambda: snn.simulate(x, timesteps), repeats)
    with torch.no_grad():
        model.eval()
        model(x[:4])
        ann_s = _best_time_s(lambda: model(x), repeats)
    result = {"batch": len(x), "timesteps": timesteps,
              "neurosim_images_per_s": len(x) / ours_s, "ann_images_per_s": len(x) / ann_s,
              "neurosim_s": ours_s, "ann_s": ann_s, "threads": torch.get_num_threads()}
    if compare == "snntorch":
        from neurosim.interop.snntorch import to_snntorch

        peer = to_snntorch(snn, maxpool="plain")
        with torch.no_grad():
            peer(x[:4], 2)
            theirs_s = _best_time_s(lambda: peer(x, timesteps), repeats)
        result.update(snntorch_images_per_s=len(x) / theirs_s, snntorch_s=theirs_s,
                      speedup=theirs_s / ours_s)
    return result
