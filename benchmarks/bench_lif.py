"""LIF neuron-update throughput: neurosim's public ``lif_run`` vs a vectorised NumPy loop vs
snnTorch's ``snn.Leaky``, with spike counts checked equal in the run.

What runs (every side gets the same input array, the same dtype and the same threads):

- ``if`` (the exact comparison, at every size): neurosim's non-leaky neuron
  (``IFParams(tau_m_s=dt, r_m=1)``: input gain exactly 1, reset to 0, no refractory period),
  whose step is ``v <- v + I; spike = v > 1; v <- 0 after a spike``. snnTorch's
  ``snn.Leaky(beta=1.0, threshold=1.0, reset_mechanism="zero", init_hidden=True)`` in an
  ``nn.Sequential`` computes ``mem <- (1 - reset) * mem; mem <- beta * mem + I; spike =
  mem - 1 > 0`` with ``reset`` the previous step's spike: the same floating-point operations
  (``0 * mem = 0`` and ``1 * mem = mem`` exactly), so the spikes must be identical, neuron by
  neuron, in float32 and in float64. The NumPy loop computes the same thing in place.
  (snnTorch's arithmetic ``beta * mem + x`` and neurosim's leaky step
  ``v_inf + (v - v_inf) * decay`` are the same equation but not the same rounding, hence the IF
  neuron for the exact check.)
- ``lif`` (at ``--extra-size`` neurons): the leaky neuron (``tau_m = 20 ms``, ``dt = 1 ms``).
  NumPy computes neurosim's formula and must agree exactly; snnTorch gets ``beta = exp(-dt/tau)``
  and the input ``(1 - beta) * I`` (the same equation, rounded differently), so its spike
  count is compared within a tolerance (``LIF_TOLERANCE``) and the neurons whose counts differ
  are reported.
- ``lif_ref`` (at ``--extra-size``): the leaky neuron with a 3 ms refractory period (2 steps
  skipped), neurosim vs its NumPy twin only (snnTorch's ``Leaky`` has no refractory period).

Input: ``(T, N)`` currents do not fit in memory at 1e7 neurons, so each size draws a block of
``K`` steps (``K * N <= --block-elements``, but ``K >= 10``; ``K`` divides ``T``: 1000 steps
at 1e4 neurons, 250 at 1e5, 25 at 1e6, 10 at 1e7) that every side cycles through
(step ``t`` uses ``block[t % K]``). neurosim is called once per block with the state of the
previous call (``lif_run(block, params, dt, state)``), the way a long simulation is run through
the public API; the NumPy and snnTorch loops go step by step over the same block. The block is
each neuron's mean drive plus noise whose mean over the block is zero, so a neuron's long-run
rate does not depend on ``K``. Each side records every block's spike raster (neurosim's output,
a boolean array in NumPy, ``torch.stack`` of snnTorch's spikes) and counts its spikes.

Timing follows ``benchmarks/README.md``: one untimed warm-up call per side (it compiles, and it
also accumulates the per-neuron spike counts that the check compares), then ``--repeats`` timed
calls, median and spread, the sides' calls interleaved (``common.measure_interleaved``); 1
thread vs 1 thread and all cores vs all cores. Neuron updates per
second = ``N * T / median time``.

Run (full: 1e4, 1e5, 1e6 neurons, leaky rows at 2e4; about 8 minutes on an idle 2-core
machine)::

    .venv/bin/python benchmarks/bench_lif.py

snnTorch runs up to ``--snntorch-max`` (default 1e6) neurons: it takes 3-7 ns per neuron
update there (the whole run, all sides, about 8 minutes on an idle 2-core machine); at 1e7 it
takes 140 s per call (``--snntorch-max 1e7``: a float32 row at all cores takes about 14
minutes). ``--sizes 1e4,1e5,1e6,1e7`` adds
1e7 neurons for neurosim and NumPy (~25 minutes more at both dtypes and thread counts;
``--sizes 1e7 --dtype float32 --threads all --extra-size 0`` is ~6 minutes).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DT_S = 1e-3
STEPS = 1000
SEED = 2024
#: snnTorch vs neurosim on the leaky neuron: same equation, different rounding; total spike
#: counts must agree to this relative tolerance.
LIF_TOLERANCE = 1e-3
MODELS = ("if", "lif", "lif_ref")
MODEL_TEXT = {
    "if": "IF, reset to 0 (same arithmetic on all sides)",
    "lif": "LIF tau_m = 20 ms, reset to 0",
    "lif_ref": "LIF tau_m = 20 ms, t_ref = 3 ms",
}


# ----------------------------------------------------------------------------------------------
# The neurons and their inputs
# ----------------------------------------------------------------------------------------------


def model_params(model: str):
    """neurosim's parameters of each model (all: ``v_rest = v_reset = 0``, ``v_th = 1``)."""
    from neurosim.neurons.lif import IFParams, LIFParams

    if model == "if":  # gain r_m * dt / tau_m = 1 exactly: the step is v + I
        return IFParams(tau_m_s=DT_S, r_m=1.0, v_th=1.0, v_reset=0.0, reset="value")
    if model == "lif":
        return LIFParams(tau_m_s=0.020, v_rest=0.0, v_reset=0.0, v_th=1.0, r_m=1.0)
    if model == "lif_ref":
        return LIFParams(tau_m_s=0.020, v_rest=0.0, v_reset=0.0, v_th=1.0, r_m=1.0,
                         t_ref_s=0.003)
    raise ValueError(f"unknown model {model!r}")


def block_steps(neurons: int, steps: int, block_elements: float, min_steps: int = 10) -> int:
    """The largest divisor ``K`` of ``steps`` with ``K * neurons <= block_elements``, but at
    least the smallest divisor >= ``min_steps`` (so that neurosim's per-call work on the state
    is spread over several steps and the noise does not cancel over 2 steps at 1e7 neurons)."""
    divisors = [k for k in range(1, steps + 1) if steps % k == 0]
    floor = next((k for k in divisors if k >= min_steps), steps)
    fits = [k for k in divisors if k * neurons <= block_elements]
    return max(fits[-1] if fits else 1, floor)


def make_block(model: str, neurons: int, k: int, dtype: Any) -> np.ndarray:
    """``(k, neurons)`` input currents: a per-neuron mean drive plus noise with zero mean over
    the block (drawn in float64, then rounded to ``dtype``; the same numbers for every side).

    IF: mean drive ~ N(0, 0.05) per step (half the neurons drift up and fire at ~mean rate,
    the others drift down); LIF: v_inf = I with mean ~ N(0.95, 0.1) around the threshold 1."""
    rng = np.random.default_rng([SEED, neurons, k, MODELS.index(model)])
    if model == "if":
        mean, spread, noise = 0.0, 0.05, 0.2
    else:
        mean, spread, noise = 0.95, 0.1, 0.5
    mu = rng.normal(mean, spread, neurons)
    z = rng.normal(0.0, noise, (k, neurons))
    if k > 1:
        z -= z.mean(axis=0)
    z += mu
    return np.ascontiguousarray(z.astype(dtype, copy=False))


# ----------------------------------------------------------------------------------------------
# The three sides. Each: run(counts=None) -> total spikes over ``steps`` steps; with ``counts``
# (int64, (N,)) also adds each neuron's spikes to it (the untimed warm-up call does).
# ----------------------------------------------------------------------------------------------


def neurosim_side(model: str, block: np.ndarray, steps: int) -> Callable[..., int]:
    from neurosim.neurons.lif import LIFState, lif_run

    params = model_params(model)
    k, n = block.shape
    dtype = block.dtype

    def run(counts: np.ndarray | None = None) -> int:
        state = LIFState.initial(n, params, dtype)
        total = 0
        for _ in range(steps // k):
            out = lif_run(block, params, DT_S, state)
            state = out.state
            total += np.count_nonzero(out.spikes)
            if counts is not None:
                counts += out.spikes.sum(axis=0)
        return total

    return run


def kernel_side(model: str, block: np.ndarray, steps: int) -> Callable[..., int]:
    """Diagnostic (``--with-kernel``): neurosim's CPU kernel called directly on preallocated
    arrays, without ``lif_run``'s input validation, state copies and output allocation; it
    shows what the public path adds. Not what users call."""
    from neurosim.kernels import cpu

    params = model_params(model)
    k, n = block.shape
    dtype = block.dtype
    const = params.constants(DT_S, dtype)
    spikes = np.empty((k, n), np.uint8)
    trace = np.empty((0, n), dtype)

    def run(counts: np.ndarray | None = None) -> int:
        v = np.full(n, const.v_rest, dtype)
        refrac = np.zeros(n, np.int32)
        total = 0
        for _ in range(steps // k):
            cpu.lif_run(v, refrac, block, const, spikes, trace, False)
            total += np.count_nonzero(spikes)
            if counts is not None:
                counts += spikes.sum(axis=0, dtype=np.int64)
        return total

    return run


def numpy_side(model: str, block: np.ndarray, steps: int) -> Callable[..., int]:
    """A vectorised NumPy loop over steps (in place, no temporaries in the ``if`` step),
    the same arithmetic as neurosim's kernel for these parameters."""
    params = model_params(model)
    k, n = block.shape
    dtype = block.dtype
    const = params.constants(DT_S, dtype)
    # the loops below are written for these values (they skip the exact no-ops 0 + x, 1 * x)
    assert const.v_rest == 0 and const.v_reset == 0 and const.r_m == 1 and const.v_th == 1
    th, decay, ref_steps = const.v_th, const.decay, int(const.ref_steps)
    assert model != "if" or const.gain == 1
    zero = dtype.type(0)

    def run(counts: np.ndarray | None = None) -> int:
        v = np.zeros(n, dtype)
        raster = np.empty((k, n), bool)
        total = 0
        if model == "lif_ref":
            refrac = np.zeros(n, np.int32)
            active = np.empty(n, bool)
            driven = np.empty(n, dtype)
        for _ in range(steps // k):
            for t in range(k):
                current, fired = block[t], raster[t]
                if model == "if":  # v + 1 * I
                    v += current
                    np.greater(v, th, out=fired)
                elif model == "lif":  # I + (v - I) * decay
                    v -= current
                    v *= decay
                    v += current
                    np.greater(v, th, out=fired)
                else:  # refractory neurons keep v and count down; the others integrate
                    np.less_equal(refrac, 0, out=active)
                    np.subtract(v, current, out=driven)
                    driven *= decay
                    driven += current
                    np.copyto(v, driven, where=active)
                    np.subtract(refrac, 1, out=refrac, where=~active)
                    np.greater(v, th, out=fired)
                    fired &= active
                    np.copyto(refrac, ref_steps, where=fired)
                np.copyto(v, zero, where=fired)
            total += np.count_nonzero(raster)
            if counts is not None:
                counts += raster.sum(axis=0)
        return total

    return run


def snntorch_side(model: str, block: np.ndarray, steps: int) -> tuple[Callable[..., int], Any]:
    """snnTorch as its tutorials use it: ``nn.Sequential(snn.Leaky(..., init_hidden=True))``,
    called once per step under ``torch.no_grad()``, spikes collected and ``torch.stack``-ed.
    Returns the run function and the ``Leaky`` (to release it afterwards)."""
    import snntorch as snn
    import torch
    from torch import nn

    params = model_params(model)
    k, n = block.shape
    torch_dtype = torch.float32 if block.dtype == np.float32 else torch.float64
    currents = torch.from_numpy(block)  # the same memory as the other sides' input
    if model == "if":
        beta = 1.0
    elif model == "lif":
        beta = math.exp(-DT_S / params.tau_m_s)
        currents = currents * (1.0 - beta)  # mem <- beta * mem + (1 - beta) * I (v_inf = I)
    else:
        raise ValueError("snnTorch's Leaky has no refractory period")
    # beta as a tensor of the dtype: a Python float would become a float32 buffer, and
    # .to(float64) would then keep its float32 rounding
    leaky = snn.Leaky(beta=torch.tensor(beta, dtype=torch_dtype), threshold=1.0,
                      reset_mechanism="zero", init_hidden=True)
    net = nn.Sequential(leaky).to(torch_dtype)  # the threshold buffer in the dtype too

    def run(counts: np.ndarray | None = None) -> int:
        leaky.reset_mem()
        total = 0
        with torch.no_grad():
            for _ in range(steps // k):
                spk_rec = [net(currents[t]) for t in range(k)]
                raster = torch.stack(spk_rec)
                total += int(torch.count_nonzero(raster))
                if counts is not None:
                    counts += raster.sum(dim=0).numpy().astype(np.int64)
        return total

    return run, leaky


def release_snntorch(leaky: Any) -> None:
    """snnTorch keeps every neuron layer in a class-level list (for ``init_hidden``); drop
    ours so its state (N floats) is freed between sizes."""
    import snntorch as snn

    instances = snn.SpikingNeuron.instances
    for i in range(len(instances) - 1, -1, -1):
        if instances[i] is leaky:
            del instances[i]


# ----------------------------------------------------------------------------------------------
# One comparison
# ----------------------------------------------------------------------------------------------


def compare(model: str, neurons: int, steps: int, k: int, dtype: str, thread_counts: list[int],
            repeats: int, with_snntorch: bool,
            with_kernel: bool = False) -> list[dict[str, Any]]:
    """Every side at every thread count, for one model, size and dtype: one row per thread
    count with the timings, the spike totals and per-neuron checks."""
    block = make_block(model, neurons, k, np.dtype(dtype))
    sides: dict[str, Callable[..., int]] = {
        "neurosim": neurosim_side(model, block, steps),
        "numpy": numpy_side(model, block, steps),
    }
    if with_kernel:
        sides["kernel"] = kernel_side(model, block, steps)
    leaky = None
    if with_snntorch and model != "lif_ref":
        sides["snntorch"], leaky = snntorch_side(model, block, steps)
    rows = []
    try:
        for n_threads in thread_counts:
            with common.threads(n_threads) as used:
                timings, totals, counts, warm, lasts = {}, {}, {}, {}, {}
                for name, run in sides.items():
                    counts[name] = np.zeros(neurons, np.int64)
                    t0 = time.perf_counter()
                    totals[name] = run(counts[name])  # the warm-up call, untimed
                    warm[name] = time.perf_counter() - t0

                def caller(name, run, lasts=lasts):
                    def call(_k):
                        lasts[name] = run()
                    return call

                # the sides' timed calls alternate, so a drift of the machine's speed slows
                # every side alike
                measured = common.measure_interleaved(
                    {name: caller(name, run) for name, run in sides.items()}, repeats, warmup=0)
                for name, m in measured.items():
                    timings[name] = {**m, "warmup_s": warm[name], "warmup_calls": 1,
                                     "updates_per_s": neurons * steps / m["median_s"],
                                     "timed_totals_equal": lasts[name] == totals[name]}
                    print(f"  {model:7s} n={neurons:>9,} {dtype} threads={used} {name:8s} "
                          f"{m['median_s']:8.3f} s ({neurons * steps / m['median_s']:.3g} "
                          f"updates/s), {totals[name]} spikes", flush=True)
            rows.append(_row(model, neurons, steps, k, dtype, used, timings, totals, counts))
    finally:
        if leaky is not None:
            release_snntorch(leaky)
    return rows


def _row(model, neurons, steps, k, dtype, used, timings, totals, counts) -> dict[str, Any]:
    ours = counts["neurosim"]
    check: dict[str, Any] = {}
    ok = all(t["timed_totals_equal"] for t in timings.values())
    for peer in ("numpy", "snntorch", "kernel"):
        if peer not in counts:
            continue
        differ = int(np.count_nonzero(counts[peer] != ours))
        entry = {"total_equal": totals[peer] == totals["neurosim"],
                 "per_neuron_equal": differ == 0, "neurons_differing": differ,
                 "relative_total_difference": (totals[peer] - totals["neurosim"])
                 / max(totals["neurosim"], 1)}
        exact = not (peer == "snntorch" and model == "lif")
        entry["rule"] = ("spike counts equal, neuron by neuron" if exact else
                         f"total spike count within {LIF_TOLERANCE:g} (relative): same "
                         "equation, different rounding")
        entry["passed"] = (entry["per_neuron_equal"] and entry["total_equal"] if exact else
                           abs(entry["relative_total_difference"]) <= LIF_TOLERANCE)
        ok = ok and entry["passed"]
        check[peer] = entry
    check["timed_runs_reproduce_warmup_counts"] = all(t["timed_totals_equal"]
                                                      for t in timings.values())
    check["passed"] = ok
    median = {name: t["median_s"] for name, t in timings.items()}
    return {
        "model": model, "neurons": neurons, "steps": steps, "block_steps": k, "dtype": dtype,
        "threads": used,
        "sides": timings,
        "ratios": {f"neurosim_vs_{peer}": median[peer] / median["neurosim"]
                   for peer in median if peer != "neurosim"},
        "spikes": totals,
        "firing": {"spike_fraction": totals["neurosim"] / (neurons * steps),
                   "neurons_fired_fraction": float(np.count_nonzero(ours) / neurons),
                   "mean_rate_hz": totals["neurosim"] / (neurons * steps) / DT_S},
        "check": check,
    }


# ----------------------------------------------------------------------------------------------
# Table and plot
# ----------------------------------------------------------------------------------------------


def _rate(side: dict[str, Any] | None, updates: int) -> str:
    if side is None:
        return "not run"
    return (f"{updates / side['median_s'] / 1e6:.3g} ({updates / side['max_s'] / 1e6:.3g}-"
            f"{updates / side['min_s'] / 1e6:.3g})")


def _load(env: dict[str, Any]) -> str:
    load = env.get("load_average")
    return f"{load[0]:.1f}" if load else "?"


def _check_text(row: dict[str, Any]) -> str:
    parts = []
    for peer, label in (("numpy", "NumPy"), ("snntorch", "snnTorch")):
        entry = row["check"].get(peer)
        if entry is None:
            continue
        if entry["per_neuron_equal"] and entry["total_equal"]:
            parts.append(f"{label}: equal per neuron")
        else:
            parts.append(f"{label}: {entry['relative_total_difference']:+.2e} total, "
                         f"{entry['neurons_differing']} neurons differ")
        if not entry["passed"]:
            parts[-1] += " **FAILED**"
    kernel = row["check"].get("kernel")
    if kernel is not None and not kernel["passed"]:
        parts.append("kernel-only run differs **FAILED**")
    return "; ".join(parts)


def render(result: dict[str, Any]) -> str:
    """The README table: million neuron updates per second, median (range over the timed
    runs), the ratios of medians, the firing and the spike-count check of each row."""
    env = result.get("environment", {})
    kernel = any("kernel" in row["sides"] for row in result["rows"])
    lines = [
        f"LIF throughput, {result['steps']} steps of {result['dt_s'] * 1e3:g} ms, "
        f"million neuron updates/s: median (min-max) of {result['repeats']} timed runs after "
        "one warm-up" + (", the sides' runs interleaved" if all(
            t.get("interleaved") for row in result["rows"] for t in row["sides"].values())
            else "") + f"; {env.get('cpu', '?')}, {env.get('cores', '?')} cores, load average "
        f"{_load(env)} at the start. neurosim: the public `lif_run` (input validation "
        "included), called once per input block.",
        "",
        "| neuron | neurons | dtype | threads | neurosim `lif_run` | NumPy loop | snnTorch "
        "`Leaky` | neurosim / NumPy | neurosim / snnTorch | spikes (neurons firing) "
        "| check |" + (" neurosim kernel alone (no validation, no copies) |" if kernel else ""),
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|" + ("---:|" if kernel else ""),
    ]
    for row in result["rows"]:
        updates = row["neurons"] * row["steps"]
        sides, ratios = row["sides"], row["ratios"]
        r_np = ratios.get("neurosim_vs_numpy")
        r_st = ratios.get("neurosim_vs_snntorch")
        lines.append(
            f"| {row['model']} | {row['neurons']:,} | {row['dtype']} | {row['threads']} | "
            f"{_rate(sides['neurosim'], updates)} | {_rate(sides.get('numpy'), updates)} | "
            f"{_rate(sides.get('snntorch'), updates)} | "
            f"{f'{r_np:.2f}x' if r_np else '-'} | {f'{r_st:.1f}x' if r_st else '-'} | "
            f"{row['firing']['spike_fraction']:.2%} "
            f"({row['firing']['neurons_fired_fraction']:.0%}) | {_check_text(row)} |"
            + (f" {_rate(sides.get('kernel'), updates)} |" if kernel else ""))
    blocks = sorted({(row["neurons"], row["block_steps"]) for row in result["rows"]})
    lines += [
        "",
        "Input: one block of K steps per size, cycled, the same array on every side (K = "
        + ", ".join(f"{k} at {n:,}" for n, k in blocks) + " neurons); it is read from "
        "memory every step on every side, so the CPU sides are bound by memory bandwidth at "
        "large sizes. "
        "Neurons: " + "; ".join(f"{m}: {MODEL_TEXT[m]}" for m in MODELS) + ". Spikes: "
        "fraction of neuron-steps with a spike (fraction of neurons that fired at least once). "
        f"All checks passed: {'yes' if result['checks_passed'] else '**no**'}.",
    ]
    if result.get("snntorch_max") is not None:
        lines[-1] += (f" snnTorch is run up to {int(result['snntorch_max']):,} neurons "
                      "(it takes minutes per call beyond).")
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from neurosim import plot as ns_plot

    rows = [r for r in result["rows"] if r["model"] == "if" and r["dtype"] == "float32"]
    if not rows:
        print("no float32 IF rows: no plot")
        return
    threads = max(r["threads"] for r in rows)
    rows = [r for r in rows if r["threads"] == threads]
    sizes = [r["neurons"] for r in rows]
    series = {}
    for name, label in (("neurosim", "neurosim lif_run (Numba CPU)"), ("numpy", "NumPy loop"),
                        ("snntorch", "snnTorch snn.Leaky")):
        series[label] = [r["sides"][name]["updates_per_s"] if name in r["sides"] else math.nan
                         for r in rows]
    fig = ns_plot.scaling(sizes, series, ylabel="neuron updates per second",
                          title=f"IF neuron, float32, {threads} threads, {result['steps']} steps")
    fig.savefig(path, dpi=120)
    print(f"written {path}")


# ----------------------------------------------------------------------------------------------


def parse_sizes(option: str) -> list[int]:
    sizes = [int(float(s)) for s in option.split(",") if s.strip()]
    if not sizes or min(sizes) < 1:
        raise SystemExit(f"--sizes must be positive numbers, got {option!r}")
    return sizes


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_options(parser, default_out="lif.json")
    parser.add_argument("--sizes", default="1e4,1e5,1e6",
                        help="neuron counts of the IF comparison (default 1e4,1e5,1e6; "
                             "1e7 is optional: ~25 minutes more, neurosim and NumPy)")
    parser.add_argument("--steps", type=int, default=STEPS,
                        help=f"time steps per run (default {STEPS}; at least 1000 unless "
                             "--quick)")
    parser.add_argument("--block-elements", type=float, default=2.5e7,
                        help="bound on the input block's steps x neurons (default 2.5e7)")
    parser.add_argument("--snntorch-max", type=float, default=1e6,
                        help="largest size at which snnTorch runs (default 1e6: 3-7 s per "
                             "call there, 140 s at 1e7)")
    parser.add_argument("--extra-size", type=float, default=2e4,
                        help="neurons of the leaky (lif) and refractory (lif_ref) rows "
                             "(default 2e4; 0 skips them)")
    parser.add_argument("--with-kernel", action="store_true",
                        help="also time neurosim's CPU kernel called directly, without "
                             "lif_run's validation and copies (a diagnostic column)")
    parser.add_argument("--plot", default=None,
                        help="throughput plot (default: lif_throughput.png next to --out, "
                             "full runs only)")
    args = parser.parse_args(argv)
    dtypes = common.parse_dtypes(args.dtype)
    thread_counts = common.thread_counts(args.threads)
    if args.repeats < 5 and not args.quick:
        raise SystemExit("--repeats must be at least 5 (benchmarks/README.md, rule 2)")
    if args.quick:
        sizes = [2_000, 20_000] if args.sizes == parser.get_default("sizes") else \
            parse_sizes(args.sizes)
        steps = args.steps if args.steps != STEPS else 200
        extra = 5_000 if args.extra_size == parser.get_default("extra_size") else \
            int(args.extra_size)
    else:
        sizes, steps, extra = parse_sizes(args.sizes), args.steps, int(args.extra_size)
        if steps < 1000:
            raise SystemExit("--steps must be at least 1000 (use --quick to try the script)")
    cases = [("if", n) for n in sizes]
    if extra > 0:
        cases += [("lif", extra), ("lif_ref", extra)]
    rows = []
    t_start = time.perf_counter()
    for dtype in dtypes:
        for model, n in cases:
            k = block_steps(n, steps, args.block_elements)
            rows += compare(model, n, steps, k, dtype, thread_counts, args.repeats,
                            with_snntorch=n <= args.snntorch_max,
                            with_kernel=args.with_kernel)
    result = {
        "benchmark": "LIF neuron updates per second: neurosim lif_run vs NumPy vs snnTorch",
        "steps": steps, "dt_s": DT_S, "repeats": args.repeats, "quick": args.quick,
        "snntorch_max": args.snntorch_max, "lif_tolerance": LIF_TOLERANCE,
        "models": {m: MODEL_TEXT[m] for m in MODELS},
        "rows": rows,
        "checks_passed": all(r["check"]["passed"] for r in rows),
        "total_wall_s": time.perf_counter() - t_start,
    }
    path = common.write_result(args.out, result, dtypes=dtypes, repeats=args.repeats,
                               threads=thread_counts, sizes=sizes, steps=steps,
                               quick=args.quick, block_elements=args.block_elements)
    result = json.loads(path.read_text())
    if args.plot or not args.quick:
        plot(result, Path(args.plot) if args.plot else Path(args.out).with_name(
            "lif_throughput.png"))
    print(render(result))
    if not result["checks_passed"]:
        print("a spike-count check FAILED (see the table)", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
