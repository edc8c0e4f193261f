"""Gallery models: neurosim vs Brian2 ``cpp_standalone`` (speed), and neurosim's scaling to
1e6 neurons, under the rules of benchmarks/README.md.

``speed`` (``benchmarks/results/gallery_speed.json``), for each model, dtype and thread count
(1 vs 1, all cores vs all cores):

- models (``--models``): ``coba`` (COBA, 4,000 neurons, Brette et al. 2007 benchmark 1) and
  ``brunel_C`` (Brunel 2000 at full scale, 12,500 neurons, regime C: g = 5, nu_ext/nu_thr = 2)
  by default; ``brunel_A`` (regime A: g = 3, 2) on request; 1 s simulated at dt 0.1 ms.
- neurosim: the gallery model (:func:`neurosim.gallery.build`), connectivity built once; each
  run is a fresh :class:`~neurosim.network.Network` of the same objects (same initial state,
  flattened to kernel arrays outside the timed call), under ``common.threads(n)``; one untimed
  warm-up run (JIT compilation), then the median of ``--repeats``.
- Brian2: its own formulation of the model (:mod:`neurosim.studies.brian2_gallery`:
  ``examples/frompapers/Brunel_2000.py``, the classic ``COBA.py``) with its own random
  connectivity, in ``cpp_standalone`` with ``prefs.devices.cpp_standalone.openmp_threads = n``
  (0, Brian2's default serial code, at one thread)
  and ``prefs.core.default_float_dtype`` = the row's dtype, in a fresh subprocess per row (its
  device is global state). Its time is the compiled binary's own run time
  (``device._last_run_time``): code generation and compilation excluded; the run that follows
  the build is the warm-up, then the same binary is re-executed ``--repeats`` times, each
  re-execution alternating with one of neurosim's timed runs (``common.Brian2Reruns``: the
  Brian2 process waits on a pipe before each), so a drift of the machine's speed during the
  row slows both sides alike.
- Check in the run: both sides simulate the same model with different random numbers, so the
  mean rates after a transient (``--transient``, 0.1 s) must agree within the model's tolerance
  (COBA 5%, Brunel 10%); synchrony and CV of inter-spike intervals
  (:func:`neurosim.gallery.stats.spike_statistics`) are stored for both sides. For scale, the
  rate's spread between realizations is measured too (neurosim, untimed, ``--seed-spread``
  other seeds): COBA at 4,000 neurons varies by about 5% (sd) from seed to seed, so two
  independent realizations differ by about 7% and the 5% check can fail by chance; Brunel C at
  full scale varies by about 1%.

``scaling`` (``benchmarks/results/gallery_scaling.json``), neurosim only (plus Brian2's CUBA
example at ``--brian2-sizes``, 1e4 and 1e5), float32, all cores, for 1e4, 5e4, 1e5 and
1e6 neurons:

- ``cuba``: :func:`neurosim.network.cuba.build_cuba` (80 synapses per neuron).
- ``brunel``: Brunel's network (regime C) with the paper's in-degrees and N growing: C_E = 1000
  excitatory, C_I = 250 inhibitory inputs and C_ext = 1000 Poisson inputs per neuron (fixed
  in-degree), 80% excitatory; the gallery model's in-degree grows with N (epsilon N_E), which
  at 1e6 neurons would be 1e11 synapses.
- Per size: wall seconds per simulated second, neuron updates per second (neurons x steps /
  wall), synaptic events per second (spikes x synapses per neuron / wall), the network's memory
  estimate (``Network.memory_estimate``) and the process's peak RSS. One untimed warm-up run
  (JIT, transient), then ``--repeats`` runs continuing the same network. The simulated time per
  run shrinks with the synapses S (``min(1, max(0.1, 2e6 / S))`` s, unless ``--durations``:
  CUBA 1, 0.5, 0.25, 0.1 s; Brunel 0.16, 0.1 s...).
- Memory: a size whose build would need more than ``--max-gb`` (6 GB) is skipped before
  anything is allocated, and recorded as such. Building peaks at about 66 bytes per synapse
  (measured with tracemalloc: the projections' construction, then ``Network.build``
  flattening them, while ``memory_estimate`` counts the 8 bytes per synapse the kernels keep),
  so Brunel stops at 5e4 neurons (6.25e7 synapses, about 4 GB); 1e5 (1.25e8 synapses, about
  8 GB; ``--max-gb 10`` runs it) and 1e6 (1.25e9 synapses, about 83 GB) are skipped. CUBA at
  1e6 neurons has 8e7 synapses (about 5.5 GB).

Run (full; the lead runs these on an idle machine, one after the other)::

    .venv/bin/python benchmarks/bench_gallery.py speed     # about 15-20 min on 2 idle cores
    .venv/bin/python benchmarks/bench_gallery.py scaling   # about 8 min

``speed``: 8 rows, each a Brian2 compilation of about a minute, then 6 runs per side; the
seed spread adds about 2 min. ``speed --models coba,brunel_C,brunel_A`` adds regime A (about
10 min more). Run them on an idle machine: Brian2's OpenMP threads spin at barriers, and on a
machine whose cores are busy with other work its all-cores runs slow down many times over
(seen at a load of 10 on 2 cores), which neurosim's runs do not.

``--quick`` (either part): small sizes and short runs, to check the script (1 repeat allowed).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GOAL_RATIO = 3.0  # the speed goal of issue 13 (Brian2 / neurosim), reported, not enforced


class SpeedModel(NamedTuple):
    """One model of the speed table: the gallery's name and parameters, Brian2's function in
    :mod:`neurosim.studies.brian2_gallery` and its arguments, and the rate tolerance."""

    label: str
    gallery: str
    params: dict
    brian2: str
    brian2_args: dict
    tolerance: float
    quick: dict  # parameters replaced in --quick


SPEED_MODELS = {
    "coba": SpeedModel("COBA", "coba", {"n": 4000}, "brian2_coba", {"n": 4000}, 0.05,
                       {"n": 1000}),
    "brunel_C": SpeedModel("Brunel 2000, regime C (g 5, nu 2)", "brunel2000",
                           {"g": 5.0, "nu_ratio": 2.0, "scale": 1.0}, "brian2_brunel",
                           {"g": 5.0, "nu_ratio": 2.0, "scale": 1.0}, 0.10, {"scale": 0.1}),
    "brunel_A": SpeedModel("Brunel 2000, regime A (g 3, nu 2)", "brunel2000",
                           {"g": 3.0, "nu_ratio": 2.0, "scale": 1.0}, "brian2_brunel",
                           {"g": 3.0, "nu_ratio": 2.0, "scale": 1.0}, 0.10, {"scale": 0.1}),
}

DEFAULT_MODELS = "coba,brunel_C"

# -- speed: neurosim side ----------------------------------------------------------------------


def fresh_network(model: Any) -> tuple[Any, list]:
    """A new Network of ``model``'s objects (state back at its initial values) with new spike
    monitors, one per population in the gallery's numbering order."""
    from neurosim.network import Network, SpikeMonitor

    old = model.network
    monitors = [SpikeMonitor(pop) for pop in model.populations]
    net = Network(old.dt_s, dtype=old.dtype, backend=old.backend, accumulate=old.accumulate)
    net.add(*old.populations, *old.poisson, *old.sources, *old.projections, *old.currents,
            *old.drives, *monitors)
    return net, monitors


def global_spikes(populations: list, monitors: list) -> tuple[np.ndarray, np.ndarray]:
    """(steps, global indices) of the monitors, populations numbered in order."""
    steps, idx, offset = [], [], 0
    for pop, mon in zip(populations, monitors):
        steps.append(mon.steps)
        idx.append(mon.indices + offset)
        offset += pop.n
    return np.concatenate(steps).astype(np.int64), np.concatenate(idx).astype(np.int64)


def neurosim_speed(spec: SpeedModel, params: dict, dtype: str, repeats: int, duration_s: float,
                   transient_s: float, peer: common.Brian2Reruns | None = None
                   ) -> dict[str, Any]:
    """Time the gallery model in neurosim (threads set by the caller): warm-up, then the
    median of ``repeats`` runs of fresh networks of the same objects. With ``peer`` (Brian2's
    binary, built and run once in its own process), the timed runs alternate with the peer's
    re-runs, one of each per round, whichever goes first alternating (the peer last in the last
    round, so that its process's wrap-up overlaps no timed run)."""
    from neurosim import gallery
    from neurosim.gallery.stats import spike_statistics

    t0 = time.perf_counter()
    model = gallery.build(spec.gallery, **params, dtype=np.dtype(dtype))
    build_s = time.perf_counter() - t0

    def setup():
        net, monitors = fresh_network(model)
        net.build()  # kernel arrays outside the timed call
        return net, monitors

    def run(built):
        built[0].run(duration_s, progress=False)
        return built

    if peer is None:
        m = common.measure(run, repeats, setup=setup)
    else:
        run(setup())  # warm-up (compilation) while the peer builds
        peer.ready()
        times = []
        for r in range(repeats):
            peer_first = r % 2 == 1 and r < repeats - 1
            if peer_first:
                peer.rerun()
            built = setup()
            t0 = time.perf_counter()
            last = run(built)
            times.append(time.perf_counter() - t0)
            if not peer_first:
                peer.rerun()
        m = {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
             "times_s": times, "repeats": repeats, "warmup_calls": 1, "last": last,
             "interleaved": True}
    net, monitors = m["last"]
    steps, idx = global_spikes(model.populations, monitors)
    stats = spike_statistics(steps, idx, net.n_neurons, net.steps_done, net.dt_s,
                             start_step=int(round(transient_s / net.dt_s)))
    return {"timing": common.timing(m), "stats": stats, "neurons": net.n_neurons,
            "synapses": net.n_synapses, "build_s": build_s}


# -- speed: Brian2 side (a fresh subprocess per row) --------------------------------------------

_BRIAN2_SCRIPT = r"""
import json, sys
import numpy as np
import brian2
from neurosim.studies import brian2_gallery
cfg = json.loads(sys.argv[1])
# one thread: Brian2's default serial code (0), not OpenMP with one thread (about 3x slower)
brian2.prefs.devices.cpp_standalone.openmp_threads = 0 if cfg["threads"] <= 1 else cfg["threads"]
run = getattr(brian2_gallery, cfg["function"])(
    **cfg["args"], duration_s=cfg["duration_s"], seed=cfg["seed"], target="cpp_standalone",
    dtype=cfg["dtype"], reruns=cfg["repeats"])
np.savez(cfg["spikes"], steps=run.steps, indices=run.indices)
print(json.dumps({"warmup_s": run.run_s, "times_s": list(run.rerun_s), "build_s": run.build_s,
                  "n_neurons": run.n_neurons, "n_steps": run.n_steps, "dt_s": run.dt_s}))
"""


def brian2_speed(spec: SpeedModel, args: dict, dtype: str, threads: int, repeats: int,
                 duration_s: float, transient_s: float, seed: int,
                 timeout_s: float = 3600, between=None) -> dict[str, Any]:
    """Brian2's formulation of the model in ``cpp_standalone`` with ``threads`` OpenMP
    threads: build, compile and run once (warm-up), then ``repeats`` re-executions of the
    binary, each timed by the binary itself. ``between(peer)`` (optional) gets the running
    :class:`common.Brian2Reruns` and drives the re-runs itself (interleaved with neurosim's
    timed runs); it returns what this function returns it with."""
    from neurosim.gallery.stats import spike_statistics

    with tempfile.TemporaryDirectory(prefix="bench_gallery_brian2_") as tmp:
        spikes = Path(tmp) / "spikes.npz"
        cfg = {"function": spec.brian2, "args": args, "duration_s": duration_s, "seed": seed,
               "dtype": dtype, "threads": threads, "repeats": repeats, "spikes": str(spikes)}
        t0 = time.perf_counter()
        if between is None:
            out, timing = common.run_brian2_script(_BRIAN2_SCRIPT, cfg, threads, timeout_s)
            extra = None
        else:
            peer = common.Brian2Reruns(_BRIAN2_SCRIPT, cfg, threads)
            extra = between(peer)
            out, timing = peer.finish(timeout_s)
        with np.load(spikes) as f:
            steps, idx = f["steps"], f["indices"]
    stats = spike_statistics(steps, idx, out["n_neurons"], out["n_steps"], out["dt_s"],
                             start_step=int(round(transient_s / out["dt_s"])))
    return {"timing": timing, "stats": stats, "neurons": out["n_neurons"],
            "build_s": out["build_s"], "subprocess_s": time.perf_counter() - t0,
            "between": extra}


def seed_spread(name: str, args: argparse.Namespace, dtype: str) -> dict[str, Any]:
    """The model's own rate spread over realizations: neurosim's rate (after the transient) for
    seeds ``seed + 1 .. seed + --seed-spread`` (the timed rows use ``seed``), untimed. Two
    independent realizations differ by about sqrt(2) sd, which is what a rate check between
    two simulators with their own random numbers can resolve."""
    from neurosim import gallery

    spec = SPEED_MODELS[name]
    params = {**spec.params, **(spec.quick if args.quick else {})}
    seeds = list(range(args.seed + 1, args.seed + 1 + args.seed_spread))
    rates = [gallery.simulate(spec.gallery, duration_s=args.duration,
                              transient_s=args.transient, **params, seed=seed,
                              dtype=np.dtype(dtype)).stats["rate_hz"] for seed in seeds]
    mean = float(np.mean(rates))
    rel_sd = float(np.std(rates, ddof=1) / mean) if len(rates) > 1 and mean > 0 else None
    return {"seeds": seeds, "rates_hz": rates, "dtype": dtype, "rel_sd": rel_sd}


def speed_row(name: str, dtype: str, threads: int, args: argparse.Namespace) -> dict[str, Any]:
    """One row: neurosim and Brian2, same model, dtype and thread count."""
    spec = SPEED_MODELS[name]
    params = {**spec.params, **(spec.quick if args.quick else {}), "seed": args.seed}
    b2_args = {**spec.brian2_args, **(spec.quick if args.quick else {})}
    with common.threads(threads) as used:
        theirs = brian2_speed(
            spec, b2_args, dtype, used, args.repeats, args.duration, args.transient, args.seed,
            between=lambda peer: neurosim_speed(spec, params, dtype, args.repeats,
                                                args.duration, args.transient, peer))
        ours = theirs.pop("between")
    r_ours, r_theirs = ours["stats"]["rate_hz"], theirs["stats"]["rate_hz"]
    diff = abs(r_ours - r_theirs) / r_theirs if r_theirs > 0 else float("inf")
    return {
        "model": name, "label": spec.label, "neurons": ours["neurons"],
        "synapses": ours["synapses"], "params": params, "dtype": dtype, "threads": used,
        "sides": {"neurosim": ours["timing"], "brian2": theirs["timing"]},
        "stats": {"neurosim": ours["stats"], "brian2": theirs["stats"]},
        "build_s": {"neurosim": ours["build_s"], "brian2": theirs["build_s"]},
        "ratio_brian2_over_neurosim": theirs["timing"]["median_s"] / ours["timing"]["median_s"],
        "check": {"passed": bool(diff <= spec.tolerance), "rate_rel_diff": diff,
                  "tolerance": spec.tolerance, "neurons_equal":
                  ours["neurons"] == theirs["neurons"]},
    }


def _stat(s: dict, key: str, fmt: str) -> str:
    value = s[key]
    return "-" if value is None or value != value else fmt.format(value)


def _spread_note(result: dict[str, Any]) -> str:
    """How much the rate varies between neurosim's own realizations (other seeds)."""
    parts = [f"{SPEED_MODELS[name].label if name in SPEED_MODELS else name} "
             f"{spread['rel_sd']:.1%}" for name, spread in result.get("seed_spread", {}).items()
             if spread.get("rel_sd") is not None]
    if not parts:
        return ""
    return ("; for scale, the rate's relative sd over neurosim's realizations with "
            f"{len(next(iter(result['seed_spread'].values()))['seeds'])} other seeds: "
            + ", ".join(parts))


def render(result: dict[str, Any]) -> str:
    """The README table of ``gallery_speed.json``: wall time per run (median and range), the
    ratio of medians, and the rates, synchrony and CV of both sides."""
    env = result.get("environment", {})
    lines = [
        f"Gallery models, {result['duration_s']:g} s simulated at dt 0.1 ms: wall time of one "
        f"run, median (min-max) of {result['repeats']} timed runs after one warm-up; Brian2 "
        f"{env.get('versions', {}).get('brian2', '?')} `cpp_standalone` running its own "
        "formulation (its binary's run time, compilation excluded, the binary re-executed"
        + (", each re-run alternating with one of neurosim's timed runs" if all(
            r["sides"]["brian2"].get("interleaved") for r in result["rows"]) else "")
        + f"); {env.get('cpu', '?')}, {env.get('cores', '?')} cores.",
        "",
        "| model | neurons | dtype | threads | neurosim (s) | Brian2 (s) | Brian2 / neurosim "
        "| rate (Hz) | synchrony | CV ISI | check |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in result["rows"]:
        s, ns, b2 = row["sides"], row["stats"]["neurosim"], row["stats"]["brian2"]
        check = row["check"]
        verdict = ("ok" if check["passed"] else "**FAILED**") + \
            f" ({check['rate_rel_diff']:.1%} <= {check['tolerance']:.0%})"
        lines.append(
            f"| {row['label']} | {row['neurons']:,} | {row['dtype']} | {row['threads']} | "
            f"{common.spread(s['neurosim'])} | {common.spread(s['brian2'])} | "
            f"{row['ratio_brian2_over_neurosim']:.2f}x | "
            f"{ns['rate_hz']:.2f} / {b2['rate_hz']:.2f} | "
            f"{_stat(ns, 'synchrony', '{:.2f}')} / {_stat(b2, 'synchrony', '{:.2f}')} | "
            f"{_stat(ns, 'cv_isi', '{:.2f}')} / {_stat(b2, 'cv_isi', '{:.2f}')} | {verdict} |")
    lines += [
        "",
        "Statistics: neurosim / Brian2, after the first "
        f"{result['transient_s'] * 1e3:g} ms (synchrony: CV of the population count in 1 ms "
        "bins; CV ISI: mean over neurons with 3 spikes or more). The two sides draw their own "
        "connectivity and Poisson input, so the check compares the mean rates within the "
        "model's tolerance" + _spread_note(result) + ". Same dtype "
        "(`prefs.core.default_float_dtype`), same threads "
        f"(`openmp_threads`). Goal of the speed ratio: {result['goal_ratio']:g}x. All checks "
        f"passed: {'yes' if result['checks_passed'] else '**no**'}.",
    ]
    return "\n".join(lines) + "\n"


# -- scaling -----------------------------------------------------------------------------------

SCALING_NETWORKS = ("cuba", "brunel")
BRUNEL_C_E, BRUNEL_C_I = 1000, 250  # Brunel (2000): in-degrees at N_E = 10,000, epsilon 0.1
SYNAPSES_PER_NEURON = {"cuba": 80, "brunel": BRUNEL_C_E + BRUNEL_C_I}
#: Peak bytes per synapse while a network is built (tracemalloc, Brunel at 2e4 neurons: the
#: projections' construction temporaries, then Network.build's sorting into the kernels' CSR
#: arrays; 26 bytes per synapse stay allocated afterwards, 8 of them the kernels').
PLANNED_BYTES_PER_SYNAPSE = 66
PLANNED_BYTES_PER_NEURON = 256


def scaling_duration(kind: str, n: int) -> float:
    """Simulated seconds per run of network ``kind`` at ``n`` neurons: ``min(1, max(0.1,
    2e6 / synapses))``, whole ms (the work per run grows with the synapses; 0.1 s at least)."""
    return round(min(1.0, max(0.1, 2e6 / (n * SYNAPSES_PER_NEURON[kind]))), 3)


def planned_bytes(kind: str, n: int) -> int:
    """What building the network takes at most (checked before anything is allocated)."""
    return int(n * (SYNAPSES_PER_NEURON[kind] * PLANNED_BYTES_PER_SYNAPSE
                    + PLANNED_BYTES_PER_NEURON))


def brunel_fixed_indegree(n: int, *, g: float = 5.0, nu_ratio: float = 2.0, seed: int = 0,
                          dtype: Any = np.float32) -> tuple[Any, list, list]:
    """Brunel's (2000) network of ``n`` neurons (80% excitatory) with the paper's in-degrees
    kept as N grows: every neuron receives exactly C_E = 1000 excitatory and C_I = 250
    inhibitory synapses (J = 0.1 mV, -g J, delay 1.5 ms) and C_ext = C_E Poisson inputs at
    ``nu_ratio`` nu_thr = ``nu_ratio`` theta / (J C_E tau); neurons and constants as
    :mod:`neurosim.gallery.brunel`. Returns ``(network, populations, spike monitors)``."""
    from neurosim.gallery.brunel import DELAY_S, J_MV, TAU_RP_S, TAU_S, THETA_MV, V_RESET_MV
    from neurosim.network import (
        Network,
        PoissonInput,
        Population,
        SpikeMonitor,
        connect_fixed_indegree,
    )
    from neurosim.neurons.lif import LIFParams

    n_exc = int(round(0.8 * n))
    if n_exc < BRUNEL_C_E or n - n_exc < BRUNEL_C_I:
        raise ValueError(f"{n} neurons are too few for in-degrees {BRUNEL_C_E} and "
                         f"{BRUNEL_C_I} (at least {int(BRUNEL_C_E / 0.8)})")
    params = LIFParams(tau_m_s=TAU_S, v_rest=0.0, v_reset=V_RESET_MV, v_th=THETA_MV, r_m=1.0,
                       t_ref_s=TAU_RP_S)
    exc = Population(n_exc, params, v0=0.0, name="exc")
    inh = Population(n - n_exc, params, v0=0.0, name="inh")
    dt_s = 1e-4
    delay = int(round(DELAY_S / dt_s))
    projections = [
        connect_fixed_indegree(pre, post, BRUNEL_C_E if pre is exc else BRUNEL_C_I,
                               J_MV if pre is exc else -g * J_MV, target="v",
                               delay_steps=delay, seed=seed * 10 + k)
        for k, (pre, post) in enumerate([(exc, exc), (exc, inh), (inh, exc), (inh, inh)])]
    nu_thr = THETA_MV / (J_MV * BRUNEL_C_E * TAU_S)
    drives = [PoissonInput(pop, BRUNEL_C_E, nu_ratio * nu_thr, J_MV, "v", seed=seed)
              for pop in (exc, inh)]
    monitors = [SpikeMonitor(exc), SpikeMonitor(inh)]
    net = Network(dt_s, dtype=dtype).add(exc, inh, *projections, *drives, *monitors)
    return net, [exc, inh], monitors


def scaling_network(kind: str, n: int, seed: int, dtype: Any) -> tuple[Any, list, list]:
    """``(network, populations, spike monitors)`` of one scaling row."""
    if kind == "cuba":
        from neurosim.network.cuba import build_cuba

        net, mons = build_cuba(n, seed=seed, dtype=dtype)
        return net, [mons["exc"], mons["inh"]], [mons["spikes_exc"], mons["spikes_inh"]]
    return brunel_fixed_indegree(n, seed=seed, dtype=dtype)


def neurosim_scaling(kind: str, n: int, duration_s: float, dtype: str, repeats: int,
                     seed: int) -> dict[str, Any]:
    """One untimed warm-up run, then ``repeats`` timed runs continuing the same network."""
    t0 = time.perf_counter()
    net, _, monitors = scaling_network(kind, n, seed, np.dtype(dtype))
    estimate = net.memory_estimate()
    net.build()
    build_s = time.perf_counter() - t0
    counts = []

    def setup():  # untimed: spikes recorded so far, before each run
        counts.append(sum(mon.steps.size for mon in monitors))

    m = common.measure(lambda _: net.run(duration_s, progress=False), repeats, setup=setup)
    counts.append(sum(mon.steps.size for mon in monitors))
    spikes = np.diff(counts)[1:]  # per timed run (the first difference is the warm-up's)
    timing = common.timing(m)
    median_s = timing["median_s"]
    steps = int(round(duration_s / net.dt_s))
    out_degree = net.n_synapses / n
    median_spikes = float(np.median(spikes))
    return {
        "network": kind, "neurons": n, "synapses": net.n_synapses, "duration_s": duration_s,
        "steps": steps, "timing": timing, "wall_per_sim_s": median_s / duration_s,
        "neuron_updates_per_s": n * steps / median_s,
        "synaptic_events_per_s": median_spikes * out_degree / median_s,
        "spikes_per_run": spikes.tolist(),
        "rate_hz": float(spikes.sum() / (n * duration_s * len(spikes))),
        "memory_estimate_bytes": estimate, "peak_rss_bytes": peak_rss_bytes(),
        "build_s": build_s, "skipped": None,
    }


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def brian2_scaling(n: int, duration_s: float, dtype: str, threads: int, repeats: int,
                   seed: int) -> dict[str, Any]:
    """CUBA as ``bench_cuba.py`` times it: Brian2's CUBA example on neurosim's network
    (``cpp_standalone``, binary run time, the binary re-run) against neurosim on fresh
    networks, both from the same initial state (a like-for-like pair; the scaling row itself
    continues one network)."""
    from neurosim.studies.peer_benchmarks import bench_cuba, cuba_parts

    row = bench_cuba(n, duration_s, compare="brian2", seed=seed, threads=threads,
                     dtype=np.dtype(dtype), repeats=repeats, parts=cuba_parts(n, seed),
                     measure=common.measure)
    return {"timing": row["brian2_timing"], "neurosim_timing": row["neurosim_timing"],
            "wall_per_sim_s": row["brian2_s"] / duration_s,
            "ratio_brian2_over_neurosim": row["speedup"], "rate_hz": row["brian2_rate_hz"],
            "neurosim_rate_hz": row["neurosim_rate_hz"], "rate_rel_diff": row["rate_rel_diff"],
            "rate_tolerance": row["rate_tolerance"], "check_passed": row["rates_match"],
            "build_s": row["brian2_build_s"]}


def scaling_row(kind: str, n: int, duration_s: float, args: argparse.Namespace, dtype: str,
                threads: int) -> dict[str, Any]:
    planned = planned_bytes(kind, n)
    if planned > args.max_gb * 1e9:
        return {"network": kind, "neurons": n, "synapses": n * SYNAPSES_PER_NEURON[kind],
                "duration_s": duration_s, "planned_bytes": planned,
                "skipped": f"needs about {planned / 1e9:.0f} GB to build > {args.max_gb:g} GB"}
    with common.threads(threads) as used:
        row = neurosim_scaling(kind, n, duration_s, dtype, args.repeats, args.seed)
        row.update(planned_bytes=planned, threads=used, dtype=dtype, brian2=None)
        if kind == "cuba" and n in parse_sizes(args.brian2_sizes):
            row["brian2"] = brian2_scaling(n, duration_s, dtype, used, args.repeats,
                                           args.seed)
    return row


def parse_sizes(option: str) -> list[int]:
    """``"1e4,1e5"`` -> ``[10000, 100000]``."""
    return [int(float(v)) for v in option.split(",") if v.strip()]


def _si(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.3g}"


def render_scaling(result: dict[str, Any]) -> str:
    """The README table of ``gallery_scaling.json``."""
    env = result.get("environment", {})
    names = {"cuba": "CUBA (80 synapses/neuron)",
             "brunel": "Brunel C with the paper's in-degrees, N growing"}
    lines = [
        f"neurosim scaling, {result['dtype']}, {result['threads']} threads "
        f"({env.get('cpu', '?')}): wall seconds per simulated second, median (min-max) of "
        f"{result['repeats']} runs continuing the network after one warm-up run; Brunel with "
        f"C_E = {BRUNEL_C_E}, C_I = {BRUNEL_C_I}, C_ext = {BRUNEL_C_E} per neuron (g 5, "
        "nu_ext/nu_thr 2).",
        "",
        "| network | neurons | synapses | simulated (s) | wall s / simulated s "
        "| neuron updates/s | synaptic events/s | rate (Hz) | memory estimate / peak RSS (GB) "
        "| Brian2 wall s / sim s (ratio) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in result["rows"]:
        head = f"| {names[row['network']]} | {row['neurons']:,} | {row['synapses']:.3g} | "
        if row["skipped"]:
            lines.append(head + f"- | skipped: {row['skipped']} | | | | | |")
            continue
        b2 = row.get("brian2")
        b2_text = "-" if not b2 else (
            f"{b2['wall_per_sim_s']:.3g} ({b2['ratio_brian2_over_neurosim']:.2f}x; rates "
            f"{'ok' if b2['check_passed'] else '**differ**'} {b2['rate_rel_diff']:.1%})")
        lines.append(
            head + f"{row['duration_s']:g} | "
            f"{common.spread(row['timing'], 1 / row['duration_s'])} | "
            f"{_si(row['neuron_updates_per_s'])} | {_si(row['synaptic_events_per_s'])} | "
            f"{row['rate_hz']:.1f} | {row['memory_estimate_bytes'] / 1e9:.2f} / "
            f"{row['peak_rss_bytes'] / 1e9:.2f} | {b2_text} |")
    lines += [
        "",
        "Synaptic events: spikes x synapses per neuron. Memory estimate: "
        "`Network.memory_estimate()` (synapses, state, buffers; recorded spikes excluded); "
        "peak RSS: the process so far. Brian2: its CUBA example on the same network "
        "(`cpp_standalone`, binary run time, compilation excluded), the ratio against neurosim "
        "timed from the same initial state (as `bench_cuba.py`), rates checked within 10%.",
    ]
    return "\n".join(lines) + "\n"


# -- command line ------------------------------------------------------------------------------


def run_speed(args: argparse.Namespace) -> dict[str, Any]:
    dtypes = common.parse_dtypes(args.dtype)
    thread_counts = common.thread_counts(args.threads)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in SPEED_MODELS]
    if unknown or not models:
        raise SystemExit(f"--models: choose from {', '.join(SPEED_MODELS)}, got {args.models!r}")
    args.duration = args.duration if args.duration is not None else (0.2 if args.quick else 1.0)
    args.transient = args.transient if args.transient is not None else (
        0.05 if args.quick else 0.1)
    rows, t_start = [], time.perf_counter()
    spreads = {}
    for name in models:
        if args.seed_spread:
            with common.threads(thread_counts[-1]):
                spreads[name] = seed_spread(name, args, dtypes[0])
            print(f"{name}: rates over seeds {spreads[name]['seeds']}: "
                  f"{np.round(spreads[name]['rates_hz'], 2).tolist()} Hz", flush=True)
        for dtype in dtypes:
            for threads in thread_counts:
                row = speed_row(name, dtype, threads, args)
                rows.append(row)
                print(f"{name} N={row['neurons']:,} {dtype} {row['threads']} thr: neurosim "
                      f"{row['sides']['neurosim']['median_s']:.4f} s, Brian2 "
                      f"{row['sides']['brian2']['median_s']:.4f} s -> "
                      f"{row['ratio_brian2_over_neurosim']:.2f}x; rates "
                      f"{row['stats']['neurosim']['rate_hz']:.2f} / "
                      f"{row['stats']['brian2']['rate_hz']:.2f} Hz "
                      f"({time.perf_counter() - t_start:.0f} s)", flush=True)
    result = {
        "benchmark": "gallery models: neurosim vs Brian2 cpp_standalone",
        "duration_s": args.duration, "transient_s": args.transient, "repeats": args.repeats,
        "quick": args.quick, "seed": args.seed, "goal_ratio": GOAL_RATIO, "rows": rows,
        "seed_spread": spreads,
        "checks_passed": all(r["check"]["passed"] for r in rows),
        "total_wall_s": time.perf_counter() - t_start,
    }
    path = common.write_result(args.out, result, dtypes=dtypes, repeats=args.repeats,
                               threads=thread_counts, models=models, duration_s=args.duration,
                               quick=args.quick)
    result = json.loads(path.read_text())
    print(render(result))
    return result


def run_scaling(args: argparse.Namespace) -> dict[str, Any]:
    dtypes = common.parse_dtypes(args.dtype)
    if len(dtypes) != 1:
        raise SystemExit("scaling runs one dtype (--dtype float32 or float64)")
    thread_counts = common.thread_counts(args.threads)
    if len(thread_counts) != 1:
        raise SystemExit("scaling runs one thread count (--threads all, or a number)")
    networks = [k.strip() for k in args.networks.split(",") if k.strip()]
    if not networks or any(k not in SCALING_NETWORKS for k in networks):
        raise SystemExit(f"--networks: choose from {', '.join(SCALING_NETWORKS)}")
    sizes = parse_sizes(args.sizes or ("2000,20000" if args.quick else "1e4,5e4,1e5,1e6"))
    if args.durations:
        durations = [float(d) for d in args.durations.split(",")]
        if len(durations) != len(sizes):
            raise SystemExit("--durations needs one value per size")
    else:
        durations = None
    rows, t_start = [], time.perf_counter()
    for kind in networks:
        for k, n in enumerate(sizes):
            duration = (durations[k] if durations else
                        0.05 if args.quick else scaling_duration(kind, n))
            row = scaling_row(kind, n, duration, args, dtypes[0], thread_counts[0])
            rows.append(row)
            if row["skipped"]:
                print(f"{kind} N={n:,}: skipped ({row['skipped']})", flush=True)
                continue
            b2 = row["brian2"]
            print(f"{kind} N={n:,}: {row['wall_per_sim_s']:.3g} s per simulated s, "
                  f"{row['neuron_updates_per_s']:.3g} updates/s, "
                  f"{row['synaptic_events_per_s']:.3g} events/s, {row['rate_hz']:.1f} Hz, "
                  f"estimate {row['memory_estimate_bytes'] / 1e9:.2f} GB"
                  + (f"; Brian2 {b2['wall_per_sim_s']:.3g} s/s "
                     f"({b2['ratio_brian2_over_neurosim']:.2f}x)" if b2 else "")
                  + f" ({time.perf_counter() - t_start:.0f} s)", flush=True)
    result = {
        "benchmark": "gallery scaling: CUBA and Brunel (fixed in-degree), neurosim",
        "dtype": dtypes[0], "threads": thread_counts[0], "repeats": args.repeats,
        "quick": args.quick, "seed": args.seed, "max_gb": args.max_gb,
        "brunel_in_degree": {"c_e": BRUNEL_C_E, "c_i": BRUNEL_C_I, "c_ext": BRUNEL_C_E},
        "rows": rows, "total_wall_s": time.perf_counter() - t_start,
    }
    path = common.write_result(args.out, result, dtypes=dtypes, repeats=args.repeats,
                               threads=thread_counts, sizes=sizes, durations_s=args.durations,
                               quick=args.quick)
    result = json.loads(path.read_text())
    print(render_scaling(result))
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    speed = parts.add_parser("speed", help="gallery models vs Brian2 cpp_standalone")
    common.add_options(speed, default_out="gallery_speed.json")
    speed.add_argument("--models", default=DEFAULT_MODELS,
                       help=f"comma-separated, from {', '.join(SPEED_MODELS)} "
                            f"(default {DEFAULT_MODELS})")
    speed.add_argument("--duration", type=float, default=None,
                       help="simulated seconds per run (default 1; --quick: 0.2)")
    speed.add_argument("--seed-spread", type=int, default=4,
                       help="also run neurosim (untimed) with this many other seeds, to show "
                            "the rate spread between realizations (default 4; 0: none)")
    speed.add_argument("--transient", type=float, default=None,
                       help="seconds left out of the statistics (default 0.1; --quick: 0.05)")
    scaling = parts.add_parser("scaling", help="neurosim at 1e4-1e6 neurons")
    common.add_options(scaling, default_out="gallery_scaling.json", default_dtype="float32",
                       default_threads="all")
    scaling.add_argument("--networks", default=",".join(SCALING_NETWORKS))
    scaling.add_argument("--sizes", default=None,
                         help="neuron counts (default 1e4,5e4,1e5,1e6; --quick: 2000,20000)")
    scaling.add_argument("--durations", default=None,
                         help="simulated seconds per run, one per size (default "
                              "min(1, max(0.1, 2e6 / synapses)); --quick: 0.05)")
    scaling.add_argument("--max-gb", type=float, default=6.0,
                         help="skip a size whose build needs more memory (default 6)")
    scaling.add_argument("--brian2-sizes", default="1e4,1e5",
                         help="sizes at which Brian2's CUBA example runs too (default 1e4,1e5; "
                              "'' for none)")
    for sub in (speed, scaling):
        sub.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.repeats < 5 and not args.quick:
        raise SystemExit("--repeats must be at least 5 (benchmarks/README.md, rule 2)")
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    return run_speed(args) if args.part == "speed" else run_scaling(args)


if __name__ == "__main__":
    main()
