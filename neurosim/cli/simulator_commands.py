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
    add_run_options,
    nonnegative_float,
    positive_float,
    positive_int,
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


def _parse_settings(items: list[str]) -> dict[str, Any]:
    """``--set name=value`` pairs: numbers become int or float, other text stays text."""
    params: dict[str, Any] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--set expects name=value, got {item!r}")
        try:
            value: Any = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                value = text
        params[name.strip()] = value
    return params


def _cmd_simulate(args: argparse.Namespace) -> int:
    import inspect

    import numpy as np

    from neurosim import gallery, plot

    if args.nir is not None:
        return _simulate_nir(args)
    if args.model is None:
        raise UserError(f"name a model ({', '.join(gallery.MODELS)}) or give --nir FILE")
    if args.model not in gallery.MODELS:
        raise UserError(f"unknown model {args.model!r}; available: {', '.join(gallery.MODELS)}")
    params = _parse_settings(args.set)
    if args.neurons is not None:
        params["n"] = args.neurons
    if args.scale is not None:
        params["scale"] = args.scale
    if args.regime:
        if args.model != "brunel2000":
            raise UserError("--regime is a brunel2000 option")
        from neurosim.gallery.brunel import REGIMES

        params["g"], params["nu_ratio"] = REGIMES[args.regime]
    accepted = inspect.signature(gallery.build_function(args.model)).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise UserError(f"model {args.model!r} has no parameter {', '.join(unknown)}; it takes "
                        f"{', '.join(p for p in accepted if p not in ('backend', 'dtype'))}")
    if args.transient >= args.duration:
        raise UserError(f"--transient ({args.transient}) must be shorter than --duration "
                        f"({args.duration})")
    run = gallery.simulate(args.model, duration_s=args.duration, transient_s=args.transient,
                           progress=not args.quiet and not args.json, seed=args.seed,
                           backend=args.backend, dtype=np.dtype(args.dtype), **params)
    net = run.model.network
    result = {"model": args.model, "description": run.model.description,
              "params": run.model.params, "neurons": run.n_neurons,
              "synapses": net.n_synapses, "duration_s": args.duration,
              "transient_s": args.transient, "run_s": run.run_s, **run.stats}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        start = max(args.transient, args.duration - 0.2)
        plot.raster_and_rate(run.steps, run.indices, run.n_neurons, run.n_steps, run.dt_s,
                             t_range_s=(start, args.duration),
                             title=f"{args.model}: {result['rate_hz']:.1f} Hz").savefig(
            out / f"{args.model}_raster.png", dpi=120)
        (out / "simulate.json").write_text(json.dumps(result, indent=2))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.model}: {run.n_neurons:,} neurons, {net.n_synapses:,} synapses, "
              f"{args.duration} s simulated in {run.run_s:.3f} s; after {args.transient} s: "
              f"rate {result['rate_hz']:.2f} Hz, synchrony {result['synchrony']:.3f}, "
              f"CV ISI {result['cv_isi']:.3f}")
    return 0


def _simulate_nir(args: argparse.Namespace) -> int:
    """``simulate --nir FILE``: a NIR graph run on neurosim's kernels over test images."""
    import numpy as np

    from neurosim.datasets import DATASETS, load
    from neurosim.interop import nir as nir_interop

    if args.model is not None:
        raise UserError(f"give either a gallery model or --nir, not both (got {args.model!r})")
    if args.dataset not in DATASETS:
        raise UserError(f"--dataset must be one of {', '.join(DATASETS)}, got {args.dataset!r}")
    net = nir_interop.load(args.nir, dt_s=args.dt, backend=args.backend)
    data = load(args.dataset, flat=False, seed=args.seed)
    n = min(args.samples, len(data.x_test))
    x, y = data.x_test[:n], data.y_test[:n]
    if tuple(x.shape[1:]) != net.input_shape:
        flat = x.reshape(n, -1)
        if (flat.shape[1],) != net.input_shape:
            raise UserError(f"the graph takes inputs of shape {net.input_shape}; --dataset "
                            f"{args.dataset} has images of shape {tuple(x.shape[1:])}")
        x = flat
    result = net.simulate(x, args.timesteps)
    outputs = result["membrane"][-1]
    report = {"nir": str(args.nir), "dataset": args.dataset, "samples": n,
              "timesteps": args.timesteps, "dt_s": net.dt_s,
              "neuron_layers": len(net.neuron_layers),
              "spikes_per_sample": {k: float(v) / n for k, v in result["spikes"].items()},
              "outputs": int(outputs.shape[1])}
    if outputs.shape[1] == int(data.y_test.max()) + 1:
        report["accuracy"] = float(np.mean(outputs.argmax(axis=1) == y))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "simulate_nir.json").write_text(json.dumps(report, indent=2))
    if args.json:
        print(json.dumps(report))
        return 0
    total = sum(report["spikes_per_sample"].values())
    accuracy = (f", accuracy {100 * report['accuracy']:.2f}%" if "accuracy" in report else "")
    print(f"{args.nir}: {report['neuron_layers']} neuron layers, {n} {args.dataset} test images, "
          f"T = {args.timesteps} (dt {net.dt_s:g} s): {total:.1f} spikes per image{accuracy}")
    return 0


def add_info(sub: argparse._SubParsersAction) -> None:
    add_command(sub, "info", "versions, usable backends, threads",
                "example:\n  neurosim info --json",
                _cmd_info)


def add_simulate(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "simulate", "simulate a model of the gallery (neurosim.gallery)",
                    "examples:\n  neurosim simulate cuba --neurons 4000 --duration 1 --out out"
                    "\n  neurosim simulate brunel2000 --regime B --scale 0.2 --duration 0.5 "
                    "--transient 0.1\n  neurosim simulate coba --set n=2000 --json\n"
                    "  neurosim simulate --nir digits_mlp.nir --dataset digits --timesteps 32",
                    _cmd_simulate)
    p.add_argument("model", nargs="?", help="cuba, coba or brunel2000 (or --nir FILE)")
    p.add_argument("--nir", metavar="FILE.nir",
                   help="run a NIR graph (a spiking classifier) on test images instead")
    p.add_argument("--dataset", default="digits", help="--nir: test images (default digits)")
    p.add_argument("--samples", type=positive_int, default=100, help="--nir: test images")
    p.add_argument("--timesteps", type=positive_int, default=32, help="--nir: time steps")
    p.add_argument("--dt", type=positive_float, default=None,
                   help="--nir: the Euler step the graph's neurons are read with (default: "
                        "the graph's neurosim_dt_s, else 1e-4 s as snnTorch)")
    p.add_argument("--neurons", type=positive_int, help="network size n (cuba, coba)")
    p.add_argument("--duration", type=positive_float, default=1.0, help="seconds")
    p.add_argument("--transient", type=nonnegative_float, default=0.0,
                   help="seconds left out of the statistics")
    p.add_argument("--scale", type=positive_float, help="size relative to the model's default")
    p.add_argument("--regime", choices=["A", "B", "C", "D"],
                   help="brunel2000: the (g, nu_ext/nu_thr) of Brunel (2000) Fig. 8")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="a model parameter (repeatable), e.g. --set g=4.5")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    add_run_options(p, "folder for plots and JSON")
