"""Converted MNIST CNN: neurosim vs snnTorch and SpikingJelly as their users write them.

The same trained ANN (``zoo.load_pretrained("mnist_cnn")``: Conv-BN-ReLU-MaxPool x2, Linear,
ReLU, Linear) on one batch of MNIST test images, constant-current input, T steps, float32:

- **neurosim**: ``neurosim.convert(model, calibration)`` then ``snn.simulate(x, T)``.
- **snnTorch**: an ``nn.Sequential`` of ``nn.Conv2d``, ``snn.Leaky(beta=1.0, threshold=lambda,
  init_hidden=True, reset_mechanism="subtract")``, ``nn.MaxPool2d``, ``nn.Flatten`` and
  ``nn.Linear`` holding neurosim's converted weights and thresholds, stepped T times in a Python
  loop as snnTorch's tutorials do (``snntorch.utils.reset`` per batch, the image fed at every
  step, the last layer's outputs summed). Same neurons as neurosim; its max-pool is
  ``nn.MaxPool2d`` on spikes (an OR of the window's spikes) where neurosim passes the spikes of
  the window's most active input, so spike counts are equal up to the first max-pool only.
- **SpikingJelly 2.0**: ``ann2snn.Converter(RateCodingRecipe(dataloader, mode="99.9%"))`` on the
  same ANN and the same calibration images, T steps with ``functional.reset_net`` as its
  ann2snn MNIST example (timed); its thresholds differ, so predictions and accuracy are
  compared, also for the recipe closest to neurosim's (channel-wise, neurosim's default
  percentile, half threshold start).
- **ANN**: PyTorch inference of the trained model, for scale.

Rules of ``benchmarks/README.md``: both sides under ``common.threads(n)`` for 1 thread and all
cores, one untimed warm-up (Numba compilation, PyTorch first calls) and the median of
``--repeats`` timed runs each, the sides' runs interleaved (round after round, each side once
per round) so that a drift in the machine's speed slows every side alike; outputs checked in
the run. float32 only: neurosim's conversion
kernels and snnTorch's spikes (``.float()``) are float32.

Writes ``benchmarks/results/convert_speed.json``.
Run: ``.venv/bin/python benchmarks/bench_convert.py`` (about 5 minutes on an idle 2-core
machine; ``--quick`` for a check of the script). Needs snnTorch and SpikingJelly
(``pip install -c constraints.txt -e ".[bench]"``; ``--peers snntorch`` without the latter).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

PEER_NAMES = {"snntorch": "snnTorch", "spikingjelly": "SpikingJelly", "ann": "ANN (PyTorch)"}


def _rate(m: dict[str, Any], batch: int) -> str:
    return (f"{batch / m['median_s']:,.0f} ({batch / m['max_s']:,.0f}-"
            f"{batch / m['min_s']:,.0f})")


def _recipe(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items())


def render(result: dict) -> str:
    """The README's table: images/s (median, min-max over the timed runs) of every side, the
    ratios of medians, and the checks."""
    batch, steps = result["batch"], result["timesteps"]
    sides = [s for s in ("snntorch", "spikingjelly", "ann") if s in result["runs"][0]["times"]]
    head = ["threads", "neurosim"] + [PEER_NAMES[s] for s in sides] + \
        [f"neurosim / {PEER_NAMES[s]}" for s in sides if s != "ann"]
    lines = [f"MNIST CNN converted, T = {steps}, batch {batch}, {result['dtype']}; images/s, "
             f"median of {result['repeats']} (min-max)"
             + (", the sides' timed runs interleaved" if all(
                 m.get("interleaved") for m in result["runs"][0]["times"].values()) else ""),
             "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in result["runs"]:
        t = run["times"]
        row = [str(run["threads"]), _rate(t["neurosim"], batch)]
        row += [_rate(t[s], batch) for s in sides]
        row += [f"{run['speedup'][s]:.2f}x" for s in sides if s != "ann"]
        lines.append("| " + " | ".join(row) + " |")
    checks = result.get("checks", {})
    lines.append("")
    if "snntorch" in checks:
        c = checks["snntorch"]
        same = [f"{name}: {v['mismatching_neurons']:,} of {v['neurons']:,} neurons differ"
                for name, v in c["layers"].items() if v["same_arithmetic"]]
        after = [f"{name}: {v['mismatching_neurons'] / v['neurons']:.1%} differ"
                 for name, v in c["layers"].items() if not v["same_arithmetic"]]
        lines.append(
            f"Check, snnTorch ({c['images']} images): spike counts before the first max-pool "
            f"(same arithmetic) {'; '.join(same)}; after it (OR max-pool vs neurosim's gate) "
            f"{'; '.join(after)}. Predictions agree on {c['prediction_agreement']:.1%}; "
            f"accuracy neurosim {c['neurosim_accuracy']:.2%}, snnTorch "
            f"{c['snntorch_accuracy']:.2%}, ANN {c['ann_accuracy']:.2%}.")
    if "spikingjelly" in checks:
        c = checks["spikingjelly"]
        parts = [f"{name} recipe ({_recipe(v['recipe'])}) accuracy {v['accuracy']:.2%}, "
                 f"agrees with neurosim on {v['agreement_with_neurosim']:.1%}"
                 for name, v in c["recipes"].items()]
        lines.append(f"Check, SpikingJelly ({c['images']} images; its own thresholds, so "
                     f"predictions not spike counts): {'; '.join(parts)} (neurosim "
                     f"{c['neurosim_accuracy']:.2%}). Timed: the example recipe.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_options(parser, default_out="convert_speed.json", dtypes=("float32",),
                       default_dtype="float32")
    parser.add_argument("--timesteps", type=int, default=32)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--calibration", type=int, default=1000,
                        help="training images for the thresholds, both converters")
    parser.add_argument("--peers", default="snntorch,spikingjelly",
                        help="comma-separated: snntorch, spikingjelly")
    args = parser.parse_args()
    common.parse_dtypes(args.dtype, ("float32",))
    if args.repeats < 5 and not args.quick:
        raise SystemExit("--repeats must be >= 5 (the rules); use --quick for a smoke run")
    if args.quick:
        args.batch, args.timesteps, args.calibration = 16, 8, 200

    import torch

    from neurosim import zoo
    from neurosim.datasets import load
    from neurosim.studies.convert_benchmarks import ConvertBench, peer_available

    peers = tuple(p.strip() for p in args.peers.split(",") if p.strip())
    missing = [p for p in peers if not peer_available(p)]
    if missing:
        raise SystemExit(f"not installed: {', '.join(missing)} (pip install "
                         "'neurosim[bench]')")
    data = load("mnist", flat=False)
    x = torch.from_numpy(data.x_test[:args.batch])
    y = data.y_test[:args.batch]
    calibration = torch.from_numpy(data.x_train[:args.calibration])
    model = zoo.load_pretrained("mnist_cnn")
    bench = ConvertBench(model, calibration, peers)
    runs = []
    for n in common.thread_counts(args.threads):
        with common.threads(n):
            run = bench.time(x, args.timesteps, args.repeats)  # sides interleaved
        run["threads"] = n
        runs.append(run)
        print(f"{n} thread(s): " + ", ".join(
            f"{name} {rate:,.0f} images/s" for name, rate in run["images_per_s"].items())
            + "; neurosim speedup " + ", ".join(
            f"{name} {s:.2f}x" for name, s in run["speedup"].items()), flush=True)
    with common.threads(common.all_threads()):
        checks = bench.check(x, y, args.timesteps)
    result = {"model": "mnist_cnn", "timesteps": args.timesteps, "batch": args.batch,
              "calibration_images": args.calibration, "dtype": "float32",
              "repeats": args.repeats, "quick": args.quick, "peers": list(peers),
              "runs": runs, "checks": checks}
    common.write_result(args.out, result, dtype="float32", repeats=args.repeats,
                        threads=[r["threads"] for r in runs], timesteps=args.timesteps,
                        batch=args.batch, quick=args.quick)
    print(render(result))


if __name__ == "__main__":
    main()
