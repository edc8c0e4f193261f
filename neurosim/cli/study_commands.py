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
    nonnegative_float,
    positive_float,
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
    seeds = tuple(range(args.seed, args.seed + args.seeds)) if args.seeds else None
    progress = not (args.quiet or args.json)
    if args.task == "text":
        from neurosim.studies.transfer_text import (
            run_text_transfer,
            text_markdown,
            write_text_report,
        )

        study = run_text_transfer(quick=not args.full, seeds=seeds, progress=progress,
                                  backend=args.backend, data_dir=args.data)
        study["config"]["command"] = _command_line(args)
        if args.out:
            write_text_report(study, args.out)
        print(json.dumps(study["table"]) if args.json else text_markdown(study))
        return 0
    from neurosim.studies.transfer import run_transfer, to_markdown, write_report

    study = run_transfer(task=args.task, quick=not args.full, seeds=seeds,
                         backend=args.backend, progress=progress, stdp_layer=args.stdp_layer,
                         data_dir=args.data)
    study["config"]["command"] = _command_line(args)
    if args.out:
        write_report(study, args.out)
    if args.json:
        print(json.dumps(study["table"]))
    else:
        print(to_markdown(study))
        print(f"({len(study['rows'])} runs in {study['seconds']:.0f} s)")
    return 0


def _command_line(args: argparse.Namespace) -> str:
    """The command that makes a study's results again, for its JSON."""
    parts = ["neurosim transfer", f"--task {args.task}"] + (["--full"] if args.full else [])
    if args.seeds:
        parts.append(f"--seeds {args.seeds} --seed {args.seed}")
    if args.out:
        parts.append(f"--out {args.out}")
    return " ".join(parts)


def _cmd_validate(args: argparse.Namespace) -> int:
    from neurosim.studies.brian2_crosscheck import validate_brian2

    if args.against == "gallery":
        return _validate_gallery(args)
    if args.against == "stdp":
        return _validate_stdp(args)
    if args.against != "brian2":
        raise UserError(f"unknown reference {args.against!r}; available: brian2, gallery, "
                        "stdp")
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


def _validate_gallery(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from neurosim.studies import gallery_report
    from neurosim.studies import gallery_validation as gv

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in models if m not in gv.MODELS]
    if bad or not models:
        raise UserError(f"--models: choose from {', '.join(gv.MODELS)}, got {args.models!r}")
    args.duration = 0.5 if args.duration is None else args.duration
    if args.transient >= args.duration:
        raise UserError(f"--transient ({args.transient}) must be shorter than --duration "
                        f"({args.duration})")
    quiet = args.quiet or args.json
    result = gv.validate_gallery(
        models, regimes=args.regimes, scale=args.scale, n=args.neurons,
        duration_s=args.duration, transient_s=args.transient,
        seeds=tuple(range(args.seed, args.seed + args.seeds)), target=args.target,
        dtype=args.dtype, coba_network=args.coba_network, keep_spikes=bool(args.out),
        log=None if quiet else lambda line: print(line, file=sys.stderr, flush=True))
    plain = gv.without_spikes(result)
    write_json(args, "validate_gallery.json", plain)
    if args.out:
        figure = Path(args.out) / "validate_gallery.png"
        gallery_report.raster_figure(result).savefig(figure, dpi=110)
        if not quiet:
            print(f"written {figure}", file=sys.stderr)
    if args.json:
        print(json.dumps(plain))
    else:
        print(gallery_report.to_markdown(plain))
        print("PASS" if plain["passed"] else "FAIL")
    return 0 if plain["passed"] else 1


def _validate_stdp(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from neurosim.studies import stdp_validation as sv

    quiet = args.quiet or args.json
    result = sv.validate_stdp(
        duration_s=100.0 if args.duration is None else args.duration,
        seeds=tuple(range(args.seed, args.seed + args.seeds)), target=args.target, dtype=args.dtype,
        log=None if quiet else lambda line: print(line, file=sys.stderr, flush=True))
    write_json(args, "validate_stdp.json", result)
    if args.out:
        sv.figure(result).savefig(Path(args.out) / "validate_stdp.png", dpi=110)
    print(json.dumps(result) if args.json else sv.to_markdown(result))
    return 0 if result["passed"] else 1


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
    p = add_command(sub, "transfer", "transfer study: pretrained ANN -> new task, ANN and SNN",
                    "examples:\n  neurosim transfer --out out/transfer\n"
                    "  neurosim transfer --task mnist-fashion --out out/fashion\n"
                    "  neurosim transfer --task text --full --out out/text\n"
                    "  neurosim transfer --full --json",
                    _cmd_transfer)
    p.add_argument("--task", choices=("digits", "mnist-fashion", "text"), default="digits",
                   help="digits: MNIST CNN -> 8x8 digits; mnist-fashion: MNIST CNN -> "
                        "Fashion-MNIST; text: sentiment of movie-review snippets")
    p.add_argument("--full", action="store_true",
                   help="the publishable settings (more shots, seeds and test images); the "
                        "default quick mode runs in minutes")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="folder with the task's data files (Fashion-MNIST IDX files; "
                        "default: found or fetched, see neurosim.datasets_images)")
    p.add_argument("--seeds", type=positive_int, default=None,
                   help="seeds to average over (default: the mode's)")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--out", default=None, help="folder for transfer.md/.json/.png")
    p.add_argument("--stdp-layer", default=None, metavar="NPZ",
                   help="the STDP layer of the stdp strategy (diehl_cook_weights.npz from "
                        "`neurosim learn diehl-cook`; default models/diehl_cook_400.npz, "
                        "else models/diehl_cook_100.npz)")
    p.add_argument("--backend", choices=BACKENDS, default="cpu",
                   help="backend of the spiking simulations")


def add_validate(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "validate", "cross-checks against a reference simulator",
                    "examples:\n  neurosim validate brian2 --json\n"
                    "  neurosim validate gallery --scale 0.2 --duration 0.5 --seeds 2 "
                    "--out out/gallery",
                    _cmd_validate)
    p.add_argument("against", help="brian2 (neuron and CUBA cross-checks), gallery (the "
                   "gallery's models against Brian2's, statistics over seeds) or stdp (Song, "
                   "Miller & Abbott 2000 against Brian2's STDP example: final weights)")
    p.add_argument("--quick", action="store_true", help="brian2: smaller sizes")
    p.add_argument("--out", default=None, help="folder for the JSON result (gallery: and "
                   "validate_gallery.png, rasters and population rates side by side)")
    g = p.add_argument_group("gallery")
    g.add_argument("--models", default="brunel2000,coba,cuba",
                   help="comma-separated, from brunel2000, coba, cuba (default all)")
    g.add_argument("--regimes", default="ABCD", help="Brunel's regimes (default ABCD)")
    g.add_argument("--scale", type=positive_float, default=0.2,
                   help="Brunel's network: N_E = 10,000 x scale (default 0.2)")
    g.add_argument("--neurons", type=positive_int, default=4000,
                   help="COBA and CUBA network size (default 4000)")
    g.add_argument("--duration", type=positive_float, default=None,
                   help="seconds per run (default 0.5; stdp: 100)")
    g.add_argument("--transient", type=nonnegative_float, default=0.1,
                   help="seconds left out of the statistics (default 0.1)")
    g.add_argument("--seeds", type=positive_int, default=2,
                   help="runs per side, seeds --seed .. --seed + K - 1 (default 2)")
    g.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    g.add_argument("--coba-network", choices=["independent", "shared"], default="independent",
                   help="COBA: Brian2 draws its own network, or runs on neurosim's "
                        "(default independent)")
    g.add_argument("--target", choices=["numpy", "cpp_standalone"], default="numpy",
                   help="Brian2's code generation target (default numpy)")
    g.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                   help="precision of both sides (default float64)")
