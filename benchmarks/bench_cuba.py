"""CUBA network scaling: neurosim vs Brian2 cpp_standalone, N from 1e3 to 1e6.

For each N both simulators run the same network (same connectivity and initial state) for
1 s of biological time; Brian2 uses the better of 1 and 2 OpenMP threads and its compile time
is excluded; neurosim's JIT warm-up is excluded (and reported). Brian2 runs up to
``--brian2-max`` neurons (larger sizes take it many minutes to build).

Writes ``benchmarks/results/cuba_scaling.json`` and ``benchmarks/results/cuba_scaling.png``.
Run: ``.venv/bin/python benchmarks/bench_cuba.py [--sizes 1000 4000 ...]``.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numba
import numpy as np

import neurosim as ns
from neurosim import plot
from neurosim.studies.peer_benchmarks import bench_cuba

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1_000, 4_000, 10_000, 40_000, 100_000, 400_000, 1_000_000])
    parser.add_argument("--brian2-max", type=int, default=400_000)
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "cuba_scaling"))
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of an existing result file for the other sizes")
    args = parser.parse_args()
    rows = []
    if args.merge and Path(args.out + ".json").exists():
        old = json.loads(Path(args.out + ".json").read_text())["rows"]
        rows = [r for r in old if r["neurons"] not in args.sizes]
    for n in args.sizes:
        compare = "brian2" if n <= args.brian2_max else None
        row = bench_cuba(n, args.duration, compare=compare, repeats=args.repeats)
        rows.append(row)
        rows.sort(key=lambda r: r["neurons"])
        line = (f"N={n:>9,}: neurosim {row['neurosim_s']:.3f} s, "
                f"{row['neuron_updates_per_s']:.3g} updates/s, "
                f"{row['synaptic_events_per_s']:.3g} events/s, {row['neurosim_rate_hz']:.2f} Hz")
        if compare:
            line += (f" | Brian2 {row['brian2_s']:.3f} s ({row['brian2_threads']} thr), "
                     f"{row['brian2_rate_hz']:.2f} Hz | speedup {row['speedup']:.2f}x")
        print(line, flush=True)
        Path(args.out + ".json").write_text(json.dumps({
            "machine": {"platform": platform.platform(), "threads": numba.get_num_threads()},
            "versions": {"neurosim": ns.__version__, "numba": numba.__version__},
            "duration_s": args.duration, "rows": rows}, indent=2))
    sizes = [r["neurons"] for r in rows]
    fig = plot.scaling(sizes, {
        "neurosim (Numba CPU, float32)": [r["neurosim_s"] for r in rows],
        "Brian2 cpp_standalone (best of 1/2 threads)": [r.get("brian2_s", np.nan)
                                                        for r in rows],
    }, ylabel="wall time per simulated second (s)",
        title=f"CUBA network, 80 synapses/neuron, dt 0.1 ms, {numba.get_num_threads()} cores")
    fig.savefig(args.out + ".png", dpi=120)
    print(f"written {args.out}.json and .png")


if __name__ == "__main__":
    main()
