"""The main job (``neurosim demo`` / ``make demo``): neuron models on the embedded digits data.

Prints a short report and writes figures and ``demo.json`` under ``out_dir``.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from neurosim import neurons as nn
from neurosim.datasets import load


def _say(quiet: bool, *lines: str) -> None:
    if not quiet:
        for line in lines:
            print(line)


def mcculloch_pitts_section(backend: str, quiet: bool) -> dict[str, Any]:
    tables = nn.gate_truth_tables(backend=backend)
    _say(quiet, "== McCulloch-Pitts units (synchronous, absolute inhibition)")
    for name, rows in tables.items():
        _say(quiet, f"  {name:<5}" + "  ".join(f"{''.join(map(str, i))}->{o}" for i, o in rows))
    latch = list(nn.mcculloch_pitts.iter_latch_demo())
    _say(quiet, "  SR latch  set:   " + "".join(str(s) for s, _, _ in latch),
         "            reset: " + "".join(str(r) for _, r, _ in latch),
         "            q:     " + "".join(str(q) for _, _, q in latch))
    return {"truth_tables": {k: [[list(i), o] for i, o in v] for k, v in tables.items()},
            "latch_q": [q for _, _, q in latch]}


#: Epochs of the demo's perceptrons, fixed in advance (never chosen on the test set).
PERCEPTRON_EPOCHS = 10


def _median_fit_s(make, x, y, repeats: int = 5) -> tuple[float, Any]:
    """Median wall time of ``repeats`` fits after one untimed warm-up (compilation excluded)."""
    make().fit(x, y)
    times = []
    for _ in range(repeats):
        model = make()
        t0 = time.perf_counter()
        model.fit(x, y)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), model


def perceptron_section(backend: str, seed: int, quiet: bool) -> dict[str, Any]:
    """The one-vs-rest perceptron against scikit-learn's, the same algorithm on both sides:
    learning rate 1, an epoch-shuffled order, a fixed number of epochs (no stopping rule:
    ``tol=None`` there, ``stop_on_convergence=False`` here), one thread each (``n_jobs=1``;
    Numba limited to 1 thread), median of 5 fits after a warm-up. See
    ``benchmarks/bench_perceptron.py`` for the full comparison and what still differs."""
    import numba
    from sklearn.linear_model import Perceptron as SkPerceptron

    data = load("digits", seed=seed)
    epochs = PERCEPTRON_EPOCHS
    old_threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk_s, sk = _median_fit_s(
                lambda: SkPerceptron(max_iter=epochs, tol=None, eta0=1.0, penalty=None,
                                     n_jobs=1, random_state=seed), data.x_train, data.y_train)
            ours_s, ours = _median_fit_s(
                lambda: nn.Perceptron(max_epochs=epochs, seed=seed, backend=backend,
                                      stop_on_convergence=False), data.x_train, data.y_train)
            xor_x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
            xor_y = np.array([0, 1, 1, 0])
            single = nn.Perceptron(max_epochs=100, seed=seed, backend=backend).fit(xor_x, xor_y)
    finally:
        numba.set_num_threads(old_threads)
    two = nn.TwoLayerPerceptron(n_hidden=4, lr=2.0, epochs=6000, seed=seed).fit(xor_x, xor_y)
    result = {
        "digits_test_accuracy": ours.score(data.x_test, data.y_test),
        "sklearn_test_accuracy": sk.score(data.x_test, data.y_test),
        "epochs": epochs,
        "threads": 1,
        "neurosim_fit_s": ours_s,
        "sklearn_fit_s": sk_s,
        "xor_single_layer_converged": single.converged_,
        "xor_single_layer_accuracy": single.score(xor_x, xor_y),
        "xor_two_layer_accuracy": two.score(xor_x, xor_y),
    }
    _say(quiet, "== Perceptron (Rosenblatt rule, one-vs-rest) on the 8x8 digits set",
         f"  test accuracy {result['digits_test_accuracy']:.3f}  (scikit-learn Perceptron "
         f"{result['sklearn_test_accuracy']:.3f}; both {epochs} epochs fixed in advance, "
         f"1 thread each); fit, median of 5: {ours_s * 1e3:.1f} ms vs {sk_s * 1e3:.1f} ms",
         f"  XOR, one layer: converged={single.converged_}, accuracy "
         f"{result['xor_single_layer_accuracy']:.2f} (not linearly separable)",
         f"  XOR, two layers + backprop: accuracy {result['xor_two_layer_accuracy']:.2f}")
    return result


def lif_section(out_dir: Path, backend: str, seed: int, quiet: bool) -> dict[str, Any]:
    from neurosim import plot

    dt_s = 1e-4
    params = nn.LIFParams(tau_m_s=0.02, v_rest=-70.0, v_reset=-70.0, v_th=-54.0, r_m=10.0,
                          t_ref_s=0.002)
    currents = np.array([1.5, 2.0, 3.0])  # nA; rheobase is 1.6 nA
    steps = 2000
    trace = nn.lif_run(np.tile(currents, (steps, 1)), params, dt_s, record_v=True,
                       backend=backend)
    fig = plot.membrane_traces(trace.v, dt_s, v_th=params.v_th, v_reset=params.v_reset,
                               spikes=trace.spikes, unit="mV",
                               labels=[f"I = {c} nA" for c in currents],
                               title="LIF neuron, constant input currents")
    fig.savefig(out_dir / "lif_membrane.png", dpi=120)
    isi_sim_s = [float(np.diff(np.flatnonzero(trace.spikes[:, k])).mean() * dt_s) if
               trace.spikes[:, k].sum() > 1 else float("inf") for k in range(3)]
    isi_theory_s = [nn.lif_isi_theory(params, c) for c in currents]

    rng = np.random.default_rng(seed)
    n, steps = 200, 5000
    drive = rng.normal(1.7, 0.15, (steps, n)) + rng.normal(0, 1.0, (steps, n))  # noisy input
    pop = nn.lif_run(drive, params, dt_s, backend=backend)
    fig = plot.raster(pop.spikes, dt_s, title=f"{n} LIF neurons, noisy input current")
    fig.savefig(out_dir / "lif_raster.png", dpi=120)
    rate_hz = float(pop.spikes.mean() / dt_s)
    _say(quiet, "== LIF neurons (exact integration, dt = 0.1 ms)")
    for c, sim, th in zip(currents, isi_sim_s, isi_theory_s):
        shown = "no spikes" if np.isinf(th) else f"ISI {sim * 1e3:.2f} ms (theory {th * 1e3:.2f})"
        _say(quiet, f"  I = {c} nA: {shown}")
    _say(quiet, f"  population of {n}: mean rate {rate_hz:.1f} Hz over {steps * dt_s:.1f} s")
    return {"isi_s": isi_sim_s, "isi_theory_s": isi_theory_s, "population_rate_hz": rate_hz}


def cuba_section(out_dir: Path, backend: str, seed: int, quiet: bool,
                 compare_brian2: bool = True) -> dict[str, Any]:
    from neurosim import plot
    from neurosim.network.cuba import build_cuba, mean_rate_hz
    from neurosim.studies.peer_benchmarks import brian2_cuba, neurosim_cuba

    n = 4000
    net, mons = build_cuba(n, seed=seed, backend=backend)
    net.run(1.0, progress=not quiet)
    steps = net.steps_done
    exc_raster = mons["spikes_exc"].as_raster(steps)
    plot.raster(exc_raster[:, :400], net.dt_s,
                title="CUBA network: 400 of 3,200 excitatory neurons").savefig(
        out_dir / "cuba_raster.png", dpi=120)
    plot.population_rate(exc_raster, net.dt_s, title="CUBA excitatory population rate").savefig(
        out_dir / "cuba_rate.png", dpi=120)
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # 1 thread against Brian2's 1 thread, both float32, median of 5
    try:
        timed = neurosim_cuba(n, 1.0, seed=seed, backend=backend, dtype=np.float32, repeats=5)
    finally:
        numba.set_num_threads(threads)
    result = {"neurons": n, "synapses": net.n_synapses, "rate_hz": mean_rate_hz(mons),
              "neurosim_s": timed["neurosim_s"]}
    _say(quiet, "== CUBA network (Vogels & Abbott 2005), 1 s at dt = 0.1 ms",
         f"  {n:,} LIF neurons, {net.n_synapses:,} synapses: mean rate "
         f"{result['rate_hz']:.2f} Hz, simulated in {timed['neurosim_s'] * 1e3:.0f} ms")
    if compare_brian2:
        try:
            theirs = brian2_cuba(n, 1.0, seed=seed, threads=1, target="cpp_standalone",
                                 dtype=np.float32, repeats=5)
            target = ("its CUBA example, cpp_standalone, compile time excluded; both float32, "
                      "1 thread, median of 5 runs")
        except Exception:  # no C++ compiler: Brian2's numpy target still compares the rates
            theirs = brian2_cuba(n, 1.0, seed=seed, target="numpy")
            target = "numpy target"
        result.update(brian2_rate_hz=theirs["brian2_rate_hz"], brian2_s=theirs["brian2_s"],
                      brian2_target=target, speedup=theirs["brian2_s"] / timed["neurosim_s"])
        _say(quiet, f"  Brian2 ({target}): rate {theirs['brian2_rate_hz']:.2f} Hz, "
                    f"{theirs['brian2_s'] * 1e3:.0f} ms -> neurosim {result['speedup']:.1f}x "
                    "faster")
    return result


def conversion_section(out_dir: Path, backend: str, seed: int, quiet: bool) -> dict[str, Any]:
    import torch

    from neurosim import plot, zoo
    from neurosim.convert import convert

    data = load("digits", flat=False, seed=0)  # the split the shipped model was trained on
    model = zoo.load_pretrained("digits_cnn")
    snn = convert(model, torch.from_numpy(data.x_train), backend=backend, seed=seed)
    timesteps = [4, 8, 16, 32, 64]
    result = snn.evaluate(data.x_test, data.y_test, timesteps)
    plot.accuracy_vs_timesteps(result["snn_accuracy"], result["ann_accuracy"],
                               title="digits CNN converted to IF neurons").savefig(
        out_dir / "conversion_accuracy.png", dpi=120)
    plot.layer_rates(result["firing_rates"], title="digits CNN: firing rate per layer").savefig(
        out_dir / "conversion_rates.png", dpi=120)
    _say(quiet, "== ANN -> SNN: the bundled digits CNN (BatchNorm, max-pool) as IF neurons",
         f"  ANN test accuracy {100 * result['ann_accuracy']:.2f}% "
         f"({result['samples']} images)",
         "  T      " + "".join(f"{t:>8}" for t in timesteps),
         "  SNN %  " + "".join(f"{100 * result['snn_accuracy'][t]:8.2f}" for t in timesteps),
         "  agree %" + "".join(f"{100 * result['agreement'][t]:8.2f}" for t in timesteps),
         f"  SynOps/image at T={timesteps[-1]}: {result['synops_per_sample']:.3g} "
         f"(+{result['snn_macs_per_sample']:.3g} input MACs) vs ANN MACs "
         f"{result['ann_macs_per_sample']:.3g}")
    return {k: result[k] for k in ("ann_accuracy", "snn_accuracy", "agreement", "firing_rates",
                                   "synops_per_sample", "ann_macs_per_sample")}


def transfer_section(out_dir: Path, quiet: bool) -> dict[str, Any]:
    """A one-seed miniature of ``neurosim transfer`` (the full quick mode takes ~4 minutes):
    T = 4, where hybrid fine-tuning shows, and T = 32."""
    from neurosim.studies.transfer import run_transfer, to_markdown, write_report

    study = run_transfer(seeds=(0,), shots=(1, None), timesteps=(4, 32), progress=not quiet)
    write_report(study, out_dir / "transfer")
    table = to_markdown(study)
    _say(quiet, "== Transfer MNIST CNN -> digits (1 seed; `neurosim transfer` runs 3 seeds)",
         *("  " + line for line in table.splitlines()))
    return {"table": study["table"], "markdown": table}


def write_report(out_dir: Path, results: dict[str, Any]) -> Path:
    """``report.md``: every section's numbers with its figures embedded."""
    mp = results["mcculloch_pitts"]["truth_tables"]
    per = results["perceptron"]
    lif = results["lif"]
    cuba = results["cuba"]
    conv = results["conversion"]
    timesteps = sorted(conv["snn_accuracy"])
    lines = ["# neurosim demo report", "", "## McCulloch-Pitts units", "",
             "| gate | truth table (inputs -> output) |", "|---|---|"]
    lines += [f"| {name} | " + ", ".join(f"{''.join(map(str, i))}->{o}" for i, o in rows) + " |"
              for name, rows in mp.items()]
    lines += ["", "## Perceptron on the 8x8 digits", "",
              f"Test accuracy {100 * per['digits_test_accuracy']:.1f}% (scikit-learn "
              f"{100 * per['sklearn_test_accuracy']:.1f}%, same {per['epochs']} epochs). XOR: "
              f"one layer {100 * per['xor_single_layer_accuracy']:.0f}%, two layers with "
              f"backpropagation {100 * per['xor_two_layer_accuracy']:.0f}%.", "",
              "## LIF neurons", "",
              "| input | simulated ISI (ms) | theory (ms) |", "|---|---|---|"]
    for current, sim, th in zip((1.5, 2.0, 3.0), lif["isi_s"], lif["isi_theory_s"]):
        cells = ("no spikes", "no spikes (R I <= v_th)") if th == float("inf") else (
            f"{sim * 1e3:.2f}", f"{th * 1e3:.2f}")
        lines.append(f"| {current} nA | {cells[0]} | {cells[1]} |")
    lines += ["", "![membrane traces](lif_membrane.png)", "", "![raster](lif_raster.png)", "",
              "## CUBA network", "",
              f"{cuba['neurons']:,} neurons, {cuba['synapses']:,} synapses, mean rate "
              f"{cuba['rate_hz']:.2f} Hz, 1 s simulated in {cuba['neurosim_s'] * 1e3:.0f} ms."]
    if "brian2_s" in cuba:
        lines.append(f"Brian2 ({cuba['brian2_target']}): {cuba['brian2_rate_hz']:.2f} Hz in "
                     f"{cuba['brian2_s'] * 1e3:.0f} ms: neurosim {cuba['speedup']:.1f}x faster.")
    lines += ["", "![CUBA raster](cuba_raster.png)", "", "![CUBA rate](cuba_rate.png)", "",
              "## ANN -> SNN: digits CNN", "",
              "| T | " + " | ".join(str(t) for t in timesteps) + " |",
              "|---|" + "---|" * len(timesteps),
              "| SNN accuracy % | " + " | ".join(f"{100 * conv['snn_accuracy'][t]:.2f}"
                                                for t in timesteps) + " |",
              "| agreement with ANN % | " + " | ".join(f"{100 * conv['agreement'][t]:.2f}"
                                                      for t in timesteps) + " |", "",
              f"ANN accuracy {100 * conv['ann_accuracy']:.2f}%.", "",
              "![accuracy vs T](conversion_accuracy.png)", "",
              "![firing rates](conversion_rates.png)", ""]
    if "transfer" in results:
        lines += ["## Transfer: MNIST CNN -> digits (one seed)", "",
                  results["transfer"]["markdown"], "", "![transfer](transfer/transfer.png)", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def run_demo(out_dir: str | Path = "out", *, backend: str = "cpu", seed: int = 0,
             quiet: bool = False, transfer: bool = True) -> dict[str, Any]:
    """Run every section, write figures and ``demo.json`` to ``out_dir``, return the results."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {
        "mcculloch_pitts": mcculloch_pitts_section(backend, quiet),
        "perceptron": perceptron_section(backend, seed, quiet),
        "lif": lif_section(out_dir, backend, seed, quiet),
        "cuba": cuba_section(out_dir, backend, seed, quiet),
        "conversion": conversion_section(out_dir, backend, seed, quiet),
    }
    if transfer:
        results["transfer"] = transfer_section(out_dir, quiet)
    (out_dir / "demo.json").write_text(json.dumps(results, indent=2, default=float))
    report = write_report(out_dir, results)
    _say(quiet, f"Report with every figure: {report}; numbers in {out_dir}/demo.json")
    return results
