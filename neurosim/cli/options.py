"""What every command shares: the user-error type, option types and the option groups."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from neurosim.backends import backend_names

BACKENDS = list(backend_names())  # the registry's names, and "auto"


class UserError(Exception):
    """A mistake in the command line: reported in one line, no traceback."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def add_command(sub: argparse._SubParsersAction, name: str, help_text: str, epilog: str,
                func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """A sub-command with its examples, ``--json`` and ``--quiet``."""
    p = sub.add_parser(name, help=help_text, epilog=epilog,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--quiet", action="store_true", help="print only results")
    p.set_defaults(func=func)
    return p


def add_run_options(p: argparse.ArgumentParser, out_help: str, out_default=None) -> None:
    """``--out``, ``--seed`` and ``--backend``, in that order."""
    p.add_argument("--out", default=out_default, help=out_help)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=BACKENDS, default="cpu")


def add_network_options(p: argparse.ArgumentParser) -> None:
    """``--neurons`` and ``--duration`` (seconds) of a built-in network model."""
    p.add_argument("--neurons", type=positive_int, default=4000)
    p.add_argument("--duration", type=positive_float, default=1.0, help="seconds")


def add_model_options(p: argparse.ArgumentParser, required: bool) -> None:
    """``--model`` and what loading it may need (shared by ``convert`` and ``bench``)."""
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


def load_model(args: argparse.Namespace):
    """The model named by the ``add_model_options`` options and its dataset's name."""
    from neurosim import zoo

    model = zoo.load_model(args.model, weights=args.weights, args_json=args.model_args,
                           trust_pickle=args.trust_pickle)
    name = Path(args.model).stem
    dataset = args.dataset or zoo.DATASET.get(name)
    if dataset is None:
        raise UserError("--dataset is needed for a model that is not a shipped one")
    return model, dataset


def write_json(args: argparse.Namespace, name: str, payload: dict) -> None:
    """``payload`` as ``name`` under ``--out``, when given."""
    if getattr(args, "out", None):
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(json.dumps(payload, indent=2))
