"""Accuracy of converted networks, regenerable from a seed: conversion defaults chosen on a
validation split, then the test set used once.

The protocol, fixed before the validation grid was first run (``PROTOCOL`` below is written
into the JSON file):

1. **Calibration** (thresholds): the first 2,000 MNIST training images (the CLI's default
   ``--calibration``); for the 8x8 digits, the first 1,150 of the 1,437 training images (the
   last 287 are quick mode's validation images).
2. **Validation**: the last 5,000 MNIST training images (indices 55,000-59,999), never used to
   calibrate; ``--val-images`` of them (2,000 by default, drawn with ``--seed``). The shipped
   ANNs were trained on all 60,000 training images, so they have seen these images (their ANN
   accuracy on them is ~99.8%): what the validation measures is what conversion loses, which
   is what the options control.
3. **Grid**: ``normalization`` in 99, 99.9, 99.99, 99.999, "max" x ``granularity`` in
   channel, layer; IF neurons, reset by subtraction, constant input, membrane decoding (the
   other defaults); ``mnist_cnn`` and ``mnist_mlp``; T = 4, 8, 16, 32.
4. **Rule**: the option with the most correct validation predictions summed over both models
   and T = 4, 8, 16, 32 (= the best mean validation accuracy; a library default serves both
   models); ties go to the simpler option: layer-wise before channel-wise, then "max", 99.999,
   99.99, 99.9, 99 (closest to the maximum first).
5. **Test**: with the chosen options, once: ANN test accuracy, SNN accuracy at T = 4, 8, 16, 32,
   64 from one simulation of 64 steps, ANN/SNN prediction agreement, all with 95% Wilson score
   intervals; SynOps/image at T = 64 and the ANN's MACs; MNIST on all 10,000 test images, the
   digits on their 360. Nothing measured on the test set feeds back into any choice.

Checks stored in the JSON: the converted network's ANN graph predicts what the PyTorch model
predicts (the trace and BatchNorm folding change nothing), calibration and validation images
are disjoint, the chosen options equal ``ConversionOptions``'s defaults.

Writes ``benchmarks/results/accuracy.json``.
Run: ``.venv/bin/python benchmarks/bench_accuracy.py`` (estimated 5-8 minutes on an idle 2-core
machine, about 520 s of CPU time measured on a loaded one: the grid is 20 conversions and
2,000-image simulations of 32 steps, about 300 s; the report one 10,000-image simulation of 64
steps per MNIST model, about 210 s, most of it the CNN). ``--quick``: the digits models only
(validation carved from the digits training set, two candidate options), to check the script
works; ``--selection-only``: the validation grid and the choice, without reading a test image.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

Z95 = 1.959963984540054  # two-sided 95% normal quantile
GRID_NORMALIZATION: tuple[Any, ...] = ("max", 99.999, 99.99, 99.9, 99.0)  # simplest first
GRID_GRANULARITY = ("layer", "channel")  # simplest first
VAL_STEPS = (4, 8, 16, 32)
TEST_STEPS = (4, 8, 16, 32, 64)
MNIST_CALIBRATION = 2000
MNIST_HELD_OUT = 5000  # the last training images, validation only
PROTOCOL = __doc__.split("The protocol")[1].split("Checks stored")[0].strip()


# -- statistics ------------------------------------------------------------------------------
def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (no continuity correction)."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(successes: int, n: int) -> dict[str, Any]:
    low, high = wilson(int(successes), int(n))
    return {"value": successes / n, "successes": int(successes), "n": int(n),
            "ci95": [low, high]}


# -- the selection rule ----------------------------------------------------------------------
def grid(normalizations=GRID_NORMALIZATION, granularities=GRID_GRANULARITY) -> list[dict]:
    """The candidate options, simplest first (the order that breaks ties)."""
    return [{"normalization": n, "granularity": g} for g in granularities
            for n in normalizations]


def option_key(options: dict) -> str:
    return f"{options['normalization']}/{options['granularity']}"


def choose(rows: list[dict]) -> dict:
    """The rule: most correct validation predictions (summed over models and T); among equal
    scores the first row (``rows`` come simplest first)."""
    best = max(rows, key=lambda r: r["correct"])
    return next(r for r in rows if r["correct"] == best["correct"])


def _load(dataset: str, model_name: str):
    from neurosim import datasets

    return datasets.load(dataset, flat=model_name.endswith("mlp"))


def splits(dataset: str, n_train: int) -> dict[str, np.ndarray]:
    """Index ranges into the training set: calibration and held-out validation (disjoint)."""
    if dataset == "mnist":
        return {"calibration": np.arange(MNIST_CALIBRATION),
                "held_out": np.arange(n_train - MNIST_HELD_OUT, n_train)}
    # digits (quick mode's stand-in): the last 20% of the training split held out
    held = max(1, n_train // 5)
    return {"calibration": np.arange(n_train - held), "held_out": np.arange(n_train - held,
                                                                            n_train)}


def select_defaults(model_names: list[str], *, val_images: int, seed: int,
                    candidates: list[dict], steps=VAL_STEPS,
                    load: Callable = _load) -> dict[str, Any]:
    """Evaluate every candidate on validation images carved from the TRAINING data only and
    apply the rule. ``load(dataset, model_name)`` gives a ``Split``; its test arrays are never
    read here (a test hands in a split whose test arrays raise on any use)."""
    import torch

    from neurosim import zoo
    from neurosim.convert import convert

    rng = np.random.default_rng(seed)
    per_model = {}
    for name in model_names:
        dataset = zoo.DATASET[name]
        data = load(dataset, name)
        x_train, y_train = data.x_train, data.y_train
        idx = splits(dataset, len(x_train), )
        held = idx["held_out"]
        val = np.sort(rng.choice(held, min(val_images, len(held)), replace=False))
        assert not set(val.tolist()) & set(idx["calibration"].tolist())
        model = zoo.load_pretrained(name)
        calib = torch.from_numpy(x_train[idx["calibration"]])
        rows = {}
        for options in candidates:
            t0 = time.perf_counter()
            snn = convert(model, calib, **options)
            r = snn.evaluate(x_train[val], y_train[val], steps)
            n = r["samples"]
            rows[option_key(options)] = {
                "accuracy": {str(t): r["snn_accuracy"][t] for t in steps},
                "correct": {str(t): int(round(r["snn_accuracy"][t] * n)) for t in steps},
                "agreement": {str(t): r["agreement"][t] for t in steps},
                "ann_accuracy": r["ann_accuracy"], "samples": n,
                "seconds": round(time.perf_counter() - t0, 2)}
            print(f"  validation {name} {option_key(options)}: "
                  + " ".join(f"T={t} {r['snn_accuracy'][t]:.4f}" for t in steps), flush=True)
        per_model[name] = {"dataset": dataset, "calibration_indices": [int(idx["calibration"][0]),
                                                                       int(idx["calibration"][-1])],
                           "validation_indices_from": [int(held[0]), int(held[-1])],
                           "validation_samples": len(val), "options": rows}
    table = []
    for options in candidates:
        key = option_key(options)
        correct = sum(sum(per_model[m]["options"][key]["correct"].values()) for m in per_model)
        total = sum(per_model[m]["options"][key]["samples"] * len(steps) for m in per_model)
        table.append({"options": options, "key": key, "correct": correct, "total": total,
                      "mean_accuracy": correct / total,
                      "per_model": {m: float(np.mean(list(
                          per_model[m]["options"][key]["accuracy"].values())))
                          for m in per_model}})
    chosen = choose(table)
    others = [r["correct"] for r in table if r is not chosen]
    return {"steps": list(steps), "models": per_model, "table": table,
            "chosen": chosen["options"],
            "margin": {"correct": chosen["correct"] - max(others, default=chosen["correct"]),
                       "of": chosen["total"]}, "rule": "most correct validation predictions summed "
            "over models and T; ties to the simpler option (layer before channel, then max, "
            "99.999, 99.99, 99.9, 99)"}


# -- the report on the test set --------------------------------------------------------------
def report(name: str, options: dict, *, steps=TEST_STEPS, test_images: int | None = None,
           load: Callable = _load) -> dict[str, Any]:
    """The chosen options on the test set, once."""
    import torch

    from neurosim import zoo
    from neurosim.convert import convert

    dataset = zoo.DATASET[name]
    data = load(dataset, name)
    idx = splits(dataset, len(data.x_train), )
    x_test, y_test = data.x_test, data.y_test
    if test_images is not None:
        x_test, y_test = x_test[:test_images], y_test[:test_images]
    model = zoo.load_pretrained(name)
    t0 = time.perf_counter()
    snn = convert(model, torch.from_numpy(data.x_train[idx["calibration"]]), **options)
    with torch.no_grad():
        x = torch.from_numpy(x_test)
        torch_pred = torch.cat([model(x[i:i + 1000]).argmax(1)
                                for i in range(0, len(x), 1000)]).numpy()
        graph_pred = snn.ann_logits(x).argmax(1).numpy()
    r = snn.evaluate(x_test, y_test, steps)
    n = r["samples"]
    ann_correct = int(np.sum(torch_pred == y_test))
    return {
        "dataset": dataset, "samples": n, "options": options,
        "calibration_samples": len(idx["calibration"]),
        "ann": proportion(int(round(r["ann_accuracy"] * n)), n),
        "ann_torch_accuracy": ann_correct / n,
        "check_graph_equals_torch": {"differing_predictions": int(np.sum(torch_pred
                                                                         != graph_pred)),
                                     "ok": bool(np.array_equal(torch_pred, graph_pred))},
        "snn": {str(t): proportion(int(round(r["snn_accuracy"][t] * n)), n) for t in steps},
        "agreement": {str(t): proportion(int(round(r["agreement"][t] * n)), n) for t in steps},
        "synops_per_image": r["synops_per_sample"],
        "input_macs_per_image": r["snn_macs_per_sample"],
        "ann_macs": r["ann_macs_per_sample"], "synops_at_T": max(steps),
        "firing_rates": r["firing_rates"], "energy": r["energy"],
        "seconds": round(time.perf_counter() - t0, 2)}


def run(*, quick: bool, seed: int, val_images: int, thread_count: int,
        selection_only: bool = False) -> dict[str, Any]:
    from neurosim.convert import ConversionOptions

    start = time.perf_counter()
    if quick:  # the pipeline on the digits: validation carved from the digits training set
        select_models = ["digits_mlp"]
        report_models = ["digits_mlp", "digits_cnn"]
        candidates = grid(("max", 99.99), ("layer",))
        val_steps, test_steps = (4, 8), (4, 8, 16)
    else:
        select_models = ["mnist_cnn", "mnist_mlp"]
        report_models = ["mnist_cnn", "mnist_mlp", "digits_cnn", "digits_mlp"]
        candidates = grid()
        val_steps, test_steps = VAL_STEPS, TEST_STEPS
    with common.threads(thread_count):
        print("validation grid (training data only)", flush=True)
        selection = select_defaults(select_models, val_images=val_images, seed=seed,
                                    candidates=candidates, steps=val_steps)
        chosen = selection["chosen"]
        print(f"chosen on validation: {chosen}", flush=True)
        selection_seconds = time.perf_counter() - start
        reports = {}
        # the test set, once, with the chosen options
        for name in [] if selection_only else report_models:
            reports[name] = report(name, chosen, steps=test_steps)
            row = reports[name]
            print(f"  test {name}: ANN {row['ann']['value']:.4f} "
                  + " ".join(f"T={t} {v['value']:.4f}" for t, v in row["snn"].items()),
                  flush=True)
    defaults = {f.name: f.default for f in fields(ConversionOptions)}
    current = {k: defaults[k] for k in chosen}
    checks = {
        "graph_equals_torch": all(r["check_graph_equals_torch"]["ok"]
                                  for r in reports.values()) if reports else None,
        "calibration_validation_disjoint": True,  # asserted in select_defaults
        "test_set_used_in_selection": False,
        "chosen_equals_library_defaults": current == chosen,
        "library_defaults": current,
    }
    return {"benchmark": "accuracy", "quick": quick, "seed": seed, "protocol": PROTOCOL,
            "selection": selection, "chosen_options": chosen, "test": reports,
            "checks": checks, "seconds": {"selection": round(selection_seconds, 1),
                                          "total": round(time.perf_counter() - start, 1)}}


# -- tables ----------------------------------------------------------------------------------
def _pct(p: dict, digits: int = 2) -> str:
    return f"{p['value'] * 100:.{digits}f}%"


def _ci(p: dict, digits: int = 2) -> str:
    low, high = p["ci95"]
    return f"{p['value'] * 100:.{digits}f} ({low * 100:.{digits}f}-{high * 100:.{digits}f})"


def render(result: dict) -> str:
    """The README's accuracy tables: shipped models, conversion at T = 4..64, agreement, and
    the validation grid that chose the defaults."""
    tests = result["test"]
    lines = _test_tables(result) if tests else ["(selection only: no test images read)"]
    lines += _selection_table(result)
    return "\n".join(lines) + "\n"


def _test_tables(result: dict) -> list[str]:
    tests = result["test"]
    chosen = result["chosen_options"]
    steps = list(next(iter(tests.values()))["snn"])
    lines = [f"Test accuracy in % with 95% Wilson intervals; conversion options chosen on "
             f"validation images (normalisation {chosen['normalization']}, "
             f"{chosen['granularity']}-wise; IF neurons, reset by subtraction, constant input, "
             f"membrane decoding), seed {result['seed']}"
             + (" (**quick run, not for the README**)" if result.get("quick") else "") + ":",
             "",
             "| model | test images | ANN % | " + " | ".join(f"SNN T={t} %" for t in steps)
             + f" | SynOps/image (T={steps[-1]}) | ANN MACs |",
             "|---|---:|---:|" + "---:|" * len(steps) + "---:|---:|"]
    for name, r in tests.items():
        lines.append(f"| `{name}` | {r['samples']:,} | {_ci(r['ann'])} | "
                     + " | ".join(_ci(r["snn"][t]) for t in steps)
                     + f" | {r['synops_per_image']:.3g} (+{r['input_macs_per_image']:.3g} "
                     f"input MACs) | {r['ann_macs']:.3g} |")
    lines += ["", "ANN/SNN prediction agreement in % (95% Wilson intervals):", "",
              "| model | " + " | ".join(f"T={t}" for t in steps) + " |",
              "|---|" + "---:|" * len(steps)]
    for name, r in tests.items():
        lines.append(f"| `{name}` | " + " | ".join(_ci(r["agreement"][t]) for t in steps) + " |")
    return lines


def _selection_table(result: dict) -> list[str]:
    chosen = result["chosen_options"]
    sel = result["selection"]
    models = list(sel["models"])
    ann = {m: next(iter(sel["models"][m]["options"].values()))["ann_accuracy"] for m in models}
    sizes = ", ".join(f"{sel['models'][m]['validation_samples']:,} ({m}, ANN "
                      f"{ann[m] * 100:.2f}%)" for m in models)
    lines = ["", f"Validation accuracy in %, mean over T = "
              f"{', '.join(str(t) for t in sel['steps'])} (validation images held out from "
              f"calibration, from the training set: {sizes}); rule: {sel['rule']}:", "",
              "| normalisation | granularity | " + " | ".join(f"`{m}`" for m in models)
              + " | mean | |", "|---|---|" + "---:|" * len(models) + "---:|---|"]
    for row in sel["table"]:
        mark = "**chosen**" if row["options"] == chosen else ""
        lines.append(f"| {row['options']['normalization']} | {row['options']['granularity']} | "
                     + " | ".join(f"{row['per_model'][m] * 100:.2f}" for m in models)
                     + f" | {row['mean_accuracy'] * 100:.3f} | {mark} |")
    margin = sel["margin"]
    lines += ["", f"The chosen option leads the next by {margin['correct']} correct prediction(s) "
              f"of {margin['of']:,} (validation images and T together)."]
    checks = result["checks"]
    graph = {True: "yes", False: "NO", None: "not run"}[checks["graph_equals_torch"]]
    lines += ["", f"Checks: converted ANN graph predicts as the PyTorch model: "
              f"{graph}; test set used in the "
              f"selection: {'YES' if checks['test_set_used_in_selection'] else 'no'}; chosen "
              f"options are the library defaults: "
              f"{'yes' if checks['chosen_equals_library_defaults'] else 'NO'}."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_options(parser, default_out="accuracy.json", dtypes=("float32",),
                       default_dtype="float32", default_threads="all")
    parser.add_argument("--seed", type=int, default=0,
                        help="draws the validation images (default 0)")
    parser.add_argument("--val-images", type=int, default=2000,
                        help="validation images per model for the grid (default 2000)")
    parser.add_argument("--selection-only", action="store_true",
                        help="the validation grid and the choice only; no test image is read")
    args = parser.parse_args(argv)
    common.parse_dtypes(args.dtype, ("float32",))
    counts = common.thread_counts(args.threads)
    result = run(quick=args.quick, seed=args.seed,
                 val_images=min(args.val_images, 200) if args.quick else args.val_images,
                 thread_count=max(counts), selection_only=args.selection_only)
    common.write_result(args.out, result, dtype="float32", threads=max(counts), seed=args.seed,
                        quick=args.quick, val_images=args.val_images,
                        selection_only=args.selection_only,
                        note="accuracy does not depend on the thread count; --repeats unused")
    if result["test"]:
        print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
