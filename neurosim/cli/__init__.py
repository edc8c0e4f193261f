"""The ``neurosim`` command line. User mistakes print one line and exit with status 2.

One module per group of commands, each adding its sub-commands to the parser:
:mod:`~neurosim.cli.simulator_commands` (``info``, ``simulate``),
:mod:`~neurosim.cli.convert_command` (``convert``) and :mod:`~neurosim.cli.study_commands`
(``demo``, ``bench``, ``transfer``, ``validate``, the programs in :mod:`neurosim.studies`);
:mod:`~neurosim.cli.options` holds what they share. Heavy imports wait until a command runs.
"""

from __future__ import annotations

import argparse
import sys

import neurosim
from neurosim.cli.convert_command import add_convert
from neurosim.cli.options import UserError
from neurosim.cli.simulator_commands import add_info, add_simulate, info
from neurosim.cli.study_commands import add_bench, add_demo, add_transfer, add_validate

__all__ = ["UserError", "build_parser", "info", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurosim", description="Spiking neural network simulator (Numba CPU/CUDA).",
        epilog="examples:\n  neurosim demo --out out\n  neurosim info --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=neurosim.__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # the order of the commands in --help
    for add in (add_info, add_demo, add_simulate, add_convert, add_bench, add_transfer,
                add_validate):
        add(sub)
    return parser


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
