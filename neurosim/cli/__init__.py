"""The ``neurosim`` command line. Errors print one line, no traceback (unless ``--debug``):
exit status 2 for a mistake in the command line (options, paths, values), 1 for a failure while
running, 130 for Ctrl-C.

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
from neurosim.cli.learn_command import add_learn
from neurosim.cli.options import UserError
from neurosim.cli.simulator_commands import add_info, add_simulate, info
from neurosim.cli.study_commands import add_bench, add_demo, add_transfer, add_validate
from neurosim.cli.sweep_command import add_sweep

__all__ = ["UserError", "build_parser", "info", "main"]


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (not the whole usage text)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="neurosim", description="Spiking neural network simulator (Numba CPU/CUDA).",
        epilog="examples:\n  neurosim demo --out out\n  neurosim info --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=neurosim.__version__)
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # the order of the commands in --help
    for add in (add_info, add_demo, add_simulate, add_convert, add_bench, add_transfer,
                add_validate, add_sweep, add_learn):
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
    except (UserError, ValueError, TypeError, OSError,
            neurosim.BackendUnavailableError) as exc:
        if args.debug:
            raise
        print(f"neurosim {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a failure: one line, the traceback on --debug
        if args.debug:
            raise
        print(f"neurosim {args.command}: failed: {type(exc).__name__}: {_one_line(exc)} "
              "(--debug shows the traceback)", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if text else type(exc).__name__
