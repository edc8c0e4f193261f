"""Which layers' features transfer: linear probes on the frozen source network, ANN and SNN.

The network pretrained on MNIST is not trained further. It is converted (calibrated on the
target task's labelled images), and for every ReLU layer two feature sets are taken for the
labelled training images and the test images: the ANN's activations, and the converted
network's mean spike value per neuron (rate x threshold) after ``timesteps`` steps, the
SNN's estimate of the same activations. Convolutional maps are average-pooled to at most 7x7
per channel (the same for both). A linear probe, a multinomial logistic regression on
standardised features (``C = 1``, fixed in advance), is trained on each set and scored on the
test images; the raw pixels are the baseline row. A feature that carries the target classes
in the ANN but not in the SNN is one the rate code loses.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from neurosim.convert import convert
from neurosim.convert.ann import ann_forward

PROBE_C = 1.0
POOLED_SIDE = 7


def pooled(features: torch.Tensor) -> np.ndarray:
    """(N, ...) features flattened; maps (N, C, H, W) averaged down to at most 7x7 first."""
    if features.dim() == 4 and max(features.shape[-2:]) > POOLED_SIDE:
        features = F.adaptive_avg_pool2d(features, POOLED_SIDE)
    return features.reshape(len(features), -1).to(torch.float64).numpy()


def probe_accuracy(train: np.ndarray, y_train: np.ndarray, test: np.ndarray,
                   y_test: np.ndarray, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=PROBE_C, max_iter=3000,
                                                               random_state=seed))
    model.fit(train, np.asarray(y_train))
    return float(np.mean(model.predict(test) == np.asarray(y_test)))


def layer_probe(source: torch.nn.Module, x_train: torch.Tensor, y_train: torch.Tensor,
                x_test: torch.Tensor, y_test: torch.Tensor, *, timesteps: int, seed: int,
                backend: str = "cpu") -> list[dict[str, Any]]:
    """One row per layer: ``layer``, ``features`` (probe input size), ``ann`` and ``snn``
    probe accuracies, ``rate`` (the SNN layer's mean spikes per neuron per step)."""
    snn = convert(source, x_train, seed=seed, backend=backend)
    names = list(snn.neuron_layers)
    ann_features = {}
    with torch.no_grad():
        for part, x in (("train", x_train), ("test", x_test)):
            _, kept = ann_forward(snn.graph, x.to(torch.float32), record=set(names))
            ann_features[part] = kept
    snn_features = {part: snn.simulate(x, timesteps, record=tuple(names))
                    for part, x in (("train", x_train), ("test", x_test))}
    pixels = probe_accuracy(pooled(x_train), y_train, pooled(x_test), y_test, seed)
    rows = [{"layer": "input (pixels)", "features": int(math.prod(x_train.shape[1:])),
             "ann": pixels, "snn": pixels, "rate": float("nan")}]
    for name in names:
        node = snn.graph.node(name)
        ann_tr, ann_te = (pooled(ann_features[p][name]) for p in ("train", "test"))
        snn_tr, snn_te = (pooled(torch.as_tensor(snn_features[p]["rates"][name]))
                          for p in ("train", "test"))
        spikes = snn_features["test"]["spikes"].get(name, 0.0)
        rate = spikes / (math.prod(node.shape) * len(x_test) * timesteps)
        rows.append({"layer": f"{name} ({node.module or node.op})",
                     "features": int(ann_tr.shape[1]),
                     "ann": probe_accuracy(ann_tr, y_train, ann_te, y_test, seed),
                     "snn": probe_accuracy(snn_tr, y_train, snn_te, y_test, seed),
                     "rate": float(rate)})
    return rows


def summarize_probe(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds, layer by layer."""
    table = []
    for i, first in enumerate(runs[0]):
        ann = np.array([run[i]["ann"] for run in runs])
        snn = np.array([run[i]["snn"] for run in runs])
        table.append({"layer": first["layer"], "features": first["features"],
                      "ann_mean": float(ann.mean()), "ann_std": float(ann.std()),
                      "snn_mean": float(snn.mean()), "snn_std": float(snn.std()),
                      "rate": float(np.mean([run[i]["rate"] for run in runs]))})
    return table


def probe_markdown(probe: dict[str, Any]) -> list[str]:
    table = probe["table"]
    lines = ["", f"Which layers transfer: linear probes on the frozen MNIST network's features "
             f"({probe['shots']} labelled images per class, {probe['seeds']} seeds; SNN: mean "
             f"spike value per neuron at T={probe['timesteps']}):", "",
             "| layer | features | ANN probe % | SNN probe % | SNN spikes/neuron/step |",
             "|---|---|---|---|---|"]
    for e in table:
        rate = "—" if np.isnan(e["rate"]) else f"{e['rate']:.3f}"
        lines.append(f"| {e['layer']} | {e['features']} | {100 * e['ann_mean']:.1f} ± "
                     f"{100 * e['ann_std']:.1f} | {100 * e['snn_mean']:.1f} ± "
                     f"{100 * e['snn_std']:.1f} | {rate} |")
    return lines
