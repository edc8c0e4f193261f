"""The ``neurosim`` command line. User mistakes print one line and exit with status 2."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import neurosim


def info() -> dict[str, Any]:
    """Versions, usable backends and threads."""
    import numba
    import numpy

    from neurosim.backends import cuda_status

    cuda_ok, cuda_reason = cuda_status()
    versions = {"neurosim": neurosim.__version__, "python": platform.python_version(),
                "numpy": numpy.__version__, "numba": numba.__version__}
    for name in ("torch", "brian2", "snntorch", "sklearn", "matplotlib"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # optional at run time: report, don't fail
            versions[name] = None
    return {
        "versions": versions,
        "backends": {"cpu": True, "cuda": cuda_ok},
        "cuda": cuda_reason,
        "threads": numba.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "threading_layer": numba.config.THREADING_LAYER,
    }


def _cmd_info(args: argparse.Namespace) -> int:
    report = info()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"neurosim {report['versions']['neurosim']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v))
    print(f"backends: cpu yes; cuda {'yes' if report['backends']['cuda'] else 'no'} "
          f"({report['cuda']})")
    print(f"threads:  {report['threads']} Numba threads on {report['cpu_count']} CPUs")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from neurosim.demo import run_demo

    results = run_demo(args.out, backend=args.backend, seed=args.seed, quiet=args.quiet or
                       args.json)
    if args.json:
        print(json.dumps(results, default=float))
    return 0


class UserError(Exception):
    """A mistake in the command line: reported in one line, no traceback."""


def _load_cli_model(args: argparse.Namespace):
    from neurosim import zoo

    model = zoo.load_model(args.model, weights=args.weights, args_json=args.model_args,
                           trust_pickle=args.trust_pickle)
    name = Path(args.model).stem
    dataset = args.dataset or zoo.DATASET.get(name)
    if dataset is None:
        raise UserError("--dataset is needed for a model that is not a shipped one")
    return model, dataset


def _cmd_convert(args: argparse.Namespace) -> int:
    import torch

    from neurosim import plot
    from neurosim.convert import convert
    from neurosim.datasets import load

    model, dataset = _load_cli_model(args)
    data = load(dataset, flat=False, seed=args.seed)
    timesteps = _timesteps(args.timesteps)
    calib = torch.from_numpy(data.x_train[: args.calibration])
    options = {"normalization": _normalization(args.normalization),
               "granularity": args.granularity, "neuron": args.neuron,
               "encoding": args.encoding, "decoding": args.decoding, "reset": args.reset,
               "backend": args.backend, "seed": args.seed}
    try:
        snn = convert(model, calib, **options)
    except RuntimeError as exc:
        raise UserError(str(exc)) from exc
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
    return 0


def _hybrid(args: argparse.Namespace, snn, data, n: int, timesteps: list[int]) -> dict:
    """Surrogate-gradient fine-tuning of the converted network (hybrid conversion)."""
    import time

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


def _timesteps(text: str) -> list[int]:
    try:
        steps = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UserError(f"--timesteps must be integers separated by commas, got {text!r}") \
            from None
    if not steps or min(steps) <= 0:
        raise UserError(f"--timesteps must be positive, got {text!r}")
    return steps


def _normalization(text: str):
    if text == "max":
        return "max"
    try:
        return float(text)
    except ValueError:
        raise UserError(f"--normalization must be 'max' or a percentile, got {text!r}") \
            from None


def _write_out(args: argparse.Namespace, name: str, payload: dict) -> None:
    if getattr(args, "out", None):
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(json.dumps(payload, indent=2))


def _cmd_bench(args: argparse.Namespace) -> int:
    from neurosim.benchmarking import bench_cuba

    if args.what == "convert":
        return _bench_convert(args)
    if args.what != "cuba":
        raise UserError(f"unknown benchmark {args.what!r}; available: cuba, convert")
    compare = None if args.compare == "none" else (args.compare or "brian2")
    result = bench_cuba(args.neurons, args.duration, compare=compare, seed=args.seed,
                        backend=args.backend)
    _write_out(args, "bench_cuba.json", result)
    if args.json:
        print(json.dumps(result))
        return 0
    line = (f"CUBA {result['neurons']:,} neurons, {result['synapses']:,} synapses, "
            f"{args.duration} s: neurosim {result['neurosim_s']:.3f} s "
            f"({result['neurosim_rate_hz']:.2f} Hz)")
    if compare:
        line += (f"; Brian2 {result['brian2_target']} {result['brian2_s']:.3f} s "
                 f"({result['brian2_rate_hz']:.2f} Hz, {result['brian2_threads']} thread(s)) "
                 f"-> speedup {result['speedup']:.1f}x")
    print(line)
    return 0


def _bench_convert(args: argparse.Namespace) -> int:
    import torch

    from neurosim.benchmarking import bench_convert
    from neurosim.datasets import load

    if args.model is None:
        raise UserError("bench convert needs --model")
    model, dataset = _load_cli_model(args)
    data = load(dataset, flat=False)
    x = torch.from_numpy(data.x_test[: args.batch])
    calib = torch.from_numpy(data.x_train[:1000])
    compare = None if args.compare == "none" else "snntorch"
    result = bench_convert(model, x, calib, timesteps=args.timesteps, compare=compare)
    result["model"] = args.model
    _write_out(args, "bench_convert.json", result)
    if args.json:
        print(json.dumps(result))
    else:
        line = (f"{args.model}, T = {args.timesteps}, batch {len(x)}: neurosim "
                f"{result['neurosim_images_per_s']:.1f} images/s, ANN "
                f"{result['ann_images_per_s']:.0f} images/s")
        if compare:
            line += (f", snnTorch {result['snntorch_images_per_s']:.1f} images/s -> speedup "
                     f"{result['speedup']:.1f}x")
        print(line)
    return 0


def _cmd_transfer(args: argparse.Namespace) -> int:
    from neurosim.transfer import run_transfer, to_markdown, write_report

    seeds = tuple(range(args.seed, args.seed + args.seeds))
    study = run_transfer(quick=not args.full, seeds=seeds, backend=args.backend,
                         progress=not (args.quiet or args.json))
    if args.out:
        write_report(study, args.out)
    if args.json:
        print(json.dumps(study["table"]))
    else:
        print(to_markdown(study))
        print(f"({len(study['rows'])} runs in {study['seconds']:.0f} s)")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from neurosim.validate import validate_brian2

    if args.against != "brian2":
        raise UserError(f"unknown reference {args.against!r}; available: brian2")
    results = validate_brian2(quick=args.quick)
    ok = all(r["passed"] for r in results)
    _write_out(args, "validate_brian2.json", {"passed": ok, "checks": results})
    if args.json:
        print(json.dumps({"passed": ok, "checks": results}))
    else:
        for r in results:
            detail = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in r.items() if k not in ("name", "passed"))
            print(f"{'PASS' if r['passed'] else 'FAIL'} {r['name']}: {detail}")
    return 0 if ok else 1


def _cmd_simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from neurosim import plot
    from neurosim.network.cuba import build_cuba, mean_rate_hz

    if args.model != "cuba":
        raise UserError(f"unknown model {args.model!r}; available: cuba")
    net, mons = build_cuba(args.neurons, seed=args.seed, backend=args.backend)
    net.run(args.duration, progress=not args.quiet and not args.json)
    result = {"model": "cuba", "neurons": args.neurons, "synapses": net.n_synapses,
              "duration_s": args.duration, "rate_hz": mean_rate_hz(mons),
              "run_s": net.run_s}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        n_steps = net.t_steps
        raster = mons["spikes_exc"].as_raster(n_steps)[:, :500]
        plot.raster(raster, net.dt_s, title="CUBA network (first 500 excitatory)").savefig(
            out / "cuba_raster.png", dpi=120)
        plot.population_rate(mons["spikes_exc"].as_raster(n_steps), net.dt_s,
                             title="CUBA excitatory population rate").savefig(
            out / "cuba_rate.png", dpi=120)
        (out / "simulate.json").write_text(json.dumps(result, indent=2))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"CUBA: {result['neurons']:,} neurons, {result['synapses']:,} synapses, "
              f"{args.duration} s simulated in {result['run_s']:.3f} s, mean rate "
              f"{result['rate_hz']:.2f} Hz")
    return 0


BACKENDS = ["cpu", "cuda", "auto"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurosim", description="Spiking neural network simulator (Numba CPU/CUDA).",
        epilog="examples:\n  neurosim demo --out out\n  neurosim info --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=neurosim.__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, epilog: str, func) -> argparse.ArgumentParser:
        """A sub-command with its examples, ``--json`` and ``--quiet``."""
        p = sub.add_parser(name, help=help_text, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--quiet", action="store_true", help="print only results")
        p.set_defaults(func=func)
        return p

    def run_options(p: argparse.ArgumentParser, out_help: str, out_default=None) -> None:
        """``--out``, ``--seed`` and ``--backend``, in that order."""
        p.add_argument("--out", default=out_default, help=out_help)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--backend", choices=BACKENDS, default="cpu")

    command("info", "versions, usable backends, threads",
                "example:\n  neurosim info --json",
                _cmd_info)

    p = command("demo", "the main job on the embedded digits data",
                "example:\n  neurosim demo --out out --seed 0",
                _cmd_demo)
    run_options(p, "folder for figures and reports (default: out)", out_default="out")
    p = command("simulate", "simulate a built-in network model",
                "example:\n  neurosim simulate cuba --neurons 4000 --duration 1 "
                "--out out",
                _cmd_simulate)
    p.add_argument("model", help="model name: cuba")
    p.add_argument("--neurons", type=_positive_int, default=4000)
    p.add_argument("--duration", type=_positive_float, default=1.0, help="seconds")
    run_options(p, "folder for plots and JSON")

    def model_args(p: argparse.ArgumentParser, required: bool) -> None:
        p.add_argument("--model", required=required,
                       help="shipped name or checkpoint (models/mnist_cnn.pt), module:Class "
                            "(with --weights, --model-args), a .pt2 torch.export file, or a "
                            "pickled module (with --trust-pickle)")
        p.add_argument("--weights", help="state-dict file for --model module:Class")
        p.add_argument("--model-args", help="constructor arguments as JSON (list or object)")
        p.add_argument("--trust-pickle", action="store_true",
                       help="allow loading a whole pickled module (runs code from the file)")
        p.add_argument("--dataset", choices=["digits", "mnist"], help="test data (default: "
                       "the shipped model's)")

    p = command("convert", "convert a trained PyTorch classifier to a spiking "
                "network and compare accuracy",
                "examples:\n  neurosim convert --model digits_cnn\n"
                "  neurosim convert --model models/mnist_cnn.pt --timesteps "
                "8,16,32,64 --out out/convert --json\n"
                "  neurosim convert --model mypkg.nets:Net --weights net.pt "
                "--model-args '[10]' --dataset mnist\n"
                "  neurosim convert --model mnist_cnn --timesteps 4,8 "
                "--hybrid-steps 4   # + surrogate-gradient fine-tuning",
                _cmd_convert)
    model_args(p, required=True)
    p.add_argument("--timesteps", default="8,16,32,64", help="comma-separated T values")
    p.add_argument("--normalization", default="99.99", help="'max' or a percentile")
    p.add_argument("--granularity", choices=["layer", "channel"], default="channel")
    p.add_argument("--neuron", choices=["if", "lif"], default="if")
    p.add_argument("--reset", choices=["subtract", "zero"], default="subtract")
    p.add_argument("--encoding", choices=["constant", "poisson"], default="constant")
    p.add_argument("--decoding", choices=["membrane", "count"], default="membrane")
    p.add_argument("--calibration", type=_positive_int, default=2000,
                   help="training images used to set thresholds")
    p.add_argument("--samples", type=_positive_int, default=None,
                   help="test images to evaluate (default: all)")
    p.add_argument("--hybrid-steps", type=_positive_int, default=None, metavar="T",
                   help="then fine-tune the converted network at T steps with surrogate "
                        "gradients (hybrid conversion) and evaluate it again")
    p.add_argument("--hybrid-epochs", type=_positive_int, default=1)
    p.add_argument("--hybrid-train", type=_positive_int, default=5000,
                   help="training images for hybrid fine-tuning")
    p.add_argument("--hybrid-lr", type=_positive_float, default=1e-4)
    run_options(p, "folder for plots and JSON")

    p = command("bench", "benchmarks against peer simulators",
                "examples:\n  neurosim bench cuba --neurons 4000 --duration 1 "
                "--compare brian2 --json\n  neurosim bench convert --model "
                "models/mnist_cnn.pt --timesteps 32 --batch 256 --compare "
                "snntorch --json",
                _cmd_bench)
    p.add_argument("what", help="benchmark: cuba or convert")
    p.add_argument("--neurons", type=_positive_int, default=4000)
    p.add_argument("--duration", type=_positive_float, default=1.0, help="seconds")
    p.add_argument("--compare", choices=["brian2", "snntorch", "none"], default=None,
                   help="peer (default: brian2 for cuba, snntorch for convert)")
    model_args(p, required=False)
    p.add_argument("--timesteps", type=_positive_int, default=32)
    p.add_argument("--batch", type=_positive_int, default=256)
    run_options(p, "folder for the JSON result")

    p = command("transfer", "transfer study: MNIST CNN -> digits, ANN and SNN",
                "examples:\n  neurosim transfer --out out/transfer\n"
                "  neurosim transfer --full --json",
                _cmd_transfer)
    p.add_argument("--full", action="store_true",
                   help="1/5/10/50/all shots per class (default: quick mode, 1/10/all)")
    p.add_argument("--seeds", type=_positive_int, default=3, help="seeds to average over")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--out", default=None, help="folder for transfer.md/.json/.png")
    p.add_argument("--backend", choices=BACKENDS, default="cpu",
                   help="backend of the spiking simulations")

    p = command("validate", "cross-checks against a reference simulator",
                "example:\n  neurosim validate brian2 --json",
                _cmd_validate)
    p.add_argument("against", help="reference: brian2")
    p.add_argument("--quick", action="store_true", help="smaller sizes")
    p.add_argument("--out", default=None, help="folder for the JSON result")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except (UserError, ValueError, TypeError, FileNotFoundError, OSError,
            neurosim.BackendUnavailableError) as exc:
        print(f"neurosim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
