"""The model gallery against Brian2 at full size (issue 13): Brunel (2000)'s four regimes and
the COBA and CUBA networks, statistics over seeds within the issue's tolerances.

What runs (:mod:`neurosim.studies.gallery_validation`; both sides float64, dt 0.1 ms):

- Brunel's network at ``--scale`` (1: N_E = 10,000, N_I = 2,500, 1,000 excitatory inputs per
  neuron), regimes A-D of Fig. 8, ``--duration`` s (1) per run, statistics after
  ``--transient`` s (0.2), ``--seeds`` seeds (2) per side: neurosim's ``brunel2000`` vs Brian2's
  ``examples/frompapers/Brunel_2000.py`` (its own connectivity and Poisson drive). Judged on
  seed means: rate within 10 % of Brian2's (15 % in D), synchrony (CV of the 1 ms population
  histogram) within max(0.1, 15 %), CV ISI within 0.1.
- COBA (``--neurons`` 4,000, same duration and transient): neurosim's ``coba`` vs Brian's
  classic ``COBA.py`` drawing its own network (``--coba-seeds`` seeds per side, 64); again on
  neurosim's network (``shared``, ``--coba-shared-seeds``, 16): the dynamics alone; and the two
  network generators alone (``generators``, the ``--coba-seeds`` seeds): neurosim run on its
  own networks and on the networks Brian2's ``COBA.py`` draws (Brian2 draws, not simulates).
  CUBA (``--seeds``): Brian2's ``CUBA`` example on neurosim's network. Rates within 5 %.
  COBA's rate varies by about 7 % (sd) from one random network to another at 4,000 neurons,
  and a few networks in a hundred fall silent (rate 0: the activity is self-sustained, with
  no external drive); one silent network among 16 moves a side's mean by 6 %. The last run
  with 16 seeds per side failed on one silent Brian2 network; with 64 per side a silent
  network moves a mean by 1.6 % and the sd of the difference of the two means is about 1.3 %
  (2.5 % with 16). (A COBA run takes about 4 s on Brian2's numpy target: 64 seeds take about
  5 minutes; Brian2 drawing a network about 2 s.)

Brian2's target (``--target``): ``numpy`` (no compiler; Python's per-step overhead in every
run), ``cpp_standalone`` (generated C++: 40-60 s of code generation and compilation per run,
recorded as ``build_s``) or ``mixed`` (the default: ``cpp_standalone`` for regime A, whose
4.8e9 synaptic events per simulated second take the numpy target about 3 minutes, ``numpy``
for the rest). Speed is not the claim here (``bench_gallery.py`` and ``bench_cuba.py`` are the
speed benchmarks): times are recorded for the reader, one run each, no warm-up.

Writes ``benchmarks/results/gallery/validate_gallery.json`` and, next to it,
``validate_gallery.png`` (rasters and population rates, neurosim and Brian2 side by side).
Run (about 25 minutes on an idle 2-core machine)::

    .venv/bin/python benchmarks/validate_gallery.py

``--quick``: scale 0.1, 0.5 s, 2,000 COBA/CUBA neurons (checks the script, not for the README).
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

DEFAULT_OUT = common.RESULTS / "gallery" / "validate_gallery.json"


def run(*, scale: float, duration_s: float, transient_s: float, seeds: int, n: int,
        target: str, dtype: str = "float64", figure: Path | None = None,
        coba_seeds: int | None = None, coba_shared_seeds: int | None = None) -> dict[str, Any]:
    """Every validation of the gallery; with ``figure``, its rasters saved there."""
    from neurosim.studies import gallery_report
    from neurosim.studies import gallery_validation as gv

    brunel_target: str | dict[str, str] = target
    if target == "mixed":
        brunel_target = {"A": "cpp_standalone", "B": "numpy", "C": "numpy", "D": "numpy"}
        target = "numpy"
    common_args = {"duration_s": duration_s, "transient_s": transient_s,
                   "seeds": tuple(range(seeds)), "dtype": dtype,
                   "keep_spikes": figure is not None,
                   "log": lambda line: print(line, flush=True)}
    coba_args = {**common_args, "seeds": tuple(range(coba_seeds or seeds))}
    shared_args = {**common_args, "seeds": tuple(range(coba_shared_seeds or seeds))}
    start = time.perf_counter()
    result: dict[str, Any] = {
        "brunel2000": gv.validate_brunel("ABCD", scale=scale, target=brunel_target,
                                         **common_args),
        "coba": gv.validate_coba(n, network="independent", target=target, **coba_args),
        "coba_shared": gv.validate_coba(n, network="shared", target=target, **shared_args),
        "coba_generators": gv.validate_coba(n, network="generators", **coba_args),
        "cuba": gv.validate_cuba(n, target=target, **common_args),
    }
    wall_s = time.perf_counter() - start
    if figure is not None:
        figure.parent.mkdir(parents=True, exist_ok=True)
        gallery_report.raster_figure(result).savefig(figure, dpi=110)
        print(f"written {figure}")
    result = gv.without_spikes(result)
    result["passed"] = all(part["passed"] for part in result.values())
    result["wall_s"] = wall_s
    return result


def render(result: dict[str, Any]) -> str:
    """A markdown table per model and regime: neurosim vs Brian2 (seed mean, per-seed
    min-max) for rate, synchrony and CV ISI, the difference, the tolerance and the verdict."""
    from neurosim.studies import gallery_report

    parts = {k: v for k, v in result.items() if isinstance(v, dict) and "model" in v}
    brunel = parts["brunel2000"]["settings"]
    env = result.get("environment", {})
    targets = sorted(set(brunel["target"].values()))
    head = (f"The gallery against Brian2 {env.get('versions', {}).get('brian2', '?')} "
            f"({' and '.join(targets)} targets), {brunel['dtype']} on both sides, dt 0.1 ms: "
            f"{brunel['duration_s']:g} s per run, statistics after {brunel['transient_s']:g} s, "
            f"seeds {', '.join(map(str, brunel['seeds']))} on each side (separate random "
            f"numbers); Brunel at scale {brunel['scale']:g}. Overall: "
            f"{'PASS' if result['passed'] else 'FAIL'}.\n")
    return head + "\n" + gallery_report.to_markdown(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Brunel: N_E = 10,000 x scale")
    parser.add_argument("--duration", type=float, default=1.0, help="seconds per run")
    parser.add_argument("--transient", type=float, default=0.2,
                        help="seconds left out of the statistics")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per side")
    parser.add_argument("--coba-seeds", type=int, default=64,
                        help="seeds per side for COBA (its rate's spread between networks)")
    parser.add_argument("--coba-shared-seeds", type=int, default=16,
                        help="seeds for COBA on neurosim's network in both simulators")
    parser.add_argument("--neurons", type=int, default=4000, help="COBA and CUBA size")
    parser.add_argument("--target", choices=["mixed", "numpy", "cpp_standalone"],
                        default="mixed", help="Brian2's target (default mixed: "
                        "cpp_standalone for Brunel's regime A, numpy for the rest)")
    parser.add_argument("--quick", action="store_true",
                        help="scale 0.1, 0.5 s, 2,000 neurons: checks the script")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="result JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.scale, args.duration, args.transient, args.neurons = 0.1, 0.5, 0.1, 2000
        args.coba_seeds = args.coba_shared_seeds = args.seeds
    out = Path(args.out)
    settings = {"scale": args.scale, "duration_s": args.duration,
                "transient_s": args.transient, "seeds": args.seeds, "coba_seeds": args.coba_seeds,
                "coba_shared_seeds": args.coba_shared_seeds,
                "neurons": args.neurons,
                "target": args.target, "dtype": "float64", "quick": args.quick}
    result = run(scale=args.scale, duration_s=args.duration, transient_s=args.transient,
                 seeds=args.seeds, n=args.neurons, target=args.target,
                 figure=out.with_suffix(".png"), coba_seeds=args.coba_seeds,
                 coba_shared_seeds=args.coba_shared_seeds)
    written = common.write_result(out, result, **settings)
    print(render(json.loads(written.read_text())))  # with the environment, as make_tables
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
