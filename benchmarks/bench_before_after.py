"""Is a change slower? The same workloads timed in two checkouts of neurosim, alternately.

    python benchmarks/bench_before_after.py --before /path/to/old/checkout [--rounds 3]

Each round runs every workload once in a fresh process of each checkout (before, then after),
with the same interpreter and packages, so machine drift hits both sides alike. A workload
process warms up (JIT compilation and network build excluded), times ``--repeats`` runs and
reports their median; the JSON keeps every round. Workloads: the CUBA network (4,000 and 40,000
neurons, float32, 1 s of biological time, CPU), ``lif_run`` (100,000 LIF neurons x 200 steps,
float32) and the converted MNIST CNN (T = 32, batch 256, images/s). Each side also reports the
spike counts it produced, and the script checks that both sides computed the same thing.
Writes ``benchmarks/results/before_after.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
AFTER = HERE.parent

WORKLOAD = r"""
import json, statistics, sys, time
import numpy as np
import neurosim
repeats = int(sys.argv[1])
out = {"neurosim_file": neurosim.__file__}

def median_time(fn):
    fn()  # warm-up: compilation excluded
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return statistics.median(times)

from neurosim.network.cuba import build_cuba
for n in (4000, 40000):
    nets = []
    def make():
        net, mons = build_cuba(n, seed=0, dtype=np.float32)
        net.run(0.0001, progress=False)  # build and compile outside the timed run
        return net, mons
    pending = [make() for _ in range(repeats + 1)]
    def one():
        net, mons = pending.pop()
        net.run(1.0, progress=False)
        nets.append(mons)
    out[f"cuba_{n}_s"] = median_time(one)
    mons = nets[-1]
    out[f"cuba_{n}_spikes"] = int(mons["spikes_exc"].steps.size + mons["spikes_inh"].steps.size)

from neurosim.neurons.lif import LIFParams, lif_run
currents = np.random.default_rng(0).uniform(0, 30, (200, 100_000)).astype(np.float32)
params = LIFParams(tau_m_s=0.01, v_rest=-65.0, v_reset=-70.0, v_th=-50.0, t_ref_s=0.002)
out["lif_1e5x200_s"] = median_time(lambda: lif_run(currents, params, 1e-4, dtype=np.float32))
out["lif_spikes"] = int(lif_run(currents, params, 1e-4, dtype=np.float32).spikes.sum())

import torch
from neurosim import zoo
from neurosim.convert import convert
torch.manual_seed(0)
model = zoo.load_pretrained("mnist_cnn")
x = torch.rand(256, 1, 28, 28)
snn = convert(model, x)
result = {}
def simulate():
    result["r"] = snn.simulate(x, 32, batch_size=256)
out["convert_images_per_s"] = 256 / median_time(simulate)
out["convert_synops"] = float(result["r"]["synops"])
print(json.dumps(out))
"""


def run_side(checkout: Path, repeats: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", WORKLOAD, str(repeats)], cwd=checkout, env=env,
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "neurosim"],
                           capture_output=True, text=True)
    result["commit"] = head.stdout.strip() + (" (+ uncommitted changes)" if dirty.stdout else "")
    if Path(result["neurosim_file"]).resolve().parents[1] != checkout.resolve():
        raise RuntimeError(f"the run in {checkout} imported {result['neurosim_file']}")
    return result


LABELS = {"cuba_4000_s": "CUBA, 4,000 neurons, 1 s (s)",
          "cuba_40000_s": "CUBA, 40,000 neurons, 1 s (s)",
          "lif_1e5x200_s": "lif_run, 100,000 neurons x 200 steps (s)",
          "convert_images_per_s": "converted MNIST CNN, T = 32 (images/s)"}


def to_markdown(report: dict) -> str:
    """The README's table, from the JSON."""
    lines = ["| workload | before | after | after vs before |", "|---|---:|---:|---:|"]
    for key, row in report["summary"].items():
        lines.append(f"| {LABELS.get(key, key)} | {row['before']:.4g} | {row['after']:.4g} | "
                     f"{row['after_speed_vs_before']:.2f}x |")
    rounds = len(report["rounds"])
    same = ", ".join(k for k, v in report["same_results"].items() if v)
    lines.append(f"\nMedian of {rounds} alternating rounds; identical results checked: {same}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, type=Path, help="the older checkout")
    parser.add_argument("--after", default=AFTER, type=Path, help="the newer checkout")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "before_after.json")
    args = parser.parse_args()
    rounds = []
    for k in range(args.rounds):
        before = run_side(args.before, args.repeats)
        after = run_side(args.after, args.repeats)
        rounds.append({"before": before, "after": after})
        print(f"round {k + 1}: " + ", ".join(
            f"{key} {before[key]:.4g} -> {after[key]:.4g}" for key in before
            if key.endswith(("_s", "_per_s"))), flush=True)
    same = {key: all(r["before"][key] == r["after"][key] for r in rounds)
            for key in rounds[0]["before"] if key.endswith(("spikes", "synops"))}
    commits = {"before": rounds[0]["before"]["commit"], "after": rounds[0]["after"]["commit"]}
    summary = {}
    for key in rounds[0]["before"]:
        if key.endswith(("_s", "_per_s")):
            b = statistics.median(r["before"][key] for r in rounds)
            a = statistics.median(r["after"][key] for r in rounds)
            faster = b / a if key.endswith("_s") and not key.endswith("_per_s") else a / b
            summary[key] = {"before": b, "after": a, "after_speed_vs_before": faster}
    report = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "python": platform.python_version()},
              "method": "alternating fresh processes; median of --repeats runs per process "
                        "(compilation and build excluded), median over rounds",
              "commits": commits, "rounds": rounds, "same_results": same, "summary": summary}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    args.out.with_suffix(".md").write_text(to_markdown(report))
    for key, row in summary.items():
        print(f"{key}: before {row['before']:.4g}, after {row['after']:.4g}, "
              f"after/before speed {row['after_speed_vs_before']:.2f}x")
    print("same results:", same)
    if not all(same.values()):
        sys.exit("the two checkouts computed different results")


if __name__ == "__main__":
    main()


def render(result: dict) -> str:
    """The README's table (``benchmarks/make_tables.py``)."""
    return to_markdown(result)
