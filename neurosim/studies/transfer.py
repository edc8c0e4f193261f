"""The transfer study (``neurosim transfer``): what carries over from a network pretrained on
MNIST to another image task, and from the ANNs to spiking networks.

1. Source: the shipped MNIST CNN (``models/mnist_cnn.pt``, ``python models/train.py
   mnist_cnn``).
2. Target (:mod:`neurosim.studies.transfer_tasks`): scikit-learn's digits upsampled to 28x28
   (``digits``) or Fashion-MNIST (``mnist-fashion``). With ``k`` labelled images per
   class (seeded draws) the CNN is (a) fine-tuned whole, (b) used as a frozen feature extractor
   with a new head, (c) trained from scratch with the same architecture; a new 10-way head in
   every case.
3. Every resulting ANN is converted (:func:`neurosim.convert`) and evaluated at several T, with
   its synaptic operations.

4. The brain-like baseline (``surrogate``): a spiking network trained directly on the same
   images with surrogate gradients (snnTorch ``snn.Leaky``, atan surrogate, BPTT over 8 steps),
   evaluated at the same T.

5. Brain-like learning (``stdp``): the Diehl & Cook layer learned by STDP on MNIST without
   labels, frozen, with a linear readout on its spike counts trained on the same labelled
   images (:mod:`neurosim.studies.transfer_stdp`).

6. Hybrid conversion (``hybrid``): the converted fine-tuned network is trained further as a
   spiking network at T = 4 with surrogate gradients (:mod:`neurosim.convert.hybrid`), on the
   same images; the table reports its accuracy at every T and how much came back at T = 4
   against the converted network it started from.

7. Which layers transfer (tasks with ``probe``): linear probes on every layer of the frozen
   source network, its ANN activations and its converted network's spike rates
   (:mod:`neurosim.studies.transfer_probe`).

Mean and standard deviation over seeds. The sentiment-text task lives in
:mod:`neurosim.studies.transfer_text`.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from neurosim import zoo
from neurosim.convert import convert
from neurosim.studies.transfer_tasks import get_task, task_data

STRATEGIES = ("finetune", "head", "scratch", "surrogate", "stdp", "hybrid")
SURROGATE_STEPS = 8  # time steps a surrogate-gradient SNN is trained with (BPTT)
HYBRID_STEPS = 4     # time steps of hybrid fine-tuning (converted SNN + surrogate gradients)
HYBRID_UPDATES = 60  # optimiser steps of hybrid fine-tuning (whatever the training-set size)
HYBRID_LR = 1e-4
def few_shot(y: torch.Tensor, shots: int | None, seed: int) -> torch.Tensor:
    """Indices of ``shots`` images per class (all when None), drawn with ``seed``."""
    if shots is None:
        return torch.arange(len(y))
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(y.numpy() == c), shots, replace=False)
             for c in range(10)]
    return torch.from_numpy(np.concatenate(picks))


def build_model(strategy: str, source: torch.nn.Module, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = copy.deepcopy(source) if strategy != "scratch" else zoo.build("mnist_cnn")
    head = model[-1]
    model[-1] = torch.nn.Linear(head.in_features, 10)  # a new head for the new task
    if strategy == "head":
        for param in model.parameters():
            param.requires_grad_(False)
        for param in model[-1].parameters():
            param.requires_grad_(True)
    return model


class SurrogateSNN(torch.nn.Module):
    """784-256-10 LIF network (snnTorch ``Leaky``, beta 0.9, atan surrogate gradient) driven
    by the image as a constant current; class scores are the output membrane summed over T."""

    def __init__(self, hidden: int = 256):
        super().__init__()
        import snntorch
        from snntorch import surrogate

        grad = surrogate.atan()
        self.fc1 = torch.nn.Linear(784, hidden)
        self.lif1 = snntorch.Leaky(beta=0.9, spike_grad=grad)
        self.fc2 = torch.nn.Linear(hidden, 10)
        self.lif2 = snntorch.Leaky(beta=0.9, spike_grad=grad, reset_mechanism="none")
        self.hidden_spikes = 0.0

    def forward(self, x: torch.Tensor, steps: int = SURROGATE_STEPS) -> torch.Tensor:
        current = self.fc1(x.flatten(1))  # the same in every step
        mem1 = torch.zeros_like(current)
        mem2 = torch.zeros(x.shape[0], 10)
        total = torch.zeros(x.shape[0], 10)
        spikes = 0.0
        for _ in range(steps):
            spk1, mem1 = self.lif1(current, mem1)
            _, mem2 = self.lif2(self.fc2(spk1), mem2)
            total = total + mem2
            spikes = spikes + spk1.detach().sum()
        self.hidden_spikes = float(spikes)
        return total / steps


def surrogate_baseline(x: torch.Tensor, y: torch.Tensor, x_test: torch.Tensor,
                       y_test: torch.Tensor, seed: int, epochs: int,
                       timesteps: tuple[int, ...]) -> dict[str, Any]:
    torch.manual_seed(seed)
    model = train(SurrogateSNN(), x, y, epochs, seed, frozen_features=False, lr=2e-3)
    accuracy, synops = {}, 0.0
    with torch.no_grad():
        for t in timesteps:
            accuracy[t] = float((model(x_test, t).argmax(1) == y_test).float().mean())
            synops = model.hidden_spikes * 10 / len(x_test)  # hidden spikes x fan-out
    return {"snn_accuracy": accuracy, "synops_per_sample": synops}


def train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int,
          frozen_features: bool, lr: float | None = None) -> torch.nn.Module:
    """Adam on cross-entropy, seeded minibatch order; returns the model in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    if lr is None:
        lr = 3e-3 if frozen_features else 1e-3
    opt = torch.optim.Adam(params, lr=lr)
    batch = min(64, len(x))
    for _ in range(epochs):
        # frozen features: BatchNorm keeps its source statistics (eval mode)
        model.train(not frozen_features)
        if frozen_features:
            model[-1].train()
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


def run_transfer(*, task: str = "digits", quick: bool = True,
                 seeds: tuple[int, ...] | None = None,
                 shots: tuple[int | None, ...] | None = None,
                 timesteps: tuple[int, ...] | None = None, epochs: int | None = None,
                 strategies: tuple[str, ...] = STRATEGIES, progress: bool = True,
                 backend: str = "cpu", stdp_layer: str | None = None,
                 data_dir: str | None = None, test_per_class: int | None = None,
                 min_steps: int = 300) -> dict[str, Any]:
    """Run the study on an image task; returns per-run rows and the mean/std table.
    ``min_steps``: the fewest optimiser steps of a training run (tests use fewer)."""
    spec = get_task(task)
    unknown = set(strategies) - set(STRATEGIES)
    if unknown or not strategies:
        raise ValueError(f"strategies must be among {STRATEGIES}, got {strategies!r}")
    cfg = dict(spec.quick if quick else spec.full)
    for key, value in (("seeds", seeds), ("shots", shots), ("timesteps", timesteps),
                       ("epochs", epochs), ("test_per_class", test_per_class)):
        if value is not None:
            cfg[key] = value
    cfg.update(task=spec.name, mode="quick" if quick else "full", min_steps=min_steps)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    source = zoo.load_pretrained("mnist_cnn")
    x_train, y_train, x_test, y_test = task_data(spec, cfg, data_dir)
    cfg.update(train_images=len(x_train), test_images=len(x_test))
    jobs = [(s, k, st) for s in cfg["seeds"] for k in cfg["shots"] for st in strategies]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="transfer", unit="run", leave=False)
    rows = []
    converted = {}  # (seed, shots) -> the converted fine-tuned network and its evaluation
    features = None  # the STDP layer's spike counts for every digit (computed once)
    start = time.time()
    for seed, k, strategy in jobs:
        idx = few_shot(y_train, k, seed)
        # equal optimisation budget: more epochs for tiny sets (a fixed number of steps)
        n_epochs = max(cfg["epochs"], int(np.ceil(min_steps / max(1, len(idx) // 64 + 1))))
        if k is None and "epochs_all" in cfg:  # the whole of a large training set
            n_epochs = cfg["epochs_all"]
        row = {"seed": seed, "shots": "all" if k is None else k, "strategy": strategy,
               "train_images": len(idx)}
        if strategy == "surrogate":
            result = surrogate_baseline(x_train[idx], y_train[idx], x_test, y_test, seed,
                                        n_epochs, tuple(cfg["timesteps"]))
            row.update(ann_accuracy=float("nan"), ann_macs_per_sample=float("nan"), **result)
        elif strategy == "stdp":
            from neurosim.studies import transfer_stdp

            if features is None:  # the training images some job uses, and the test set
                weights, theta, layer = transfer_stdp.load_layer(stdp_layer)
                used = np.unique(np.concatenate([_stdp_shots(y_train, kk, ss, cfg).numpy()
                                                 for ss, kk, st in jobs if st == "stdp"]))
                train_counts = np.zeros((len(x_train), weights.shape[1]), np.int32)
                train_counts[used] = transfer_stdp.stdp_features(
                    x_train[used].flatten(1).numpy(), weights, theta, progress=progress,
                    frame=spec.stdp_frame)
                features = (train_counts, transfer_stdp.stdp_features(
                    x_test.flatten(1).numpy(), weights, theta, progress=progress,
                    frame=spec.stdp_frame))
                cfg["stdp_layer"] = {"file": layer.name, "neurons": int(weights.shape[1])}
            idx = _stdp_shots(y_train, k, seed, cfg)
            row["train_images"] = len(idx)
            result = transfer_stdp.readout_accuracy(features[0][idx.numpy()],
                                                    y_train[idx].numpy(), features[1],
                                                    y_test.numpy(), seed)
            row.update(ann_accuracy=float("nan"), ann_macs_per_sample=float("nan"),
                       snn_accuracy={t: float("nan") for t in cfg["timesteps"]},
                       synops_per_sample=float("nan"), **result)
        elif strategy == "hybrid":
            if (seed, k) not in converted:  # hybrid without finetune in the strategies
                converted[(seed, k)] = _converted(build_model("finetune", source, seed), x_train,
                                                  y_train, idx, x_test, y_test, n_epochs, seed,
                                                  cfg, backend)
            snn, before = converted[(seed, k)]
            batches = int(np.ceil(len(idx) / 64))
            tuned, losses = snn.finetune(x_train[idx], y_train[idx], timesteps=HYBRID_STEPS,
                                         epochs=int(np.ceil(HYBRID_UPDATES / batches)),
                                         lr=HYBRID_LR, seed=seed)
            result = tuned.evaluate(x_test, y_test, timesteps=list(cfg["timesteps"]))
            row.update(ann_accuracy=float("nan"), ann_macs_per_sample=float("nan"),
                       snn_accuracy=result["snn_accuracy"],
                       synops_per_sample=result["synops_per_sample"],
                       converted_accuracy=before["snn_accuracy"],
                       source_ann_accuracy=before["ann_accuracy"], hybrid_losses=losses)
        else:
            snn, result = _converted(build_model(strategy, source, seed), x_train, y_train, idx,
                                     x_test, y_test, n_epochs, seed, cfg, backend,
                                     frozen=strategy == "head")
            if strategy == "finetune":
                converted[(seed, k)] = (snn, result)
            row.update({key: result[key] for key in ("ann_accuracy", "snn_accuracy",
                                                     "synops_per_sample", "agreement",
                                                     "ann_macs_per_sample")})
        rows.append(row)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    from neurosim.convert.options import reported_options

    study = {"config": {**cfg, "shots": ["all" if k is None else k for k in cfg["shots"]],
                        "strategies": list(strategies), "conversion": reported_options()},
             "rows": rows, "table": summarize(rows, cfg["timesteps"])}
    if spec.probe:
        study["probe"] = _probe(source, x_train, y_train, x_test, y_test, cfg, backend)
    study["seconds"] = time.time() - start
    return study


def _stdp_shots(y_train: torch.Tensor, k: int | None, seed: int, cfg: dict) -> torch.Tensor:
    """The labelled images of the ``stdp`` readout: ``few_shot``, except that "all" of a large
    training set is ``stdp_all_per_class`` images per class (each image is 350 ms of
    simulation: all 60,000 Fashion-MNIST images would take about 25 minutes)."""
    cap = cfg.get("stdp_all_per_class")
    return few_shot(y_train, cap if k is None and cap else k, seed)


def _probe(source: torch.nn.Module, x_train: torch.Tensor, y_train: torch.Tensor,
           x_test: torch.Tensor, y_test: torch.Tensor, cfg: dict, backend: str) -> dict:
    from neurosim.studies.transfer_probe import layer_probe, summarize_probe

    t = 32 if 32 in cfg["timesteps"] else max(cfg["timesteps"])
    runs = []
    for seed in cfg["seeds"]:
        idx = few_shot(y_train, cfg["probe_shots"], seed)
        runs.append(layer_probe(source, x_train[idx], y_train[idx], x_test, y_test,
                                timesteps=t, seed=seed, backend=backend))
    return {"shots": cfg["probe_shots"], "seeds": len(cfg["seeds"]), "timesteps": t,
            "runs": runs, "table": summarize_probe(runs)}


def _converted(model: torch.nn.Module, x_train: torch.Tensor, y_train: torch.Tensor,
               idx: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor, n_epochs: int,
               seed: int, cfg: dict, backend: str, frozen: bool = False) -> tuple:
    """Train the ANN on the chosen images, convert it, evaluate it: (snn, evaluation)."""
    model = train(model, x_train[idx], y_train[idx], n_epochs, seed, frozen_features=frozen)
    snn = convert(model, x_train[idx], seed=seed, backend=backend)
    return snn, snn.evaluate(x_test, y_test, timesteps=list(cfg["timesteps"]))


def summarize(rows: list[dict], timesteps: tuple[int, ...]) -> list[dict]:
    """Mean and standard deviation over seeds for every (strategy, shots)."""
    table = []
    keys = sorted({(r["strategy"], str(r["shots"])) for r in rows},
                  key=lambda k: (STRATEGIES.index(k[0]), k[1] == "all",
                                 int(k[1]) if k[1] != "all" else 0))
    for strategy, shots in keys:
        group = [r for r in rows if r["strategy"] == strategy and str(r["shots"]) == shots]
        ann = np.array([r["ann_accuracy"] for r in group])
        entry = {"strategy": strategy, "shots": shots, "runs": len(group),
                 "ann_mean": float(ann.mean()), "ann_std": float(ann.std())}
        for t in timesteps:
            snn = np.array([r["snn_accuracy"][t] for r in group])
            entry[f"snn_T{t}_mean"] = float(snn.mean())
            entry[f"snn_T{t}_std"] = float(snn.std())
        entry["synops_mean"] = float(np.mean([r["synops_per_sample"] for r in group]))
        if "agreement" in group[0]:  # converted ANNs: SNN predictions equal to the ANN's
            entry["agreement_max_t_mean"] = float(np.mean(
                [r["agreement"][max(timesteps)] for r in group]))
        if "stdp_accuracy" in group[0]:  # STDP features + linear readout
            stdp = np.array([r["stdp_accuracy"] for r in group])
            entry["stdp_mean"], entry["stdp_std"] = float(stdp.mean()), float(stdp.std())
            entry["spikes_mean"] = float(np.mean([r["spikes_per_image"] for r in group]))
        if "converted_accuracy" in group[0]:  # hybrid: the converted network it started from
            for t in timesteps:
                before = np.array([r["converted_accuracy"][t] for r in group])
                entry[f"converted_T{t}_mean"] = float(before.mean())
                entry[f"converted_T{t}_std"] = float(before.std())
            entry["source_ann_mean"] = float(np.mean([r["source_ann_accuracy"] for r in group]))
        table.append(entry)
    return table


def to_markdown(study: dict) -> str:
    steps = study["config"]["timesteps"]
    head = ("| strategy | shots/class | ANN % | " + " | ".join(f"SNN T={t} %" for t in steps)
            + " | agreement with ANN (max T) % | SynOps/image (max T) |")
    lines = [head, "|" + "---|" * (5 + len(steps))]
    for e in study["table"]:
        if "stdp_mean" in e:
            continue  # a table of its own below
        ann = "—" if np.isnan(e["ann_mean"]) else f"{100 * e['ann_mean']:.1f} ± " \
            f"{100 * e['ann_std']:.1f}"
        cells = [ann] + [
            f"{100 * e[f'snn_T{t}_mean']:.1f} ± {100 * e[f'snn_T{t}_std']:.1f}" for t in steps]
        agree = e.get("agreement_max_t_mean")
        agree = "—" if agree is None else f"{100 * agree:.1f}"
        lines.append(f"| {e['strategy']} | {e['shots']} | " + " | ".join(cells)
                     + f" | {agree} | {e['synops_mean']:.3g} |")
    stdp = [e for e in study["table"] if "stdp_mean" in e]
    if stdp:
        layer = study["config"].get("stdp_layer", {})
        shown = ("the digits in MNIST's framing" if get_task(study["config"].get(
            "task", "digits")).stdp_frame else "the images as they are")
        lines += ["", f"STDP features (Diehl & Cook layer of {layer.get('neurons', '?')} "
                  f"neurons learned on MNIST without labels, frozen; {shown}, 350 ms Poisson "
                  "presentations; linear readout on spike counts):",
                  "",
                  "| shots/class | accuracy % | spikes/image |", "|---|---|---|"]
        lines += [f"| {e['shots']} | {100 * e['stdp_mean']:.1f} ± {100 * e['stdp_std']:.1f} "
                  f"| {e['spikes_mean']:.1f} |" for e in stdp]
    hybrid = [e for e in study["table"] if "source_ann_mean" in e]
    if hybrid:
        t = min(steps, key=lambda s: abs(s - HYBRID_STEPS))
        lines += ["", f"Hybrid conversion (fine-tuned at T={HYBRID_STEPS} with surrogate "
                  f"gradients), accuracy at T={t}:", "",
                  "| shots/class | source ANN % | converted SNN % | hybrid SNN % | recovered |",
                  "|---|---|---|---|---|"]
        for e in hybrid:
            ann, before, after = (e["source_ann_mean"], e[f"converted_T{t}_mean"],
                                  e[f"snn_T{t}_mean"])
            gap = ann - before
            share = f"{100 * (after - before) / gap:.0f}% of the gap" if gap > 1e-9 else "—"
            lines.append(f"| {e['shots']} | {100 * ann:.1f} | {100 * before:.1f} ± "
                         f"{100 * e[f'converted_T{t}_std']:.1f} | {100 * after:.1f} ± "
                         f"{100 * e[f'snn_T{t}_std']:.1f} | {100 * (after - before):+.1f} "
                         f"points ({share}) |")
    if "probe" in study:
        from neurosim.studies.transfer_probe import probe_markdown

        lines += probe_markdown(study["probe"])
    return "\n".join(lines)


def write_report(study: dict, out_dir: str | Path) -> None:
    from neurosim import plot

    spec = get_task(study["config"].get("task", "digits"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "transfer.json").write_text(json.dumps(study, indent=2))
    (out / "transfer.md").write_text(f"# Transfer: {spec.title}\n\n" + to_markdown(study)
                                     + "\n")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    t_max = max(study["config"]["timesteps"])
    for strategy in STRATEGIES:
        entries = [e for e in study["table"] if e["strategy"] == strategy]
        if not entries:
            continue
        labels = [e["shots"] for e in entries]
        color = None
        if strategy == "stdp":  # spiking features + a linear readout: one line
            ax.plot(range(len(entries)), [100 * e["stdp_mean"] for e in entries], ls="-.",
                    marker="s", label="STDP features + readout")
            continue
        if strategy not in ("surrogate", "hybrid"):  # SNNs trained as SNNs have no ANN
            line = ax.errorbar(range(len(entries)), [100 * e["ann_mean"] for e in entries],
                               yerr=[100 * e["ann_std"] for e in entries], marker="o",
                               label=f"{strategy} (ANN)")
            color = line[0].get_color()
        t = t_max
        if strategy == "hybrid":  # shown at its low T, beside the network it started from
            t = min(study["config"]["timesteps"], key=lambda s: abs(s - HYBRID_STEPS))
            line = ax.plot(range(len(entries)), [100 * e[f"converted_T{t}_mean"]
                                                 for e in entries], ls=":", marker=".",
                           label=f"finetune converted (SNN, T={t})")
            color = line[0].get_color()
        ax.plot(range(len(entries)), [100 * e[f"snn_T{t}_mean"] for e in entries], ls="--",
                marker="x", color=color, label=f"{strategy} (SNN, T={t})")
        ax.set_xticks(range(len(entries)))
        ax.set_xticklabels(labels)
    ax.set_xlabel("labelled images per class")
    ax.set_ylabel(f"{spec.target} test accuracy (%)")
    ax.legend(fontsize="small")
    ax.set_title("Transfer from MNIST: ANNs, converted SNNs, surrogate and hybrid SNNs")
    fig.savefig(out / "transfer.png", dpi=120)
    plot.plt.close(fig)
