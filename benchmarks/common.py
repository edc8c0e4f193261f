"""What every benchmark in this folder shares: the rules of ``benchmarks/README.md`` as code.

- ``add_options(parser)``: ``--dtype``, ``--repeats`` (default 5), ``--threads`` (``1``, ``all``
  or both), ``--quick``, ``--out``.
- ``threads(n)``: a context that limits *every* library in this process to ``n`` threads
  (Numba, PyTorch, BLAS/OpenMP pools through threadpoolctl) and sets ``OMP_NUM_THREADS`` for
  subprocesses (Brian2's binaries), so both sides of a comparison get the same count.
- ``measure(fn, repeats)``: one untimed warm-up call (compilation and JIT excluded), then
  ``repeats`` timed calls; returns the median and the spread (min, max, every time).
- ``environment(...)``: CPU model, cores, threads, library versions, dtype, repeats, git commit.
- ``write_result(path, payload)``: JSON with the environment, in ``benchmarks/results/``.

Each benchmark script also defines ``render(result) -> str`` (its markdown table), which
``benchmarks/make_tables.py`` uses to regenerate the README's tables from the JSON files.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ROOT = HERE.parent
PEERS = ("numpy", "numba", "torch", "brian2", "snntorch", "sklearn", "spikingjelly", "scipy")


def all_threads() -> int:
    """The cores this process may use (what "all cores" means in the tables)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def thread_counts(option: str) -> list[int]:
    """``--threads`` as a list: ``1``, ``all``, ``1,all`` or a number."""
    counts = []
    for part in option.split(","):
        part = part.strip()
        counts.append(all_threads() if part == "all" else int(part))
    if any(c < 1 for c in counts):
        raise ValueError(f"--threads must be positive or 'all', got {option!r}")
    return list(dict.fromkeys(counts))


@contextlib.contextmanager
def threads(n: int) -> Iterator[int]:
    """Limit Numba, PyTorch and the BLAS/OpenMP pools of this process to ``n`` threads."""
    import numba
    import torch
    from threadpoolctl import threadpool_limits

    n = min(n, numba.config.NUMBA_NUM_THREADS)
    old_numba, old_torch = numba.get_num_threads(), torch.get_num_threads()
    old_env = os.environ.get("OMP_NUM_THREADS")
    numba.set_num_threads(n)
    torch.set_num_threads(n)
    os.environ["OMP_NUM_THREADS"] = str(n)
    try:
        with threadpool_limits(limits=n):
            yield n
    finally:
        numba.set_num_threads(old_numba)
        torch.set_num_threads(old_torch)
        if old_env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = old_env


def measure(fn: Callable[[], Any], repeats: int, *, warmup: int = 1,
            setup: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Median of ``repeats`` timed calls after ``warmup`` untimed ones (compilation excluded).

    ``setup`` (untimed) runs before every call and its result is passed to ``fn``; use it for
    work that must not be timed, such as building a fresh network."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    times = []
    last = None
    for k in range(warmup + repeats):
        arg = setup() if setup is not None else None
        t0 = time.perf_counter()
        last = fn(arg) if setup is not None else fn()
        elapsed = time.perf_counter() - t0
        if k >= warmup:
            times.append(elapsed)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "times_s": times, "repeats": repeats, "warmup_calls": warmup, "last": last}


def measure_interleaved(calls: dict[str, Callable[[int], Any]], repeats: int, *,
                        warmup: int = 1) -> dict[str, dict[str, Any]]:
    """:func:`measure` of several sides, their timed calls interleaved: ``warmup`` untimed
    calls of each side, then ``repeats`` rounds in which every side is timed once (the side
    that goes first rotating). ``calls[name](k)`` gets the call's number ``k`` (0 for the first
    warm-up), e.g. to seed it. A drift of the machine's speed during the run then slows every
    side alike instead of whichever ran in the slow minutes."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    names = list(calls)
    for k in range(warmup):
        for name in names:
            calls[name](k)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            calls[name](warmup + r)
            times[name].append(time.perf_counter() - t0)
    return {name: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t),
                   "times_s": t, "repeats": repeats, "warmup_calls": warmup,
                   "interleaved": True} for name, t in times.items()}


def timing(m: dict[str, Any]) -> dict[str, Any]:
    """``measure``'s result without the returned value (what goes into JSON)."""
    return {k: v for k, v in m.items() if k != "last"}


def run_brian2_script(script: str, cfg: dict[str, Any], threads: int,
                      timeout_s: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run a Brian2 benchmark ``script`` (``python -c``, ``cfg`` as JSON in ``argv[1]``) in a
    fresh process with ``OMP_NUM_THREADS = threads``; it prints one JSON line last with
    ``warmup_s`` (the first, compiling run) and ``times_s`` (the timed reruns). Returns that
    line and its timing (median, min, max of the reruns; the warm-up reported apart)."""
    import sys

    proc = subprocess.run([sys.executable, "-c", script, json.dumps(cfg)], capture_output=True,
                          text=True, timeout=timeout_s, cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if proc.returncode != 0:
        raise RuntimeError("Brian2 run failed: "
                           + " | ".join(proc.stderr.strip().splitlines()[-5:]))
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    times = out["times_s"]
    return out, {"median_s": float(statistics.median(times)), "min_s": min(times),
                 "max_s": max(times), "times_s": times, "repeats": len(times),
                 "warmup_calls": 1, "warmup_s": out["warmup_s"]}


#: Prepended to a Brian2 script run by :class:`Brian2Reruns`: every execution of the compiled
#: binary after the first (the warm-up) waits for a line on stdin, and reports its own run time.
INTERLEAVE_PRELUDE = r"""
import sys
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice as _Device
_run, _calls = _Device.run, [0]
def _interleaved_run(self, *args, **kwargs):
    _calls[0] += 1
    if _calls[0] > 1:
        print("@@ready", flush=True)
        sys.stdin.readline()
    out = _run(self, *args, **kwargs)
    if _calls[0] > 1:
        print(f"@@time {float(self._last_run_time)!r}", flush=True)
    return out
_Device.run = _interleaved_run
"""


class Brian2Reruns:
    """A Brian2 ``cpp_standalone`` benchmark script in its own process whose binary re-runs
    are interleaved with the caller's timed calls: start it, let it build, compile and run once
    (:meth:`ready`), then each :meth:`rerun` executes the compiled binary once and returns its
    own run time; :meth:`finish` returns the script's JSON line and the timing as
    :func:`run_brian2_script` does. The script must re-run the binary ``cfg["repeats"]``
    times (the ``reruns`` of :mod:`neurosim.studies.brian2_gallery`)."""

    def __init__(self, script: str, cfg: dict[str, Any], threads: int) -> None:
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-c", INTERLEAVE_PRELUDE + script, json.dumps(cfg)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "OMP_NUM_THREADS": str(threads)})
        self.repeats = int(cfg["repeats"])
        self.times: list[float] = []
        self.lines: list[str] = []

    def _until(self, prefix: str) -> str:
        for line in self.proc.stdout:
            if line.startswith(prefix):
                return line
            self.lines.append(line)
        self.proc.wait()
        raise RuntimeError("Brian2 run failed: "
                           + " | ".join(self.proc.stderr.read().strip().splitlines()[-5:]))

    def ready(self) -> None:
        """Wait until the binary was built and ran once (the warm-up)."""
        self._until("@@ready")

    def rerun(self) -> float:
        """Execute the binary once more (after :meth:`ready`); its own run time."""
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        self.times.append(float(self._until("@@time").split()[1]))
        if len(self.times) < self.repeats:
            self._until("@@ready")
        return self.times[-1]

    def finish(self, timeout_s: float = 600) -> tuple[dict[str, Any], dict[str, Any]]:
        """The script's last JSON line and the timing of the re-runs."""
        rest, err = self.proc.communicate(timeout=timeout_s)
        if self.proc.returncode != 0:
            raise RuntimeError("Brian2 run failed: " + " | ".join(err.strip().splitlines()[-5:]))
        out = json.loads((self.lines + rest.splitlines())[-1])
        times = self.times
        return out, {"median_s": float(statistics.median(times)), "min_s": min(times),
                     "max_s": max(times), "times_s": times, "repeats": len(times),
                     "warmup_calls": 1, "warmup_s": out["warmup_s"], "interleaved": True}


def _version(name: str) -> str | None:
    try:
        module = importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a peer that is not installed is reported as None
        return None
    return getattr(module, "__version__", "unknown")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode:
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def environment(**settings: Any) -> dict[str, Any]:
    """The machine, the libraries and the benchmark's settings (dtype, repeats, threads...)."""
    import neurosim

    versions = {"neurosim": neurosim.__version__}
    versions.update({name: _version(name) for name in PEERS})
    return {
        "cpu": cpu_model(), "cores": all_threads(), "platform": platform.platform(),
        "python": platform.python_version(), "commit": git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": {k: v for k, v in versions.items() if v is not None},
        "settings": settings,
    }


def write_result(path: str | Path, payload: dict[str, Any], **settings: Any) -> Path:
    """Write ``payload`` plus ``environment(**settings)`` as JSON; returns the path."""
    path = Path(path)
    if path.suffix != ".json":
        path = path.with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"environment": environment(**settings), **payload}
    path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")
    print(f"written {path}")
    return path


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def add_options(parser, *, default_out: str, dtypes: tuple[str, ...] = ("float32", "float64"),
                default_dtype: str = "float32,float64", default_threads: str = "1,all") -> None:
    """The options every benchmark shares."""
    parser.add_argument("--dtype", default=default_dtype,
                        help=f"comma-separated precisions, from {', '.join(dtypes)} "
                             f"(both sides run in the same one; default {default_dtype})")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed runs per side after one untimed warm-up; the median is "
                             "reported with the spread (default 5)")
    parser.add_argument("--threads", default=default_threads,
                        help="thread counts, both sides alike: 1, all or 1,all "
                             f"(default {default_threads})")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, to check the script works (not for the README)")
    parser.add_argument("--out", default=str(RESULTS / default_out),
                        help=f"result JSON (default benchmarks/results/{default_out})")


def parse_dtypes(option: str, allowed: tuple[str, ...] = ("float32", "float64")) -> list[str]:
    dtypes = [d.strip() for d in option.split(",") if d.strip()]
    bad = [d for d in dtypes if d not in allowed]
    if bad or not dtypes:
        raise SystemExit(f"--dtype: choose from {', '.join(allowed)}, got {option!r}")
    return dtypes


def spread(m: dict[str, Any], scale: float = 1.0, fmt: str = "{:.3g}") -> str:
    """``median (min-max)`` of a ``measure`` result, for tables."""
    return (fmt.format(m["median_s"] * scale) + " (" + fmt.format(m["min_s"] * scale) + "-"
            + fmt.format(m["max_s"] * scale) + ")")
