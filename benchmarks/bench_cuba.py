"""CUBA network: neurosim vs Brian2's own CUBA example, under the rules of benchmarks/README.md.

What runs, for each size, dtype and thread count (1 vs 1, all cores vs all cores):

- neurosim: :func:`neurosim.network.cuba.build_cuba` (Vogels & Abbott 2005 / Brette et al.
  2007 benchmark 2: LIF neurons, exponential currents, 80% excitatory, 80 synapses per neuron,
  dt 0.1 ms, no external input), spike monitors on, under ``common.threads(n)``; one untimed
  warm-up run (JIT compilation), then the median of ``--repeats`` runs of a fresh network
  (same connectivity and initial state; building it is not timed).
- Brian2: its CUBA example as written in ``brian2/examples/CUBA.py`` (one ``NeuronGroup`` in
  volts, ``method='exact'``, ``threshold='v>Vt'``, ``reset='v = Vr'``, ``refractory=5*ms``; two
  ``Synapses`` with ``on_pre='ge += we'`` / ``'gi += wi'``), given neurosim's connectivity
  (``connect(i=..., j=...)``), initial potentials and weights (the float32 values neurosim
  stores) instead of its own random draws, in ``cpp_standalone`` with
  ``prefs.devices.cpp_standalone.openmp_threads = n`` (0, Brian2's default serial code, at one
  thread: OpenMP with one thread was about 3 times slower) and
  ``prefs.core.default_float_dtype`` = the row's dtype. Its time is the compiled binary's own
  run time (``device._last_run_time``): code generation and compilation excluded; the first
  run of the binary is the warm-up, then the same binary is re-executed ``--repeats`` times
  (``device.run``, no recompilation). Each configuration runs in a fresh subprocess (Brian2's
  device is global state), in its own project folder (with ``--brian2-dir`` the folders are
  kept, and a rerun finds its binaries compiled).

Check in the run: the mean rates must agree within ``CUBA_RATE_TOLERANCE`` (10%; the network is
chaotic, so the two runs share connectivity and initial state but not every spike once a
threshold decision differs by rounding); the spike counts are recorded as well.

Writes ``benchmarks/results/cuba.json``. Run (full, an estimated 6-8 minutes on an idle 2-core
machine, about half of it Brian2's eight C++ compilations: every (size, dtype, threads) project
is compiled in full, since the size and the thread count are constants in every source file)::

    .venv/bin/python benchmarks/bench_cuba.py

Options: ``--sizes 4000,40000`` (add e.g. ``400000`` for a larger network, several minutes
more), ``--duration 1`` (simulated seconds), ``--brian2-dir DIR`` (keep Brian2's projects
there: a second run then skips compilation), ``--quick`` (2,000 and 8,000 neurons, 0.2 s).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SIZES = "4000,40000"
QUICK_SIZES = "2000,8000"


def parse_sizes(option: str) -> list[int]:
    return [int(float(s)) for s in option.split(",") if s.strip()]


def compare(n: int, duration_s: float, dtype: str, threads: int, repeats: int, parts: dict,
            workdir: Path) -> dict[str, Any]:
    """One row: neurosim and Brian2 at the same size, dtype and thread count."""
    from neurosim.studies.peer_benchmarks import bench_cuba

    with common.threads(threads) as used:
        row = bench_cuba(n, duration_s, compare="brian2", threads=used, dtype=np.dtype(dtype),
                         repeats=repeats, parts=parts, measure=common.measure,
                         workdir=str(workdir / f"n{n}_{dtype}_{used}threads"))
    keep = ("neurons", "synapses", "duration_s", "threads", "neurosim_rate_hz",
            "neurosim_cv_isi", "neurosim_spikes", "neurosim_compile_s", "brian2_rate_hz",
            "brian2_cv_isi", "brian2_spikes", "brian2_build_s", "brian2_target",
            "brian2_formulation", "rate_tolerance", "rate_rel_diff")
    out = {k: row[k] for k in keep}
    out.update({
        "dtype": dtype,
        "sides": {"neurosim": row["neurosim_timing"], "brian2": row["brian2_timing"]},
        "ratio_brian2_over_neurosim": row["speedup"],
        "check": {"passed": row["rates_match"], "rate_rel_diff": row["rate_rel_diff"],
                  "tolerance": row["rate_tolerance"],
                  "same_spike_count": row["neurosim_spikes"] == row["brian2_spikes"]},
    })
    return out


def render(result: dict[str, Any]) -> str:
    """The README table: wall time per run (median and range), the ratio of medians, the rates
    and the check."""
    env = result.get("environment", {})
    lines = [
        f"CUBA network, {result['duration_s']:g} s simulated at dt 0.1 ms, 80 synapses per neuron: "
        f"wall time of one run, median (min-max) of {result['repeats']} timed runs after one "
        f"warm-up; Brian2 {env.get('versions', {}).get('brian2', '?')} `cpp_standalone` running "
        "its own CUBA example (its binary's run time, compilation excluded); "
        f"{env.get('cpu', '?')}, {env.get('cores', '?')} cores.",
        "",
        "| neurons | dtype | threads | neurosim (s) | Brian2 (s) | Brian2 / neurosim "
        "| rate neurosim / Brian2 (Hz) | check |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in result["rows"]:
        s = row["sides"]
        check = row["check"]
        verdict = ("ok" if check["passed"] else "**FAILED**") + \
            f" ({check['rate_rel_diff']:.1%} <= {check['tolerance']:.0%})"
        if check["same_spike_count"]:
            verdict += ", same spike count"
        lines.append(
            f"| {row['neurons']:,} | {row['dtype']} | {row['threads']} | "
            f"{common.spread(s['neurosim'])} | {common.spread(s['brian2'])} | "
            f"{row['ratio_brian2_over_neurosim']:.2f}x | "
            f"{row['neurosim_rate_hz']:.2f} / {row['brian2_rate_hz']:.2f} | {verdict} |")
    lines += [
        "",
        "Same network on both sides: neurosim's connectivity, initial potentials and weights "
        "passed to Brian2's example (`connect(i=..., j=...)`); same dtype "
        "(`prefs.core.default_float_dtype`), same threads (`openmp_threads`). Check: mean "
        f"rates within {result['rate_tolerance']:.0%} (chaotic network). All checks passed: "
        f"{'yes' if result['checks_passed'] else '**no**'}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from neurosim.studies.peer_benchmarks import CUBA_RATE_TOLERANCE, cuba_parts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_options(parser, default_out="cuba.json")
    parser.add_argument("--sizes", default=SIZES,
                        help=f"neuron counts (default {SIZES}; --quick: {QUICK_SIZES})")
    parser.add_argument("--duration", type=float, default=None,
                        help="simulated seconds per run (default 1; --quick: 0.2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--brian2-dir", default=None,
                        help="folder for Brian2's standalone projects, kept (default: a "
                             "temporary folder, removed)")
    args = parser.parse_args(argv)
    dtypes = common.parse_dtypes(args.dtype)
    thread_counts = common.thread_counts(args.threads)
    if args.repeats < 5 and not args.quick:
        raise SystemExit("--repeats must be at least 5 (benchmarks/README.md, rule 2)")
    sizes = parse_sizes(QUICK_SIZES if args.quick and args.sizes == SIZES else args.sizes)
    duration = args.duration if args.duration is not None else (0.2 if args.quick else 1.0)
    workdir = Path(args.brian2_dir or tempfile.mkdtemp(prefix="bench_cuba_brian2_"))
    rows = []
    t_start = time.perf_counter()
    try:
        parts = {n: cuba_parts(n, args.seed) for n in sizes}
        for dtype in dtypes:
            for threads in thread_counts:
                for n in sizes:
                    row = compare(n, duration, dtype, threads, args.repeats, parts[n], workdir)
                    rows.append(row)
                    print(f"N={n:>7,} {dtype} {row['threads']} thr: neurosim "
                          f"{row['sides']['neurosim']['median_s']:.4f} s, Brian2 "
                          f"{row['sides']['brian2']['median_s']:.4f} s -> "
                          f"{row['ratio_brian2_over_neurosim']:.2f}x; rates "
                          f"{row['neurosim_rate_hz']:.2f} / {row['brian2_rate_hz']:.2f} Hz "
                          f"({time.perf_counter() - t_start:.0f} s)", flush=True)
    finally:
        if args.brian2_dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    rows.sort(key=lambda r: (r["neurons"], r["dtype"], r["threads"]))
    result = {
        "benchmark": "CUBA network: neurosim vs Brian2's CUBA example (cpp_standalone)",
        "duration_s": duration, "repeats": args.repeats, "quick": args.quick,
        "seed": args.seed, "rate_tolerance": CUBA_RATE_TOLERANCE,
        "rows": rows, "checks_passed": all(r["check"]["passed"] for r in rows),
        "total_wall_s": time.perf_counter() - t_start,
    }
    path = common.write_result(args.out, result, dtypes=dtypes, repeats=args.repeats,
                               threads=thread_counts, sizes=sizes, duration_s=duration,
                               quick=args.quick)
    result = json.loads(path.read_text())  # with the environment, as render() reads it
    print(render(result))
    if not result["checks_passed"]:
        print("a rate check FAILED (see the table)", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
