"""``neurosim learn``: networks that learn with STDP (:mod:`neurosim.studies.diehl_cook`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neurosim.cli.options import BACKENDS, UserError, add_command, positive_int

STUDIES = ("diehl-cook",)
MNIST_TRAIN, MNIST_TEST = 60_000, 10_000


def config_from_args(args: argparse.Namespace):
    """The :class:`~neurosim.studies.diehl_cook.DiehlCookConfig` the options ask for
    (``UserError`` for numbers the data cannot give)."""
    from neurosim.studies.diehl_cook import DiehlCookConfig

    base = DiehlCookConfig.quick() if args.quick else DiehlCookConfig()
    n_train = args.images if args.images is not None else base.n_train
    n_test = args.test_images if args.test_images is not None else base.n_test
    if n_train > MNIST_TRAIN:
        raise UserError(f"--images {n_train:,}: MNIST has {MNIST_TRAIN:,} training images "
                        "(one epoch at most)")
    if n_test > MNIST_TEST:
        raise UserError(f"--test-images {n_test:,}: MNIST has {MNIST_TEST:,} test images")
    if args.labels is not None and args.labels > n_train:
        raise UserError(f"--labels {args.labels:,} is more than the {n_train:,} training "
                        "images (labels come from the last training images)")
    n_label = args.labels if args.labels is not None else min(base.n_label, n_train)
    settings = {"n_train": n_train, "n_test": n_test, "n_label": n_label, "seed": args.seed,
                "backend": args.backend}
    if args.neurons is not None:
        settings["n_exc"] = args.neurons
    if args.label_pass is not None:
        settings["label_pass"] = args.label_pass
    if args.checkpoint_every is not None:
        settings["checkpoint_every"] = args.checkpoint_every
    return DiehlCookConfig(**{**base.as_dict(), **settings})


def _cmd_learn(args: argparse.Namespace) -> int:
    from neurosim.studies.diehl_cook_report import run_study, summary

    config = config_from_args(args)
    out = Path(args.out or ("out/diehl_cook_quick" if args.quick else "out/diehl_cook"))
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    checkpoint = Path(args.checkpoint) if args.checkpoint else out / "checkpoint"
    if args.data and not Path(args.data).is_dir():
        raise UserError(f"--data {args.data}: no such folder")
    report = run_study(config, out, checkpoint_dir=checkpoint, data_dir=args.data,
                       progress=not (args.quiet or args.json))
    if args.json:
        print(json.dumps(report))
        return 0
    print(summary(report))
    if not args.quiet:
        print(f"report, weights and receptive fields in {out}/; checkpoint in {checkpoint}/")
    return 0


def add_learn(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "learn", "unsupervised learning with STDP (Diehl & Cook 2015 on MNIST)",
        "examples:\n"
        "  neurosim learn diehl-cook --quick --out out/diehl_cook_quick   "
        "(100 neurons, 10,000 images)\n"
        "  neurosim learn diehl-cook --out out/diehl_cook                 "
        "(400 neurons, one epoch)\n\n"
        "An interrupted training resumes from the checkpoint (--checkpoint, default OUT/"
        "checkpoint)\nwhen run again with the same settings.",
        _cmd_learn)
    p.add_argument("study", choices=STUDIES, help="what to learn")
    p.add_argument("--quick", action="store_true",
                   help="the small setting: 100 neurons, 10,000 training and 2,000 test images")
    p.add_argument("--images", type=positive_int, help="training images (default 60,000)")
    p.add_argument("--test-images", type=positive_int, help="test images (default 10,000)")
    p.add_argument("--labels", type=positive_int,
                   help="last training images that assign the neurons' labels")
    p.add_argument("--label-pass", choices=("frozen", "training"),
                   help="labels from a second showing with learning frozen (the default) or "
                        "from the counts while learning (faster; --quick's default)")
    p.add_argument("--neurons", type=positive_int, help="excitatory neurons (default 400)")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="checkpoint folder (default OUT/checkpoint)")
    p.add_argument("--checkpoint-every", type=positive_int, metavar="N",
                   help="images between checkpoints (default 1000)")
    p.add_argument("--out", metavar="DIR", help="folder of the report, weights and figure "
                   "(default out/diehl_cook, with --quick out/diehl_cook_quick)")
    p.add_argument("--data", metavar="DIR", help="folder with the MNIST IDX files "
                   "(default: $NEUROSIM_DATA, else the cached download)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=BACKENDS, default="cpu")
