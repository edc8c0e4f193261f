"""Bias correction after conversion: move each layer's mean spike output onto the ANN's.

A converted network's rates are biased estimates of the ANN's activations at small T: the
residual membrane potential, inputs that arrive late from deep layers and the clipping at one
spike per step shift each channel's mean, and the shifts add up through deep (residual)
networks. Li et al. (2021, "A free lunch from ANN: towards efficient, accurate spiking neural
networks calibration", ICML) correct them layer by layer with calibration data: for each neuron
layer, in order, the mean over calibration inputs and positions of (the ANN activation, clipped
to the layer's threshold, minus the SNN's mean spike value per neuron after ``timesteps``
steps) is added, channel by channel, to the bias of the operation feeding the layer, so that
the next layer is corrected on top of the corrected ones. Only the biases change (one
simulation of the calibration inputs per neuron layer); weights and thresholds stay.

The bias corrected is the one of the linear operation that feeds the ReLU: a linear or
convolution's bias (created at 0 when the layer has none), a BatchNorm's shift, or, through a
residual addition, the one on the addition's first input (its main branch).
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

import numpy as np
import torch

from neurosim.convert.ann import ann_forward
from neurosim.convert.coding import as_inputs
from neurosim.convert.ir import Graph, Node
from neurosim.convert.model import ConvertedNetwork

_Net = TypeVar("_Net", bound=ConvertedNetwork)


def _bias_slot(graph: Graph, relu: Node) -> tuple[Node, str] | None:
    """The node and parameter name that add a per-channel constant to ``relu``'s input."""
    node = graph.node(relu.inputs[0])
    while node.op == "add":
        node = graph.node(node.inputs[0])
    if node.op == "affine":
        return node, "shift"
    if node.op in ("linear", "conv"):
        if node.params.get("bias") is None:
            node.params["bias"] = np.zeros(node.params["weight"].shape[0])
        return node, "bias"
    return None


def _channel_mean(values: torch.Tensor) -> np.ndarray:
    """Mean over samples and positions, one value per channel (dimension 1)."""
    values = torch.as_tensor(values, dtype=torch.float64)
    dims = [0] + list(range(2, values.dim()))
    return values.mean(dim=dims).numpy()


def correct_biases(net: _Net, x: Any, timesteps: int = 32, *,
                   batch_size: int | None = None) -> tuple[_Net, list[dict[str, Any]]]:
    """A copy of ``net`` with corrected biases, and per layer the mean absolute shift before
    correction (``before``, in units of the ANN activation) and the correction applied.

    ``x``: calibration inputs (a few hundred; never the test set). ``net`` is not changed.
    """
    if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)) or \
            timesteps <= 0:
        raise ValueError(f"timesteps must be a whole number > 0, got {timesteps!r}")
    # token ids stay ids for the simulations; the ANN pass takes their encoding
    encoded = as_inputs(x, net.input_shape, net.graph.embedding)
    if net.graph.embedding is None:
        x = encoded
    graph = copy.deepcopy(net.graph)
    out = net.with_graph(graph)
    layers = list(out.neuron_layers)
    with torch.no_grad():
        _, ann = ann_forward(net.graph, encoded.to(torch.float32), record=set(layers))
    report = []
    for name in layers:
        slot = _bias_slot(graph, graph.node(name))
        if slot is None:
            continue
        node, key = slot
        threshold = out.scale_view(name, ann[name].dim()).to(torch.float64)
        target = _channel_mean(torch.minimum(ann[name].to(torch.float64), threshold))
        spikes = out.simulate(x, int(timesteps), batch_size=batch_size, record=(name,))
        delta = target - _channel_mean(spikes["rates"][name])
        node.params[key] = np.asarray(node.params[key], np.float64) + delta
        node.params.pop("_tensors", None)  # cached tensors of the old parameters
        report.append({"layer": name, "parameter": f"{node.name}.{key}",
                       "mean_abs_shift": float(np.mean(np.abs(delta)))})
    return out, report
