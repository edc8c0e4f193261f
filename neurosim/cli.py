"""The ``neurosim`` command line. User mistakes print one line and exit with status 2."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurosim", description="Spiking neural network simulator (Numba CPU/CUDA).",
        epilog="examples:\n  neurosim demo --out out\n  neurosim info --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=neurosim.__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--quiet", action="store_true", help="print only results")

    p = sub.add_parser("info", help="versions, usable backends, threads",
                       epilog="example:\n  neurosim info --json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p)
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("demo", help="the main job on the embedded digits data",
                       epilog="example:\n  neurosim demo --out out --seed 0",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p)
    p.add_argument("--out", default="out", help="folder for figures and reports (default: out)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=["cpu", "cuda", "auto"], default="cpu")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except (UserError, ValueError, TypeError, FileNotFoundError,
            neurosim.BackendUnavailableError) as exc:
        print(f"neurosim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
