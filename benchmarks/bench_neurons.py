"""Neuron-kernel throughput, measured side by side in one run on this machine.

1. LIF neuron updates per second for 1e3..1e7 neurons: neurosim's CPU kernel (public
   ``lif_run``, validation included, float32) vs a vectorised NumPy loop vs snnTorch's
   ``snn.Leaky`` on the same input currents (no refractoriness, reset to zero, float32).
2. Perceptron training on the digits set vs ``sklearn.linear_model.Perceptron``: throughput
   (samples x epochs per second) at the same number of epochs, and the time to reach
   scikit-learn's test accuracy.

Writes ``benchmarks/results/neurons.json`` and ``benchmarks/results/lif_throughput.png``.
Run: ``.venv/bin/python benchmarks/bench_neurons.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
import warnings
from pathlib import Path

import numba
import numpy as np
import torch

import neurosim as ns
from neurosim.datasets import load

RESULTS = Path(__file__).parent / "results"
DT = 1e-4
PARAMS = ns.LIFParams(tau_m_s=0.02, v_th=1.0, v_reset=0.0, r_m=1.0)


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def numpy_lif(currents: np.ndarray) -> int:
    decay = np.float32(math.exp(-DT / PARAMS.tau_m_s))
    v = np.zeros(currents.shape[1], np.float32)
    spikes = np.empty(currents.shape, bool)
    for t in range(len(currents)):
        v_inf = currents[t]  # v_rest = 0, r_m = 1
        v = v_inf + (v - v_inf) * decay
        fired = v > PARAMS.v_th
        v[fired] = PARAMS.v_reset
        spikes[t] = fired
    return int(spikes.sum())


def snntorch_lif(currents: torch.Tensor) -> int:
    import snntorch as snn

    decay = math.exp(-DT / PARAMS.tau_m_s)
    neuron = snn.Leaky(beta=decay, threshold=PARAMS.v_th, reset_mechanism="zero")
    mem = torch.zeros(currents.shape[1])
    total = 0
    with torch.no_grad():
        for t in range(len(currents)):
            spk, mem = neuron(currents[t] * (1 - decay), mem)  # same v_inf = I as above
            total += int(spk.sum()) if t == len(currents) - 1 else 0
    return total


def bench_lif(sizes: list[int], budget: float, repeats: int) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        steps = int(min(2000, max(10, budget / n)))
        currents = rng.uniform(0.0, 2.5, (steps, n)).astype(np.float32)
        ns.lif_run(currents[:2, :16], PARAMS, DT, dtype=np.float32)  # compile
        ours_s = best_of(lambda c=currents: ns.lif_run(c, PARAMS, DT, dtype=np.float32),
                         repeats)
        spikes_ours = int(ns.lif_run(currents, PARAMS, DT, dtype=np.float32).spikes.sum())
        numpy_s = best_of(lambda c=currents: numpy_lif(c), repeats)
        torch_currents = torch.from_numpy(currents)
        snn_s = best_of(lambda c=torch_currents: snntorch_lif(c), repeats)
        updates = n * steps
        row = {
            "neurons": n, "steps": steps,
            "neurosim_s": ours_s, "numpy_s": numpy_s, "snntorch_s": snn_s,
            "neurosim_updates_per_s": updates / ours_s,
            "numpy_updates_per_s": updates / numpy_s,
            "snntorch_updates_per_s": updates / snn_s,
            "speedup_vs_snntorch": snn_s / ours_s,
            "speedup_vs_numpy": numpy_s / ours_s,
            "neurosim_spikes": spikes_ours, "numpy_spikes": numpy_lif(currents),
        }
        rows.append(row)
        print(f"LIF n={n:>9,} T={steps:>5}: neurosim {row['neurosim_updates_per_s']:.3g}/s, "
              f"numpy {row['numpy_updates_per_s']:.3g}/s, snntorch "
              f"{row['snntorch_updates_per_s']:.3g}/s -> {row['speedup_vs_snntorch']:.1f}x "
              f"snnTorch, {row['speedup_vs_numpy']:.1f}x NumPy", flush=True)
    return rows


def bench_perceptron(seeds: int, repeats: int) -> dict:
    from sklearn.linear_model import Perceptron as SkPerceptron

    data = load("digits")
    n_train = len(data.x_train)
    warnings.simplefilter("ignore")
    ns.Perceptron(max_epochs=1).fit(data.x_train[:20], data.y_train[:20])  # compile
    sk_rows, same_rows = [], []
    for seed in range(seeds):
        sk = SkPerceptron(random_state=seed).fit(data.x_train, data.y_train)
        sk_s = best_of(lambda s=seed: SkPerceptron(random_state=s).fit(data.x_train,
                                                                       data.y_train), repeats)
        sk_rows.append({"seed": seed, "epochs": int(sk.n_iter_), "s": sk_s,
                        "accuracy": sk.score(data.x_test, data.y_test)})
        ours = ns.Perceptron(max_epochs=sk.n_iter_, seed=seed)
        ours_s = best_of(lambda m=ours: m.fit(data.x_train, data.y_train), repeats)
        same_rows.append({"seed": seed, "epochs": int(sk.n_iter_), "s": ours_s,
                          "accuracy": ours.score(data.x_test, data.y_test)})
    sk_acc = float(np.mean([r["accuracy"] for r in sk_rows]))
    # the fewest epochs at which the averaged perceptron matches scikit-learn's mean accuracy
    for epochs in range(1, 51):
        models = [ns.Perceptron(max_epochs=epochs, seed=s, average=True) for s in range(seeds)]
        accs = [m.fit(data.x_train, data.y_train).score(data.x_test, data.y_test)
                for m in models]
        if np.mean(accs) >= sk_acc:
            break
    avg_s = [best_of(lambda m=m: m.fit(data.x_train, data.y_train), repeats) for m in models]

    def throughput(rows):
        return float(np.mean([n_train * r["epochs"] / r["s"] for r in rows]))

    result = {
        "train_samples": n_train,
        "sklearn": {"accuracy": sk_acc, "fit_s": float(np.mean([r["s"] for r in sk_rows])),
                    "epochs": [r["epochs"] for r in sk_rows],
                    "samples_epochs_per_s": throughput(sk_rows)},
        "neurosim_same_epochs": {
            "accuracy": float(np.mean([r["accuracy"] for r in same_rows])),
            "fit_s": float(np.mean([r["s"] for r in same_rows])),
            "samples_epochs_per_s": throughput(same_rows)},
        "neurosim_averaged_to_equal_accuracy": {
            "epochs": epochs, "accuracy": float(np.mean(accs)),
            "fit_s": float(np.mean(avg_s))},
    }
    result["throughput_ratio_same_epochs"] = (result["neurosim_same_epochs"]
                                              ["samples_epochs_per_s"] /
                                              result["sklearn"]["samples_epochs_per_s"])
    result["time_to_equal_accuracy_ratio"] = (result["sklearn"]["fit_s"] /
                                              result["neurosim_averaged_to_equal_accuracy"]
                                              ["fit_s"])
    print(f"Perceptron (digits, {seeds} seeds): scikit-learn {sk_acc:.3f} in "
          f"{result['sklearn']['fit_s'] * 1e3:.1f} ms; neurosim same epochs "
          f"{result['neurosim_same_epochs']['accuracy']:.3f}, throughput "
          f"{result['throughput_ratio_same_epochs']:.1f}x; averaged, {epochs} epochs: "
          f"{np.mean(accs):.3f} in {np.mean(avg_s) * 1e3:.2f} ms -> "
          f"{result['time_to_equal_accuracy_ratio']:.1f}x faster to equal accuracy", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    args = parser.parse_args()
    torch.set_num_threads(numba.get_num_threads())
    sizes = [1_000, 10_000, 100_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000,
                                                          10_000_000]
    repeats = 1 if args.quick else 3
    results = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "threads": numba.get_num_threads(), "torch_threads": torch.get_num_threads()},
        "versions": {"neurosim": ns.__version__, "numba": numba.__version__,
                     "numpy": np.__version__, "torch": torch.__version__},
        "lif": bench_lif(sizes, budget=5e7 if args.quick else 1e8, repeats=repeats),
        "perceptron": bench_perceptron(seeds=3 if args.quick else 5, repeats=repeats),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "neurons_quick" if args.quick else "neurons"
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2))
    from neurosim import plot

    lif = results["lif"]
    fig = plot.scaling([r["neurons"] for r in lif], {
        "neurosim (Numba CPU)": [r["neurosim_updates_per_s"] for r in lif],
        "NumPy loop": [r["numpy_updates_per_s"] for r in lif],
        "snnTorch snn.Leaky": [r["snntorch_updates_per_s"] for r in lif],
    }, ylabel="neuron updates per second", title="LIF throughput, float32, "
               f"{results['machine']['threads']} threads")
    fig.savefig(RESULTS / f"lif_throughput{'_quick' if args.quick else ''}.png", dpi=120)
    print(f"results written to {RESULTS}/{name}.json")


if __name__ == "__main__":
    main()
