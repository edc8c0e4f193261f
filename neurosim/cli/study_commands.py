"""``neurosim demo``, ``bench``, ``transfer`` and ``validate``: the programs in
:mod:`neurosim.studies`, imported when their command runs."""

from __future__ import annotations

import argparse
import json

from neurosim.cli.options import (
    BACKENDS,
    UserError,
    add_command,
    add_model_options,
    add_network_options,
    add_run_options,
    load_model,
    positive_int,
    write_json,
)


def _cmd_demo(args: argparse.Namespace) -> int:
    from neurosim.studies.demo import run_demo

    results = run_demo(args.out, backend=args.backend, seed=args.seed, quiet=args.quiet or
                       args.json)
    if args.json:
        print(json.dumps(results, default=float))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.what == "convert":
        return _bench_convert(args)
    if args.what != "cuba":
        raise UserError(f"unknown benchmark {args.what!r}; available: cuba, convert")
    return _bench_cuba(args)


def _bench_cuba(args: argparse.Namespace) -> int:
    import numba
    import numpy as np

    from neurosim.studies.peer_benchmarks import bench_cuba

    compare = None if args.compare == "none" else (args.compare or "brian2")
    if compare not in (None, "brian2"):
        raise UserError(f"bench cuba compares with brian2 (or none), not {compare!r}")
    dtype = np.dtype(getattr(args, "cuba_dtype", "float32"))
    threads = min(getattr(args, "cuba_threads", 1), numba.config.NUMBA_NUM_THREADS)
    old = numba.get_num_threads()
    numba.set_num_threads(threads)  # Brian2 gets the same count (openmp_threads)
    try:
        result = bench_cuba(args.neurons, args.duration, compare=compare, seed=args.seed,
                            backend=args.backend, threads=threads, dtype=dtype,
                            repeats=getattr(args, "cuba_repeats", 5))
    finally:
        numba.set_num_threads(old)
    write_json(args, "bench_cuba.json", result)
    if args.json:
        print(json.dumps(result))
        return 0
    line = (f"CUBA {result['neurons']:,} neurons, {result['synapses']:,} synapses, "
            f"{args.duration} s, {dtype.name}, {threads} thread(s), median of "
            f"{result['neurosim_timing']['repeats']}: neurosim {result['neurosim_s']:.3f} s "
            f"({result['neurosim_rate_hz']:.2f} Hz)")
    if compare:
        line += (f"; Brian2's CUBA example, {result['brian2_target']} "
                 f"{result['brian2_s']:.3f} s ({result['brian2_rate_hz']:.2f} Hz; rates "
                 f"{'agree' if result['rates_match'] else 'DIFFER'} within "
                 f"{result['rate_tolerance']:.0%}) -> Brian2 / neurosim "
                 f"{result['speedup']:.2f}x")
    print(line)
    return 0


def _bench_convert(args: argparse.Namespace) -> int:
    import torch

    from neurosim.datasets import load
    from neurosim.studies.convert_benchmarks import bench_convert, peer_available

    if args.model is None:
        raise UserError("bench convert needs --model")
    if args.compare == "brian2":
        raise UserError("bench convert compares with snntorch or spikingjelly, not brian2")
    compare = () if args.compare == "none" else (args.compare or "snntorch",)
    for peer in compare:
        if not peer_available(peer):
            raise UserError(f"{peer} is not installed; pip install -c constraints.txt "
                            "'neurosim[bench]' (or --compare none)")
    model, dataset = load_model(args)
    data = load(dataset, flat=False)
    x = torch.from_numpy(data.x_test[: args.batch])
    calib = torch.from_numpy(data.x_train[:1000])
    result = bench_convert(model, x, calib, timesteps=args.timesteps, compare=compare,
                           y=data.y_test[: args.batch])
    result["model"] = args.model
    write_json(args, "bench_convert.json", result)
    if args.json:
        print(json.dumps(result))
        return 0
    rates = result["images_per_s"]
    line = (f"{args.model}, T = {args.timesteps}, batch {len(x)}, {result['threads']} "
            f"thread(s): neurosim {rates['neurosim']:.1f} images/s, ANN {rates['ann']:.0f} "
            f"images/s")
    for peer in compare:
        name = {"snntorch": "snnTorch", "spikingjelly": "SpikingJelly"}[peer]
        check = result["checks"][peer]
        agree = check.get("prediction_agreement",
                          check.get("recipes", {}).get("example", {}).get(
                              "agreement_with_neurosim"))
        line += (f", {name} {rates[peer]:.1f} images/s -> speedup "
                 f"{result['speedup'][peer]:.1f}x (predictions agree on {agree:.1%})")
    print(line)
    return 0


def _cmd_transfer(args: argparse.Namespace) -> int:
    from neurosim.studies.transfer import run_transfer, to_markdown, write_report

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
    from neurosim.studies.brian2_crosscheck import validate_brian2

    if args.against != "brian2":
        raise UserError(f"unknown reference {args.against!r}; available: brian2")
    results = validate_brian2(quick=args.quick)
    ok = all(r["passed"] for r in results)
    write_json(args, "validate_brian2.json", {"passed": ok, "checks": results})
    if args.json:
        print(json.dumps({"passed": ok, "checks": results}))
    else:
        for r in results:
            detail = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in r.items()
                               if k not in ("name", "passed", "diagnosis", "cause",
                                            "first_difference"))
            print(f"{'PASS' if r['passed'] else 'FAIL'} {r['name']}: {detail}")
            first = r.get("first_difference")
            if first:
                print(f"  first differing spike: step {first['step']}, neuron "
                      f"{first['neuron']} (spikes only in {first['spiked_in']}; "
                      f"{first['same_spikes_before']} identical spikes before)")
            if r.get("cause"):
                print(f"  cause: {r['cause']}")
    return 0 if ok else 1


def add_demo(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "demo", "the main job on the embedded digits data",
                    "example:\n  neurosim demo --out out --seed 0",
                    _cmd_demo)
    add_run_options(p, "folder for figures and reports (default: out)", out_default="out")


def add_bench(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "bench", "benchmarks against peer simulators",
                    "examples:\n  neurosim bench cuba --neurons 4000 --duration 1 "
                    "--compare brian2 --json\n  neurosim bench convert --model "
                    "models/mnist_cnn.pt --timesteps 32 --batch 256 --compare "
                    "snntorch --json",
                    _cmd_bench)
    p.add_argument("what", help="benchmark: cuba or convert")
    add_network_options(p)
    p.add_argument("--compare", choices=["brian2", "snntorch", "spikingjelly", "none"],
                   default=None, help="peer (default: brian2 for cuba, snntorch for convert; "
                   "convert: the native snnTorch model or SpikingJelly's own conversion)")
    p.add_argument("--cuba-dtype", choices=["float32", "float64"], default="float32",
                   help="cuba: precision of both sides (default float32)")
    p.add_argument("--cuba-threads", type=positive_int, default=1,
                   help="cuba: threads of both sides (neurosim's Numba threads, Brian2's "
                        "openmp_threads; default 1)")
    p.add_argument("--cuba-repeats", type=positive_int, default=5,
                   help="cuba: timed runs per side after one warm-up; medians (default 5)")
    add_model_options(p, required=False)
    p.add_argument("--timesteps", type=positive_int, default=32)
    p.add_argument("--batch", type=positive_int, default=256)
    add_run_options(p, "folder for the JSON result")


def add_transfer(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "transfer", "transfer study: MNIST CNN -> digits, ANN and SNN",
                    "examples:\n  neurosim transfer --out out/transfer\n"
                    "  neurosim transfer --full --json",
                    _cmd_transfer)
    p.add_argument("--full", action="store_true",
                   help="1/5/10/50/all shots per class (default: quick mode, 1/10/all)")
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds to average over")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--out", default=None, help="folder for transfer.md/.json/.png")
    p.add_argument("--backend", choices=BACKENDS, default="cpu",
                   help="backend of the spiking simulations")


def add_validate(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "validate", "cross-checks against a reference simulator",
                    "example:\n  neurosim validate brian2 --json",
                    _cmd_validate)
    p.add_argument("against", help="reference: brian2")
    p.add_argument("--quick", action="store_true", help="smaller sizes")
    p.add_argument("--out", default=None, help="folder for the JSON result")
