"""Converted MNIST CNN: neurosim vs snnTorch, images per second, several rounds.

Each round runs ``neurosim.studies.peer_benchmarks.bench_convert`` (the code behind
``neurosim bench convert``): the same converted network in neurosim and in snnTorch
(``snn.Leaky(beta=1, reset_mechanism="subtract")``, ``nn.MaxPool2d`` on spikes, constant input,
one Python step at a time), best of 3 timings each, on one batch of MNIST test images. The
machine is shared and noisy, so the claim is the per-round ratio; the JSON keeps every round and
their median.

Writes ``benchmarks/results/convert_speed.json``.
Run: ``.venv/bin/python benchmarks/bench_convert.py [--rounds 3] [--timesteps 32]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path

import numba
import torch

import neurosim as ns
from neurosim import zoo
from neurosim.datasets import load
from neurosim.studies.peer_benchmarks import bench_convert

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist_cnn")
    parser.add_argument("--timesteps", type=int, default=32)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "convert_speed.json"))
    args = parser.parse_args()
    data = load(zoo.DATASET[args.model], flat=False)
    x = torch.from_numpy(data.x_test[:args.batch])
    calibration = torch.from_numpy(data.x_train[:2000])
    model = zoo.load_pretrained(args.model)
    rounds = []
    for k in range(args.rounds):
        row = bench_convert(model, x, calibration, timesteps=args.timesteps)
        rounds.append(row)
        print(f"round {k + 1}: neurosim {row['neurosim_images_per_s']:.0f} images/s, snnTorch "
              f"{row['snntorch_images_per_s']:.0f} images/s, speedup {row['speedup']:.2f}x "
              f"(ANN {row['ann_images_per_s']:.0f} images/s)", flush=True)
    speedups = [r["speedup"] for r in rounds]
    summary = {"median_speedup": statistics.median(speedups), "min_speedup": min(speedups),
               "max_speedup": max(speedups)}
    print(f"speedup: median {summary['median_speedup']:.2f}x, range "
          f"{summary['min_speedup']:.2f}-{summary['max_speedup']:.2f}x")
    Path(args.out).write_text(json.dumps({
        "machine": {"platform": platform.platform(), "threads": torch.get_num_threads()},
        "versions": {"neurosim": ns.__version__, "numba": numba.__version__,
                     "torch": torch.__version__},
        "model": args.model, "timesteps": args.timesteps, "batch": args.batch,
        "summary": summary, "rounds": rounds}, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
