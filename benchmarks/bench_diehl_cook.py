"""Training speed of Diehl & Cook (2015) in neurosim, on an otherwise idle machine.

The one-epoch run behind the README's accuracy (``neurosim learn diehl-cook``, 60,000 images)
shared its 2 cores with other jobs for its whole 47 minutes, so its wall time says little about
the code. This script trains the same network (400 neurons, the same configuration, float64)
on the first ``--images`` training images, twice (the median of ``--repeats`` timed runs after
a warm-up that compiles the kernels), and estimates an epoch from it: images per second, scaled
by the full run's presentations per image (images drawing fewer than 5 spikes are shown again,
more often late in training) over this segment's. Written to
``benchmarks/results/diehl_cook_speed.json``; no peer is run (BindsNET's version, the one with a
published CPU time, needs an old PyTorch), so no ratio is claimed.

    python benchmarks/bench_diehl_cook.py [--images 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import RESULTS, environment  # noqa: E402

FULL_RUN = RESULTS / "diehl_cook" / "diehl_cook.json"


def main(argv: list[str] | None = None) -> int:

    from neurosim.datasets import load
    from neurosim.studies.diehl_cook import DiehlCookConfig, train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "diehl_cook_speed.json"))
    args = parser.parse_args(argv)
    data = load("mnist")
    config = DiehlCookConfig(n_train=args.images, n_label=min(1000, args.images))
    train(DiehlCookConfig(n_train=20, n_label=20), data.x_train, data.y_train,
          progress=False)  # compiles the kernels
    runs = []
    for _ in range(args.repeats):
        result = train(config, data.x_train, data.y_train, progress=False)
        runs.append({"seconds": result.seconds, "kernel_s": result.kernel_s,
                     "presentations": result.presentations})
        print(f"{args.images} images: {result.seconds:.1f} s (kernel {result.kernel_s:.1f} s), "
              f"{result.presentations} presentations", flush=True)
    seconds = statistics.median(r["seconds"] for r in runs)
    per_image = runs[0]["presentations"] / args.images
    full = json.loads(FULL_RUN.read_text()) if FULL_RUN.exists() else None
    full_per_image = full["presentations"] / full["images_trained"] if full else per_image
    epoch_s = 60_000 * seconds / args.images * full_per_image / per_image
    out = {"images": args.images, "runs": runs, "median_s": seconds,
           "images_per_s": args.images / seconds, "presentations_per_image": per_image,
           "full_run_presentations_per_image": full_per_image, "epoch_estimate_s": epoch_s,
           "config": config.as_dict(),
           "environment": environment(dtype=config.dtype, repeats=args.repeats,
                                      threads=1, statistic="median",
                                      command="python benchmarks/bench_diehl_cook.py")}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"epoch estimate {epoch_s / 60:.1f} min ({args.images / seconds:.1f} images/s, "
          f"{per_image:.2f} presentations/image here, {full_per_image:.2f} in the full run)")
    return 0


def render(result: dict) -> str:
    env = result["environment"]
    return (f"Training speed on an idle machine ({env.get('cpu', '?')}, the network's serial "
            f"kernel): {result['images']:,} images in {result['median_s']:.1f} s (median of "
            f"{len(result['runs'])}), {result['images_per_s']:.1f} images/s, "
            f"{result['presentations_per_image']:.2f} presentations per image; one epoch "
            f"(60,000 images at the full run's {result['full_run_presentations_per_image']:.2f} "
            f"presentations per image) **{result['epoch_estimate_s'] / 60:.1f} min** "
            "(estimate; goal: under 20 min).")


if __name__ == "__main__":
    raise SystemExit(main())
