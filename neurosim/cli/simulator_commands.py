"""``neurosim info`` and ``neurosim simulate``: the simulator itself."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

import neurosim
from neurosim.cli.options import (
    UserError,
    add_command,
    add_network_options,
    add_run_options,
)


def info() -> dict[str, Any]:
    """Versions, usable backends and threads."""
    import numba
    import numpy

    from neurosim.backends import REGISTRY, probe, resolve_backend_name

    probes = {name: probe(name) for name in REGISTRY}
    versions = {"neurosim": neurosim.__version__, "python": platform.python_version(),
                "numpy": numpy.__version__, "numba": numba.__version__}
    for name in ("torch", "brian2", "snntorch", "sklearn", "matplotlib"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # optional at run time: report, don't fail
            versions[name] = None
    return {
        "versions": versions,
        "backends": {name: found.usable for name, found in probes.items()},
        "backend_reasons": {name: found.reason for name, found in probes.items()},
        "auto": resolve_backend_name("auto"),
        "cuda": probes["cuda"].reason,
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
    print("backends: " + "; ".join(
        f"{name} {'yes' if usable else 'no'} ({report['backend_reasons'][name]})"
        for name, usable in report["backends"].items()) + f"; auto -> {report['auto']}")
    print(f"threads:  {report['threads']} Numba threads on {report['cpu_count']} CPUs")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
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
        steps = net.steps_done
        raster = mons["spikes_exc"].as_raster(steps)[:, :500]
        plot.raster(raster, net.dt_s, title="CUBA network (first 500 excitatory)").savefig(
            out / "cuba_raster.png", dpi=120)
        plot.population_rate(mons["spikes_exc"].as_raster(steps), net.dt_s,
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


def add_info(sub: argparse._SubParsersAction) -> None:
    add_command(sub, "info", "versions, usable backends, threads",
                "example:\n  neurosim info --json",
                _cmd_info)


def add_simulate(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "simulate", "simulate a built-in network model",
                    "example:\n  neurosim simulate cuba --neurons 4000 --duration 1 "
                    "--out out",
                    _cmd_simulate)
    p.add_argument("model", help="model name: cuba")
    add_network_options(p)
    add_run_options(p, "folder for plots and JSON")
