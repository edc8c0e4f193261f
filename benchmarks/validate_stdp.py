"""Song, Miller & Abbott (2000) in neurosim against Brian2's STDP example (issue 14), the
example's full 100 s (``neurosim validate stdp`` runs the same with other defaults).

What runs (:func:`neurosim.studies.stdp_validation.validate_stdp`; both sides float64, dt
0.1 ms): the gallery's ``song_abbott`` (one neuron, 1,000 Poisson inputs at 15 Hz, additive
STDP, gmax 0.01) and Brian2's ``examples/synapses/STDP.py`` in its own formulation
(:mod:`neurosim.studies.brian2_stdp`; ``--target``, default ``cpp_standalone``: the numpy
target takes about 3.5 minutes for 100 s), each with its own random numbers, ``--seeds``
(3) runs per side pooled.
Judged on the final weights: the fractions below 0.1 gmax and above 0.9 gmax within 5
percentage points; the output rate in 10 s bins is reported for both. Brian2 also runs once
from neurosim's initial weights of seed 0 (``shared_start``: the early rates depend steeply
on the initial draw; from the same start they agree). Not a timing
(``bench_stdp.py`` is the speed benchmark).

Writes ``benchmarks/results/stdp/validate_song_abbott.json`` and, next to it,
``validate_song_abbott.png`` (weight histograms side by side, output rates over time, and
the rates of the shared start)::

    .venv/bin/python benchmarks/validate_stdp.py      # about 2 minutes

``--quick``: 10 s (checks the script, not for the README).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DEFAULT_OUT = common.RESULTS / "stdp" / "validate_song_abbott.json"


def render(result: dict[str, Any]) -> str:
    """The README table of the results file."""
    from neurosim.studies.stdp_validation import to_markdown

    env = result.get("environment", {})
    return (to_markdown(result).rstrip("\n")
            + f" (Brian2 {env.get('versions', {}).get('brian2', '?')}; separate random "
              "numbers on each side).\n")


def main(argv: list[str] | None = None) -> int:
    from neurosim.studies.stdp_validation import figure, validate_stdp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=100.0, help="simulated seconds")
    parser.add_argument("--seeds", type=int, default=3,
                        help="runs per side, seeds 0 .. K - 1 (default 3), pooled")
    parser.add_argument("--target", choices=["numpy", "cpp_standalone"],
                        default="cpp_standalone", help="Brian2's target")
    parser.add_argument("--bin", type=float, default=10.0, help="rate bins (s)")
    parser.add_argument("--quick", action="store_true", help="10 s: checks the script")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="result JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.bin = 10.0, 1.0
    out = Path(args.out)
    start = time.perf_counter()
    result = validate_stdp(duration_s=args.duration, seeds=tuple(range(args.seeds)),
                           target=args.target,
                           bin_s=args.bin, log=lambda line: print(line, flush=True))
    result["wall_s"] = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    png = out.with_suffix(".png")
    figure(result).savefig(png, dpi=110)
    print(f"written {png}")
    written = common.write_result(out, result, duration_s=args.duration, seeds=args.seeds,
                                  target=args.target, dtype="float64", quick=args.quick)
    print(render(json.loads(written.read_text())))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
