"""Parameter sweeps of gallery models (:mod:`neurosim.gallery`) on a Dask cluster.

:func:`sweep` runs every point of a grid (the Cartesian product of ``{param: [values]}``, plus
``fixed`` parameters) as one Dask task calling :func:`neurosim.gallery.run_model`, and keeps the
results in one CSV table (one row per point): ``key`` (model, sorted parameters, duration and
transient; a point's identity), the parameters, ``duration_s``, ``transient_s``, the statistics
``run_model`` returned, ``task_s`` (wall time of the task: build, run, statistics),
``worker`` (host:pid) and ``error`` (empty when the point succeeded). Rows are appended as tasks
finish, so an interrupted sweep keeps what finished; a rerun with the same table submits only
the points that are missing or failed. :func:`phase_diagram` draws the table as heat maps in the
style of Brunel (2000), Fig. 2.

Compiled kernels are not compiled again in every task: Numba caches them on disk
(``cache=True``, :mod:`neurosim.config`), and the sweep runs the grid's smallest point once in
this process for a few milliseconds before submitting, so that the cache is filled and each
worker loads compiled code from disk (``task_s`` of the first task on each worker shows it).

The local cluster starts its workers as new processes (``spawn``): a script that calls
:func:`sweep` without ``scheduler`` must do so under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import inspect
import itertools
import math
import os
import socket
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurosim import config, gallery
from neurosim.checks import check_choice, check_scalar
from neurosim.studies.sweep_figure import phase_diagram
from neurosim.studies.sweep_table import (
    ERROR,
    KEY,
    RESERVED,
    SweepTable,
    point_key,
    read_table,
    value_text,
)

__all__ = ["SweepPoint", "SweepResult", "grid_points", "phase_diagram", "read_table", "sweep"]

#: Simulated seconds of the warm-up run that fills the compiled-kernel cache.
WARMUP_S = 0.01


@dataclass(frozen=True)
class SweepPoint:
    """One point of a grid: its table key and the model parameters (grid + fixed)."""

    key: str
    params: dict


@dataclass
class SweepResult:
    """What :func:`sweep` returns.

    ``rows`` are the table's rows of the grid's points, in grid order (dicts keyed by column;
    a failed point has its message in ``"error"`` and ``None`` statistics). ``done_before``:
    points found finished in the table; ``computed``: tasks run now (``failed`` of them
    raised); ``failures``: key -> message of every grid point whose row has an error.
    ``completed`` lists the keys computed now in the order they finished."""

    path: Path
    model: str
    rows: list[dict]
    done_before: int
    computed: int
    failed: int
    failures: dict[str, str] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    warmup_s: float | None = None

    def task_times(self) -> dict[str, list[float]]:
        """``task_s`` of the points computed now: ``first`` holds the first task finished on
        each worker, ``later`` all the others (compilation, if any, lands in ``first``)."""
        by_key = {row[KEY]: row for row in self.rows}
        seen: set[str] = set()
        times: dict[str, list[float]] = {"first": [], "later": []}
        for key in self.completed:
            row = by_key.get(key)
            if row is None or row[ERROR] or row.get("task_s") is None:
                continue
            times["later" if row["worker"] in seen else "first"].append(float(row["task_s"]))
            seen.add(row["worker"])
        return times

    def summary(self) -> str:
        text = (f"{self.model}: {len(self.rows)} points; {self.done_before} done before, "
                f"{self.computed} computed now ({self.failed} failed) in {self.wall_s:.1f} s")
        times = self.task_times()
        if times["first"]:
            later = f"{np.median(times['later']):.2f} s" if times["later"] else "-"
            text += (f"; task time median: first on each worker {np.median(times['first']):.2f}"
                     f" s, later {later}")
        return text + f"; table {self.path}"

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "model": self.model, "points": len(self.rows),
                "done_before": self.done_before, "computed": self.computed,
                "failed": self.failed, "failures": self.failures, "wall_s": self.wall_s,
                "warmup_s": self.warmup_s, "task_times": self.task_times()}


def _plain(name: str, value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return value
    raise TypeError(f"{name} must be a number, bool or string, got {type(value).__name__} "
                    f"{value!r}")


def model_parameters(model: str) -> tuple[str, ...] | None:
    """The parameter names model ``model``'s ``build`` accepts (None: any, it has **kwargs)."""
    import importlib

    model = check_choice("model", model, tuple(gallery.MODELS))
    build = importlib.import_module(gallery.MODELS[model]).build
    params = inspect.signature(build).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


def grid_points(model: str, grid: dict, fixed: dict | None = None, *, duration_s: float = 1.0,
                transient_s: float = 0.0) -> list[SweepPoint]:
    """The points of ``grid`` (``{param: [values]}``, Cartesian product in the order given,
    the last parameter varying fastest) with ``fixed`` added to each, checked: the model
    exists, every parameter name is one its ``build`` accepts, values are lists of numbers,
    bools or strings without repeats."""
    accepted = model_parameters(model)
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"grid must be a non-empty dict {{param: [values]}}, got {grid!r}")
    fixed = {} if fixed is None else fixed
    if not isinstance(fixed, dict):
        raise TypeError(f"fixed must be a dict {{param: value}}, got {type(fixed).__name__}")
    values: dict[str, list] = {}
    for name, column in grid.items():
        if isinstance(column, (str, bytes, dict)) or not isinstance(
                column, (list, tuple, range, np.ndarray)) or np.ndim(column) != 1:
            raise TypeError(f"grid[{name!r}] must be a list of values, got {column!r}")
        values[name] = [_plain(f"grid[{name!r}]", v) for v in column]
        if not values[name]:
            raise ValueError(f"grid[{name!r}] is empty")
        texts = [value_text(v) for v in values[name]]
        if len(set(texts)) != len(texts):
            raise ValueError(f"grid[{name!r}] repeats a value: {values[name]}")
    fixed = {name: _plain(f"fixed[{name!r}]", v) for name, v in fixed.items()}
    both = sorted(set(values) & set(fixed))
    if both:
        raise ValueError(f"parameters both in grid and fixed: {', '.join(both)}")
    names = [*values, *fixed]
    bad = [n for n in names if not isinstance(n, str) or n in RESERVED
           or (accepted is not None and n not in accepted)]
    if bad:
        takes = ", ".join(accepted) if accepted is not None else "any name"
        raise ValueError(f"unknown parameter(s) {', '.join(map(repr, bad))} of model "
                         f"{model!r}; it takes: {takes}")
    duration_s = check_scalar("duration_s", duration_s, positive=True)
    transient_s = check_scalar("transient_s", transient_s, nonnegative=True)
    if transient_s >= duration_s:
        raise ValueError(f"transient_s ({transient_s}) must be shorter than duration_s "
                         f"({duration_s})")
    points = []
    for combo in itertools.product(*values.values()):
        params = {**dict(zip(values, combo)), **fixed}
        points.append(SweepPoint(point_key(model, params, duration_s, transient_s), params))
    return points


def run_point(model: str, params: dict, duration_s: float, transient_s: float) -> dict:
    """The task of one point (runs on a worker): ``run_model``'s statistics, or the error
    message of what it raised, with the task's wall time and the worker (host:pid)."""
    start = time.perf_counter()
    try:
        stats = gallery.run_model(model, params, duration_s=duration_s, transient_s=transient_s)
        stats, error = {k: _number(v) for k, v in stats.items()}, ""
    except Exception as exc:  # noqa: BLE001 - a failed point is recorded, not fatal
        stats, error = {}, _message(exc)
    return {"stats": stats, "error": error, "task_s": time.perf_counter() - start,
            "worker": f"{socket.gethostname()}:{os.getpid()}"}


def _number(value: Any) -> int | float:
    value = value.item() if isinstance(value, np.generic) else value
    return value if isinstance(value, int) and not isinstance(value, bool) else float(value)


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}".rstrip(": ")


def _warm_up(model: str, points: list[SweepPoint]) -> float:
    """Run the grid's smallest point (smallest ``scale``, else the first) for WARMUP_S in this
    process, so that the compiled kernels are in Numba's on-disk cache before workers start."""
    def size(point: SweepPoint) -> float:
        scale = point.params.get("scale")
        return scale if isinstance(scale, (int, float)) else math.inf

    start = time.perf_counter()
    run_point(model, min(points, key=size).params, WARMUP_S, 0.0)  # errors: workers compile
    return time.perf_counter() - start


@contextmanager
def dask_client(scheduler: Any = None, n_workers: int | None = None,
                threads_per_worker: int = 1) -> Iterator[Any]:
    """A ``distributed.Client``: on a new ``LocalCluster`` of processes (``scheduler`` None;
    ``NUMBA_NUM_THREADS=1`` in the workers, so that points do not fight over cores), on the
    cluster at address ``scheduler`` ("tcp://host:8786"), or ``scheduler`` itself when it is
    a Client. What is created here is closed on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError("a sweep on Dask needs dask[distributed]: pip install "
                          "'neurosim[sweep]' (or scheduler='synchronous')") from exc
    if scheduler is not None and not isinstance(scheduler, str):
        yield scheduler
        return
    if isinstance(scheduler, str):
        with Client(scheduler, timeout="20s") as client:
            yield client
        return
    import logging

    n_workers = n_workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                      processes=True, dashboard_address=None, silence_logs=logging.ERROR,
                      env={"NUMBA_NUM_THREADS": "1"}) as cluster, Client(cluster) as client:
        yield client


def _outcomes(model: str, todo: list[SweepPoint], duration_s: float, transient_s: float,
              scheduler: Any, n_workers: int | None, threads_per_worker: int,
              timings: dict) -> Iterator[tuple[SweepPoint, dict]]:
    """(point, task outcome) as the tasks finish; the warm-up's wall time goes to
    ``timings["warmup_s"]``."""
    if scheduler == "synchronous":
        for point in todo:
            yield point, run_point(model, point.params, duration_s, transient_s)
        return
    from distributed import as_completed

    with dask_client(scheduler, n_workers, threads_per_worker) as client:
        if config.CACHE:  # connected: now fill the kernel cache, before any worker needs it
            timings["warmup_s"] = _warm_up(model, todo)
        futures = {client.submit(run_point, model, p.params, duration_s, transient_s,
                                 pure=False): p for p in todo}
        for future in as_completed(futures):
            point = futures.pop(future)
            if future.status == "error":  # the task could not run (e.g. its worker died)
                outcome = {"stats": {}, "error": _message(future.exception()),
                           "task_s": None, "worker": ""}
            else:
                outcome = future.result()
            future.release()
            yield point, outcome


def sweep(model: str, grid: dict, *, fixed: dict | None = None, out: str | os.PathLike,
          scheduler: Any = None, n_workers: int | None = None, threads_per_worker: int = 1,
          duration_s: float = 1.0, transient_s: float = 0.0,
          progress: bool = True) -> SweepResult:
    """Run gallery model ``model`` at every point of ``grid`` and keep the results in ``out``.

    Parameters
    ----------
    model : a name in :data:`neurosim.gallery.MODELS`.
    grid : ``{param: [values]}``; every combination is one point (one Dask task).
    fixed : parameters given to every point (e.g. ``{"scale": 0.1}``).
    out : the CSV table; points already in it without an error are not computed again.
    scheduler : None: a ``LocalCluster`` of ``n_workers`` processes (default: one per core)
        with ``threads_per_worker`` threads each; an address ``"tcp://host:8786"``: that
        cluster (its workers need neurosim installed); a ``distributed.Client``; or
        ``"synchronous"``: one point after another in this process, no Dask.
    duration_s, transient_s : simulated seconds, and the first seconds left out of the
        statistics.
    progress : a tqdm bar over finished points.

    Returns
    -------
    SweepResult
        The grid's rows and the counts. A point whose model raised is a row with its
        message in ``error`` (and in ``failures``), not an exception; a rerun retries it.

    Raises
    ------
    ValueError, TypeError
        An unknown model or parameter name, an empty grid, values that are not lists, a
        table at ``out`` that is not a sweep table; nothing has run then.
    """
    start = time.perf_counter()
    points = grid_points(model, grid, fixed, duration_s=duration_s, transient_s=transient_s)
    duration_s, transient_s = float(duration_s), float(transient_s)
    if n_workers is not None:
        n_workers = int(check_scalar("n_workers", n_workers, positive=True, integer=True))
        if scheduler is not None:
            raise ValueError(f"n_workers is for the local cluster, not for scheduler="
                             f"{scheduler!r} (its workers are its own)")
    threads_per_worker = int(check_scalar("threads_per_worker", threads_per_worker,
                                          positive=True, integer=True))
    table = SweepTable(out)
    todo = [p for p in points if not table.done(p.key)]
    done_before = len(points) - len(todo)
    param_names = sorted(points[0].params)
    warmup_s, completed, failed = None, [], 0
    if todo:
        if table.path.exists():
            table.write(order=[p.key for p in points])  # whole lines, even after a cut one
        from tqdm.auto import tqdm

        timings: dict[str, float] = {}
        outcomes = _outcomes(model, todo, duration_s, transient_s, scheduler, n_workers,
                             threads_per_worker, timings)
        with closing(outcomes), tqdm(total=len(todo), desc=f"sweep {model}", unit="point",
                                     disable=not progress) as bar:
            for point, outcome in outcomes:
                row = {KEY: point.key, **point.params, "duration_s": duration_s,
                       "transient_s": transient_s, **outcome["stats"],
                       "task_s": outcome["task_s"], "worker": outcome["worker"],
                       ERROR: outcome["error"]}
                table.add(row, param_names, list(outcome["stats"]))
                completed.append(point.key)
                failed += bool(outcome["error"])
                bar.update()
        table.write(order=[p.key for p in points])
        warmup_s = timings.get("warmup_s")
    rows = [table.rows[p.key] for p in points]
    failures = {row[KEY]: row[ERROR] for row in rows if row[ERROR]}
    return SweepResult(Path(out), model, rows, done_before, len(completed), failed, failures,
                       completed, time.perf_counter() - start, warmup_s)

