"""What a converted network costs: synaptic events (SynOps) of the spiking network, MACs of the
ANN, and the energy both imply.

Connections are counted by running each op with every nonzero weight set to one (pools turned
into sum-pools) on a tensor of ones and taking the gradient of the summed output: the number of
synapses each input element drives.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from neurosim.convert.executor import run_graph
from neurosim.convert.ir import Graph, Node
from neurosim.convert.ops import apply_linear, tensor_params

#: Energy per operation assumed by :func:`energy` (Horowitz, ISSCC 2014, 45 nm): a 32-bit
#: floating-point multiply-accumulate, and a 32-bit floating-point addition (the accumulate a
#: synaptic event costs).
ENERGY_MAC_PJ = 4.6
ENERGY_AC_PJ = 0.9


def _connection_count_op(node: Node, inputs: list[torch.Tensor], in_shape: tuple
                         ) -> torch.Tensor:
    """The op with every nonzero weight set to one and pools turned into sum-pools (per-channel
    affine ops pass through): summing its output counts connections, not values."""
    if node.op == "affine":
        return inputs[0]
    override = None
    if node.op in ("linear", "conv"):
        weight = tensor_params(node, torch.float64)["weight"]
        override = (weight != 0).to(torch.float64)
    out = apply_linear(node, inputs, with_bias=False, weight_override=override)
    if node.op == "avgpool":
        out = out * float(node.params["kernel"][0] * node.params["kernel"][1])
    elif node.op == "adaptive_avgpool":
        out = out * float(in_shape[-1] * in_shape[-2]) / float(
            math.prod(node.params["output_size"]))
    return out


def fanout(node: Node, shape: tuple) -> torch.Tensor:
    """Synapses driven by each input element of one sample of a single op (used for the ANN's
    MACs): the gradient of the summed connection-count output."""
    if node.op in ("reshape", "add"):
        return torch.zeros(shape, dtype=torch.float64)
    with torch.enable_grad():
        x = torch.ones((1,) + tuple(shape), dtype=torch.float64, requires_grad=True)
        _connection_count_op(node, [x], tuple(shape)).sum().backward()
    return x.grad[0].detach()


class _ConnectionRules:
    """Rules of :func:`~neurosim.convert.executor.run_graph` that count connections from one
    source to the next neuron layers (or the output). ``None`` is a value the source does not
    reach; ``total`` sums the counts that arrive."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.total = torch.zeros((), dtype=torch.float64)

    def linear(self, node: Node, inputs: list) -> torch.Tensor | None:
        if all(value is None for value in inputs):
            return None
        inputs = [torch.zeros((1,) + tuple(self.graph.node(name).shape), dtype=torch.float64)
                  if value is None else value for name, value in zip(node.inputs, inputs)]
        out = _connection_count_op(node, inputs, tuple(self.graph.node(node.inputs[0]).shape))
        if node.name == self.graph.output:
            self.total = self.total + out.sum()
        return out

    def relu(self, node: Node, inputs: list) -> None:
        if inputs[0] is not None:
            self.total = self.total + inputs[0].sum()
        return None  # events stop at the next neuron layer

    maxpool = relu


def event_fanout(graph: Graph, source: str) -> torch.Tensor:
    """Synaptic events caused by one spike of each neuron of ``source``: the gradient of the
    summed input of the next neuron layers (or the output) with respect to ``source``, through
    the linear ops in between counted as connections. Spikes that cross avg-pool and flatten
    before a linear layer drive the composite map."""
    shape = tuple(graph.node(source).shape)
    with torch.enable_grad():
        x = torch.ones((1,) + shape, dtype=torch.float64, requires_grad=True)
        rules = _ConnectionRules(graph)
        run_graph(graph, x, rules, start=source)
        if rules.total.requires_grad:
            rules.total.backward()
            return x.grad[0].detach()
        return torch.zeros(shape, dtype=torch.float64)


def ann_macs(graph: Graph) -> float:
    """Multiply-accumulates of the ANN per sample (weighted layers: linear, conv, affine)."""
    macs = 0.0
    for node in graph.nodes:
        if node.op in ("linear", "conv", "affine"):
            shape = graph.node(node.inputs[0]).shape
            macs += float(fanout(node, tuple(shape)).sum())
    return macs


def energy(synops: float, snn_macs: float, ann_macs: float) -> dict[str, float]:
    """Energy per sample in nJ, assuming ENERGY_AC_PJ per synaptic event and ENERGY_MAC_PJ
    per MAC (45 nm figures; real hardware differs, ratios are what this indicates)."""
    snn = (synops * ENERGY_AC_PJ + snn_macs * ENERGY_MAC_PJ) / 1e3
    ann = ann_macs * ENERGY_MAC_PJ / 1e3
    return {"snn_nj": snn, "ann_nj": ann, "ratio_snn_over_ann": snn / ann if ann else
            float("nan"), "assumed_mac_pj": ENERGY_MAC_PJ, "assumed_ac_pj": ENERGY_AC_PJ}


class Activity:
    """Spikes per neuron layer, synaptic events and analog MACs of a simulation, summed over
    its chunks of samples."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.spikes: dict[str, float] = {}
        self.synops = 0.0
        self.snn_macs = 0.0
        self._fanout: dict[str, np.ndarray] = {}

    def _fanout_of(self, source: str) -> np.ndarray:
        fan = self._fanout.get(source)
        if fan is None:
            fan = self._fanout[source] = event_fanout(self.graph, source).numpy()
        return fan

    def add_spikes(self, layer: str, counts: np.ndarray) -> None:
        """Spike counts (B, ...) of a neuron layer."""
        self.spikes[layer] = self.spikes.get(layer, 0.0) + float(counts.sum())

    def add_events(self, source: str, counts: np.ndarray) -> None:
        """SynOps: each neuron's spikes (summed over T, counts (B, ...)) times its fan-out to
        the next neuron layer."""
        fan = self._fanout_of(source)
        self.synops += float((counts.sum(axis=0, dtype=np.float64) * fan).sum())

    def add_input(self, source: str, values: torch.Tensor, n_steps: int, batch: int,
                  spiking: bool) -> None:
        """The input layer: Poisson spikes are events; an analog input (constant-current
        encoding) costs its dense MACs once per sample (its current is the same every step)."""
        fan = self._fanout_of(source)
        if spiking:
            counts = (values != 0).reshape((n_steps, batch) + tuple(values.shape[1:])).sum(
                dim=0, dtype=torch.int32).numpy()
            self.synops += float((counts.sum(axis=0, dtype=np.float64) * fan).sum())
        else:
            self.snn_macs += float(fan.sum()) * batch
