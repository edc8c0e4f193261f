"""Song, Miller & Abbott (2000) with STDP: neurosim vs Brian2 ``cpp_standalone``, under the
rules of benchmarks/README.md (``benchmarks/results/stdp_speed.json``).

The model: one neuron, 1,000 Poisson inputs at 15 Hz, additive STDP on every synapse, as
Brian2's ``examples/synapses/STDP.py``; ``--duration`` (100 s, the example's) simulated at
dt 0.1 ms. Per dtype and thread count (1 vs 1 by default; ``--threads 1,all`` adds all cores
vs all cores):

- neurosim: the gallery's ``song_abbott`` (:mod:`neurosim.gallery.song_abbott`), a fresh model
  built and its kernel arrays made outside the timed call before every run, under
  ``common.threads(n)``; one untimed warm-up run (JIT compilation), then the median of
  ``--repeats`` runs of ``net.run(duration)``.
- Brian2: the example in its own formulation (:mod:`neurosim.studies.brian2_stdp`) in
  ``cpp_standalone`` with ``openmp_threads = n`` (0, its default serial code, at one thread:
  :func:`brian2_openmp_threads`) and ``prefs.core.default_float_dtype`` = the row's dtype,
  in a fresh subprocess per row; its time is the compiled binary's own run time
  (``device._last_run_time``: code generation and compilation excluded); the run after the
  build is the warm-up, then the same binary is re-executed ``--repeats`` times.
- Check in the run: the sides draw their own initial weights and Poisson spikes, so the final
  weight distributions are compared (:func:`neurosim.studies.stdp_validation.compare_sides`):
  the fractions of weights below 0.1 gmax and above 0.9 gmax within 5 points; the output rates
  (whole run and second half) are stored for both.

Run (about 4 minutes on 2 idle cores)::

    .venv/bin/python benchmarks/bench_stdp.py

``--quick``: 5 s simulated, 1 repeat allowed (checks the script).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GMAX = 0.01
N_INPUTS, RATE_HZ = 1000, 15.0


def neurosim_speed(dtype: str, repeats: int, duration_s: float, seed: int) -> dict[str, Any]:
    """Time the gallery model (threads set by the caller): a fresh model per run (untimed),
    one warm-up run, then the median of ``repeats``; the last run's outputs."""
    from neurosim import gallery
    from neurosim.studies.stdp_validation import SongAbbottRun

    def setup():
        model = gallery.build("song_abbott", n_inputs=N_INPUTS, rate_hz=RATE_HZ, gmax=GMAX,
                              seed=seed, dtype=np.dtype(dtype))
        model.network.build()  # kernel arrays outside the timed call
        return model

    def run(model):
        model.network.run(duration_s, progress=False)
        return model

    m = common.measure(run, repeats, setup=setup)
    model = m["last"]
    net = model.network
    out = SongAbbottRun(net.weights_of(net.projections[0]),
                        np.asarray(model.spikes[0].steps, dtype=np.int64), int(net.steps_done),
                        float(net.dt_s), m["median_s"], 0.0, model.params)
    return {"timing": common.timing(m), "run": out}


_BRIAN2_SCRIPT = r"""
import json, sys
import numpy as np
import brian2
from neurosim.studies.brian2_stdp import brian2_song_abbott
cfg = json.loads(sys.argv[1])
brian2.prefs.devices.cpp_standalone.openmp_threads = cfg["openmp_threads"]
run = brian2_song_abbott(cfg["n_inputs"], rate_hz=cfg["rate_hz"], gmax=cfg["gmax"],
                         duration_s=cfg["duration_s"], seed=cfg["seed"],
                         target="cpp_standalone", dtype=cfg["dtype"], reruns=cfg["repeats"])
np.savez(cfg["out"], weights=run.weights, output_steps=run.output_steps)
print(json.dumps({"warmup_s": run.run_s, "times_s": list(run.rerun_s), "build_s": run.build_s,
                  "n_steps": run.n_steps, "dt_s": run.dt_s, "params": run.params}))
"""


def brian2_openmp_threads(threads: int) -> int:
    """Brian2's ``openmp_threads`` for ``threads``: 0 (its default, serial code without
    OpenMP) at one thread, else ``threads``. With ``openmp_threads = 1`` the generated code
    still opens OpenMP regions in every step, which made this model's binary about 3 times
    slower than the serial one in a check on the benchmark machine: not how a user runs
    Brian2 on one thread."""
    return 0 if threads <= 1 else threads


def brian2_speed(dtype: str, threads: int, repeats: int, duration_s: float, seed: int,
                 timeout_s: float = 3600) -> dict[str, Any]:
    """Brian2's example in ``cpp_standalone`` with ``threads`` OpenMP threads in a fresh
    subprocess: build, compile and run once (warm-up), then ``repeats`` re-executions of the
    binary, each timed by the binary itself."""
    from neurosim.studies.stdp_validation import SongAbbottRun

    with tempfile.TemporaryDirectory(prefix="bench_stdp_brian2_") as tmp:
        out_file = Path(tmp) / "out.npz"
        cfg = {"n_inputs": N_INPUTS, "rate_hz": RATE_HZ, "gmax": GMAX,
               "duration_s": duration_s, "seed": seed, "dtype": dtype,
               "openmp_threads": brian2_openmp_threads(threads), "repeats": repeats,
               "out": str(out_file)}
        t0 = time.perf_counter()
        info, timing = common.run_brian2_script(_BRIAN2_SCRIPT, cfg, threads, timeout_s)
        with np.load(out_file) as f:
            weights, steps = f["weights"], f["output_steps"]
    run = SongAbbottRun(weights, steps, info["n_steps"], info["dt_s"], timing["median_s"],
                        info["build_s"], info["params"])
    return {"timing": timing, "run": run, "build_s": info["build_s"],
            "subprocess_s": time.perf_counter() - t0}


def speed_row(dtype: str, threads: int, args: argparse.Namespace) -> dict[str, Any]:
    """One row: both sides at the same dtype and thread count, and the check of their
    outputs."""
    from neurosim.studies.stdp_validation import compare_sides, side_summary

    with common.threads(threads) as used:
        ours = neurosim_speed(dtype, args.repeats, args.duration, args.seed)
        theirs = brian2_speed(dtype, used, args.repeats, args.duration, args.seed)
    bin_s = min(10.0, args.duration / 5)
    summaries = {name: side_summary(side["run"], GMAX, bin_s=bin_s)
                 for name, side in (("neurosim", ours), ("brian2", theirs))}
    for summary in summaries.values():  # the timings are in "sides"
        for key in ("per_run", "run_s", "build_s"):
            summary.pop(key)
    check = compare_sides(summaries["neurosim"], summaries["brian2"])
    return {"dtype": dtype, "threads": used, "brian2_openmp_threads": brian2_openmp_threads(used),
            "sides": {"neurosim": ours["timing"], "brian2": theirs["timing"]},
            "brian2_build_s": theirs["build_s"], "outputs": summaries, "check": check,
            "ratio_brian2_over_neurosim":
                theirs["timing"]["median_s"] / ours["timing"]["median_s"]}


def render(result: dict[str, Any]) -> str:
    """The README table of ``stdp_speed.json``."""
    env = result.get("environment", {})
    lines = [
        f"Song, Miller & Abbott (2000), Brian2's STDP example: one neuron, {N_INPUTS:,} "
        f"Poisson inputs at {RATE_HZ:g} Hz, additive STDP, {result['duration_s']:g} s "
        f"simulated at dt 0.1 ms; wall time of one run, median (min-max) of "
        f"{result['repeats']} timed runs after one warm-up; Brian2 "
        f"{env.get('versions', {}).get('brian2', '?')} `cpp_standalone` (its binary's run "
        f"time, compilation excluded); {env.get('cpu', '?')}, {env.get('cores', '?')} cores.",
        "",
        "| dtype | threads | neurosim (s) | Brian2 (s) | Brian2 / neurosim | weights < 0.1 gmax "
        "| weights > 0.9 gmax | rate, 2nd half (Hz) | check |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in result["rows"]:
        ns, b2, check = row["outputs"]["neurosim"], row["outputs"]["brian2"], row["check"]
        verdict = ("ok" if check["passed"] else "**FAILED**") + (
            f" ({max(check['points_low'], check['points_high']):.1f} <= "
            f"{check['tolerance_points']:g} points)")
        lines.append(
            f"| {row['dtype']} | {row['threads']} | {common.spread(row['sides']['neurosim'])} "
            f"| {common.spread(row['sides']['brian2'])} | "
            f"{row['ratio_brian2_over_neurosim']:.2f}x | "
            f"{ns['weights']['fraction_low']:.1%} / {b2['weights']['fraction_low']:.1%} | "
            f"{ns['weights']['fraction_high']:.1%} / {b2['weights']['fraction_high']:.1%} | "
            f"{ns['rate_second_half_hz']:.1f} / {b2['rate_second_half_hz']:.1f} | {verdict} |")
    lines += [
        "",
        "Outputs: neurosim / Brian2 (their own random initial weights and Poisson spikes); the "
        "check compares the final weight distributions (fractions near each bound within 5 "
        "percentage points). Same dtype (`prefs.core.default_float_dtype`), same threads "
        "(Brian2's serial code at 1 thread, `openmp_threads` = n above). All checks passed: "
        f"{'yes' if result['checks_passed'] else '**no**'}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_options(parser, default_out="stdp_speed.json", default_threads="1")
    parser.add_argument("--duration", type=float, default=None,
                        help="simulated seconds per run (default 100; --quick: 5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.repeats < 5 and not args.quick:
        raise SystemExit("--repeats must be at least 5 (benchmarks/README.md, rule 2)")
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    args.duration = args.duration if args.duration is not None else (5.0 if args.quick
                                                                     else 100.0)
    dtypes = common.parse_dtypes(args.dtype)
    thread_counts = common.thread_counts(args.threads)
    rows, t_start = [], time.perf_counter()
    for dtype in dtypes:
        for threads in thread_counts:
            row = speed_row(dtype, threads, args)
            rows.append(row)
            print(f"{dtype} {row['threads']} thr: neurosim "
                  f"{row['sides']['neurosim']['median_s']:.3f} s, Brian2 "
                  f"{row['sides']['brian2']['median_s']:.3f} s -> "
                  f"{row['ratio_brian2_over_neurosim']:.2f}x; check "
                  f"{'ok' if row['check']['passed'] else 'FAILED'} "
                  f"({time.perf_counter() - t_start:.0f} s)", flush=True)
    result = {
        "benchmark": "Song-Abbott STDP: neurosim vs Brian2 cpp_standalone",
        "duration_s": args.duration, "n_inputs": N_INPUTS, "rate_hz": RATE_HZ, "gmax": GMAX,
        "repeats": args.repeats, "quick": args.quick, "seed": args.seed, "rows": rows,
        "checks_passed": all(r["check"]["passed"] for r in rows),
        "total_wall_s": time.perf_counter() - t_start,
    }
    path = common.write_result(args.out, result, dtypes=dtypes, repeats=args.repeats,
                               threads=thread_counts, duration_s=args.duration,
                               quick=args.quick)
    result = json.loads(path.read_text())
    print(render(result))
    return result


if __name__ == "__main__":
    main()
