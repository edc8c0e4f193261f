"""``neurosim convert``: a trained PyTorch classifier as a spiking network, accuracy against T."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from neurosim.cli.options import (
    UserError,
    add_command,
    add_model_options,
    add_run_options,
    load_model,
    positive_float,
    positive_int,
)


def _cmd_convert(args: argparse.Namespace) -> int:
    import torch

    from neurosim import plot
    from neurosim.convert import convert
    from neurosim.datasets import load

    if args.export_nir:
        _check_nir_export(args)
    model, dataset = load_model(args)
    data = load(dataset, flat=False, seed=args.seed)
    timesteps = _timesteps(args.timesteps)
    calib = torch.from_numpy(data.x_train[: args.calibration])
    options = {"normalization": _normalization(args.normalization),
               "granularity": args.granularity, "neuron": args.neuron,
               "encoding": args.encoding, "decoding": args.decoding, "reset": args.reset,
               "v_init": args.v_init, "backend": args.backend, "seed": args.seed}
    try:
        snn = convert(model, calib, **options)
    except RuntimeError as exc:
        raise UserError(str(exc)) from exc
    if args.export_nir:
        from neurosim.interop import nir as nir_interop

        path = nir_interop.write(args.export_nir, snn)
        if not (args.quiet or args.json):
            print(f"wrote the spiking network as NIR to {path}")
    n = len(data.x_test) if args.samples is None else min(args.samples, len(data.x_test))
    result = snn.evaluate(data.x_test[:n], data.y_test[:n], timesteps)
    report = {"model": args.model, "dataset": dataset, "samples": n, "options": options,
              "ann_accuracy": result["ann_accuracy"],
              "snn_accuracy": result["snn_accuracy"], "agreement": result["agreement"],
              "synops": result["synops_per_sample"], "ann_macs": result["ann_macs_per_sample"],
              "snn_macs": result["snn_macs_per_sample"], "firing_rates": result["firing_rates"],
              "energy": result["energy"]}
    if args.hybrid_steps:
        report["hybrid"] = _hybrid(args, snn, data, n, timesteps)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        plot.accuracy_vs_timesteps(result["snn_accuracy"], result["ann_accuracy"],
                                   title=f"{Path(args.model).stem}: SNN accuracy vs T").savefig(
            out / "accuracy_vs_timesteps.png", dpi=120)
        plot.layer_rates(result["firing_rates"], title="Firing rate per layer").savefig(
            out / "layer_rates.png", dpi=120)
        (out / "convert.json").write_text(json.dumps(report, indent=2))
    if args.json:
        print(json.dumps(report))
        return 0
    _print_report(args, report, dataset, n)
    return 0


def _print_report(args: argparse.Namespace, report: dict, dataset: str, n: int) -> None:
    print(f"{args.model} on {dataset} ({n} test images): ANN accuracy "
          f"{100 * report['ann_accuracy']:.2f}%")
    for t, acc in report["snn_accuracy"].items():
        print(f"  T = {t:>4}: SNN {100 * acc:.2f}%  (agreement with ANN "
              f"{100 * report['agreement'][t]:.2f}%)")
    print(f"  SynOps per image {report['synops']:.3g} (+ {report['snn_macs']:.3g} input MACs) "
          f"vs ANN MACs {report['ann_macs']:.3g} at T = {max(report['snn_accuracy'])}")
    if "hybrid" in report:
        hybrid = report["hybrid"]
        print(f"Hybrid fine-tuning at T = {hybrid['timesteps']} ({hybrid['epochs']} epoch(s) on "
              f"{hybrid['train_images']} training images, {hybrid['seconds']:.0f} s):")
        for t, acc in hybrid["snn_accuracy"].items():
            print(f"  T = {t:>4}: SNN {100 * acc:.2f}%  (converted "
                  f"{100 * report['snn_accuracy'][t]:.2f}%)")


def _hybrid(args: argparse.Namespace, snn, data, n: int, timesteps: list[int]) -> dict:
    """Surrogate-gradient fine-tuning of the converted network (hybrid conversion)."""
    start = time.time()
    m = min(args.hybrid_train, len(data.x_train))
    tuned, losses = snn.finetune(data.x_train[:m], data.y_train[:m],
                                 timesteps=args.hybrid_steps, epochs=args.hybrid_epochs,
                                 lr=args.hybrid_lr, seed=args.seed,
                                 progress=not (args.quiet or args.json))
    result = tuned.evaluate(data.x_test[:n], data.y_test[:n], timesteps)
    return {"timesteps": args.hybrid_steps, "epochs": args.hybrid_epochs, "train_images": m,
            "lr": args.hybrid_lr, "losses": losses, "snn_accuracy": result["snn_accuracy"],
            "agreement": result["agreement"], "synops": result["synops_per_sample"],
            "seconds": time.time() - start}


def _check_nir_export(args: argparse.Namespace) -> None:
    """What NIR cannot say, said before the conversion runs."""
    if args.reset == "subtract":
        raise UserError("--export-nir needs --reset value: NIR neurons reset to a value, NIR has "
                        "no reset by subtraction")
    if args.v_init != 0:
        raise UserError("--export-nir needs --v-init 0: NIR neurons start at 0, NIR has no "
                        "initial membrane potential")
    if not str(args.export_nir).endswith(".nir"):
        raise UserError(f"--export-nir names a .nir file, got {args.export_nir!r}")


def _timesteps(text: str) -> list[int]:
    try:
        timesteps = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UserError(f"--timesteps must be integers separated by commas, got {text!r}") \
            from None
    if not timesteps or min(timesteps) <= 0:
        raise UserError(f"--timesteps must be positive, got {text!r}")
    return timesteps


def _normalization(text: str):
    if text == "max":
        return "max"
    try:
        return float(text)
    except ValueError:
        raise UserError(f"--normalization must be 'max' or a percentile, got {text!r}") \
            from None


def add_convert(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "convert", "convert a trained PyTorch classifier to a spiking "
                    "network and compare accuracy",
                    "examples:\n  neurosim convert --model digits_cnn\n"
                    "  neurosim convert --model models/mnist_cnn.pt --timesteps "
                    "8,16,32,64 --out out/convert --json\n"
                    "  neurosim convert --model mypkg.nets:Net --weights net.pt "
                    "--model-args '[10]' --dataset mnist\n"
                    "  neurosim convert --model mnist_cnn --timesteps 4,8 "
                    "--hybrid-steps 4   # + surrogate-gradient fine-tuning\n"
                    "  neurosim convert --model digits_mlp --reset value --v-init 0 "
                    "--export-nir digits_mlp.nir",
                    _cmd_convert)
    add_model_options(p, required=True)
    p.add_argument("--timesteps", default="8,16,32,64", help="comma-separated T values")
    p.add_argument("--normalization", default="99", help="'max' or a percentile")
    p.add_argument("--granularity", choices=["layer", "channel"], default="channel")
    p.add_argument("--neuron", choices=["if", "lif"], default="if")
    p.add_argument("--reset", choices=["subtract", "value", "zero"], default="subtract",
                   help="by subtraction, or to the reset value 0 ('zero': its old name)")
    p.add_argument("--v-init", type=float, default=0.5,
                   help="initial membrane potential as a fraction of the threshold")
    p.add_argument("--encoding", choices=["constant", "poisson"], default="constant")
    p.add_argument("--decoding", choices=["membrane", "count"], default="membrane")
    p.add_argument("--calibration", type=positive_int, default=2000,
                   help="training images used to set thresholds")
    p.add_argument("--samples", type=positive_int, default=None,
                   help="test images to evaluate (default: all)")
    p.add_argument("--hybrid-steps", type=positive_int, default=None, metavar="T",
                   help="then fine-tune the converted network at T steps with surrogate "
                        "gradients (hybrid conversion) and evaluate it again")
    p.add_argument("--hybrid-epochs", type=positive_int, default=1)
    p.add_argument("--hybrid-train", type=positive_int, default=5000,
                   help="training images for hybrid fine-tuning")
    p.add_argument("--hybrid-lr", type=positive_float, default=1e-4)
    p.add_argument("--export-nir", metavar="FILE.nir",
                   help="also write the converted network as a NIR graph (needs --reset value "
                        "--v-init 0 and a model without max-pooling)")
    add_run_options(p, "folder for plots and JSON")
