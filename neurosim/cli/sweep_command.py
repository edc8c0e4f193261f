"""``neurosim sweep``: a parameter sweep of a gallery model on a Dask cluster
(:mod:`neurosim.studies.sweep`)."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from typing import Any

from neurosim.cli.options import UserError, add_command, positive_float, positive_int

_INTEGER = re.compile(r"[+-]?\d+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def parse_value(text: str, option: str) -> Any:
    """A value of ``--grid``/``--set``: an int when the text is a whole number, else a float;
    a word (``float64``, ``cpu``) stays a string. Non-finite numbers are refused."""
    text = text.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        if _WORD.fullmatch(text) and text.lower() not in ("nan", "inf", "infinity"):
            return text
        raise UserError(f"{option}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise UserError(f"{option}: {text!r} is not a finite number")
    return value


def parse_assignment(text: str, option: str) -> tuple[str, str]:
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or not spec.strip():
        raise UserError(f"{option} {text!r}: expected NAME=VALUES, e.g. g=2:8:7 or "
                        "nu_ratio=0.5,1,2")
    return name, spec.strip()


def parse_grid(text: str) -> tuple[str, list]:
    """``NAME=a:b:n`` (n evenly spaced values from a to b, ints when a and b are whole numbers
    and so are all the values) or ``NAME=a,b,c``."""
    name, spec = parse_assignment(text, "--grid")
    option = f"--grid {name}"
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise UserError(f"{option}: a range is START:STOP:COUNT, got {spec!r}")
        start, stop = (parse_value(p, option) for p in parts[:2])
        count = parse_value(parts[2], option)
        if not all(isinstance(v, (int, float)) for v in (start, stop)):
            raise UserError(f"{option}: START and STOP of {spec!r} must be numbers")
        if not isinstance(count, int) or count < 1:
            raise UserError(f"{option}: COUNT of {spec!r} must be a whole number >= 1")
        import numpy as np

        values = [float(v) for v in np.linspace(start, stop, count)]
        if isinstance(start, int) and isinstance(stop, int) and all(
                v.is_integer() for v in values):
            values = [int(v) for v in values]
        return name, values
    items = spec.split(",")
    if any(not item.strip() for item in items):
        raise UserError(f"{option}: an empty value in {spec!r}")
    return name, [parse_value(item, option) for item in items]


def _cmd_sweep(args: argparse.Namespace) -> int:
    from neurosim.studies.sweep import phase_diagram, sweep

    grid: dict[str, list] = {}
    for text in args.grid:
        name, values = parse_grid(text)
        if name in grid:
            raise UserError(f"--grid {name} is given twice")
        grid[name] = values
    fixed: dict[str, Any] = {}
    for text in args.set:
        name, spec = parse_assignment(text, "--set")
        if name in fixed or name in grid:
            raise UserError(f"--set {name}: {name} is already given")
        fixed[name] = parse_value(spec, f"--set {name}")
    if args.figure and len(grid) < 2:
        raise UserError("--figure needs two --grid parameters (x, then y)")
    if args.transient >= args.duration:
        raise UserError(f"--transient ({args.transient} s) must be shorter than --duration "
                        f"({args.duration} s)")
    result = sweep(args.model, grid, fixed=fixed, out=args.out, scheduler=args.scheduler,
                   n_workers=args.workers, duration_s=args.duration,
                   transient_s=args.transient, progress=not (args.quiet or args.json))
    report = result.as_dict()
    if args.figure:
        x, y = list(grid)[:2]
        stats = [s for s in ("rate_hz", "synchrony", "cv_isi")
                 if any(row.get(s) is not None for row in result.rows)]
        if not stats:
            raise UserError("no point succeeded: nothing to draw (see the error column)")
        fig = phase_diagram(result.rows, x=x, y=y, stats=stats,
                            title=", ".join([f"{args.model}: {len(result.rows)} points",
                                             *(f"{k}={v}" for k, v in fixed.items()),
                                             f"{args.duration:g} s simulated"]))
        fig.savefig(args.figure, dpi=120)
        report["figure"] = args.figure
    if args.json:
        print(json.dumps(report))
        return 0
    print(result.summary())
    for key, error in list(result.failures.items())[:5]:
        print(f"failed: {key}: {error}", file=sys.stderr)
    if len(result.failures) > 5:
        print(f"... and {len(result.failures) - 5} more failed points (the error column)",
              file=sys.stderr)
    if args.figure:
        print(f"figure: {args.figure}")
    return 0


def add_sweep(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "sweep", "a parameter sweep of a gallery model on a Dask cluster",
        "example (Brunel 2000, Fig. 2, at a tenth of the size):\n"
        "  neurosim sweep brunel2000 --grid g=2:8:7 --grid nu_ratio=0.5,1,2,3,4 "
        "--set scale=0.1 \\\n      --duration 0.5 --transient 0.1 --out sweep.csv "
        "--figure phase.png\n\n"
        "A rerun with the same --out computes only the points missing from the table (and "
        "retries\nfailed ones). Failed points are listed, not fatal (exit status 0).",
        _cmd_sweep)
    p.add_argument("model", help="gallery model name (neurosim.gallery.MODELS)")
    p.add_argument("--grid", action="append", default=[], required=True,
                   metavar="NAME=VALUES",
                   help="a swept parameter: START:STOP:COUNT (evenly spaced) or a,b,c; "
                        "repeat for a Cartesian product")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter fixed for every point, e.g. scale=0.1")
    p.add_argument("--duration", type=positive_float, default=1.0,
                   help="simulated seconds per point")
    p.add_argument("--transient", type=float, default=0.0,
                   help="first seconds left out of the statistics")
    p.add_argument("--out", required=True, help="the CSV table (read first when it exists)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786), "
                                       "or 'synchronous' (in this process, no Dask); default: "
                                       "a local cluster")
    p.add_argument("--workers", type=positive_int,
                   help="processes of the local cluster (default: one per core)")
    p.add_argument("--figure", help="PNG of the phase diagram (first --grid on x, second on y)")
