"""Export a converted network to snnTorch modules (``snn.Leaky`` with ``beta=1``, reset by
subtraction), for users of that library and as the peer in ``neurosim bench convert``.

snnTorch's ``Leaky`` subtracts the threshold one step after a spike (``reset_delay``), which
gives exactly the spike trains of neurosim's IF neurons when its membrane starts at the same
value: both fire at step t when ``v0 + sum(inputs) - theta * (spikes before t) > theta``.
Neurons see currents divided by their layer's threshold (threshold 1) and their spikes are
scaled back, as in neurosim.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from neurosim.convert.executor import run_graph
from neurosim.convert.hybrid import select_by_counts
from neurosim.convert.ir import Node
from neurosim.convert.ops import apply_linear
from neurosim.convert.snn import SpikingNetwork


class _MaxPoolGate(nn.Module):
    """Spiking max-pool: passes the spikes of the window input that has spiked most so far."""

    def __init__(self, node):
        super().__init__()
        self.node = node
        self.counts = None

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        step = (spikes != 0).to(torch.float32)
        self.counts = step if self.counts is None else self.counts + step
        return select_by_counts(spikes, self.counts, self.node)


class SnnTorchNetwork(nn.Module):
    """The converted graph on snnTorch neurons; call ``forward(x, timesteps)`` for the output
    layer's accumulated potential (B, K), and read ``spike_counts`` per neuron layer."""

    def __init__(self, snn: SpikingNetwork, maxpool: str = "gate"):
        super().__init__()
        import snntorch

        self.snn = snn
        self.graph = snn.graph
        v_th = 1.0
        reset = "subtract" if snn.options.reset == "subtract" else "zero"  # snnTorch's names
        self.neurons = nn.ModuleDict({
            name: snntorch.Leaky(beta=1.0, threshold=v_th, reset_mechanism=reset)
            for name in snn.neuron_layers})
        self.gates = {n.name: _MaxPoolGate(n) if maxpool == "gate" else _plain_maxpool(n)
                      for n in self.graph.nodes if n.op == "maxpool"}
        self.spike_counts: dict[str, torch.Tensor] = {}

    def forward(self, x: torch.Tensor, timesteps: int) -> torch.Tensor:
        for gate in self.gates.values():
            if isinstance(gate, _MaxPoolGate):
                gate.counts = None
        self.spike_counts = {}
        rules = _StepRules(self)
        total = None
        for _ in range(timesteps):
            out = run_graph(self.graph, x, rules)
            total = out if total is None else total + out
        return total


class _StepRules:
    """Rules of :func:`~neurosim.convert.executor.run_graph` for one step of the export: the
    linear ops as in neurosim, ``snn.Leaky`` neurons on currents divided by the threshold, the
    max-pool modules."""

    def __init__(self, net: SnnTorchNetwork) -> None:
        self.net = net
        # full-shape start values: snnTorch replaces a membrane of another shape with zeros
        self.mems: dict[str, torch.Tensor | None] = dict.fromkeys(net.neurons)

    def linear(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        return apply_linear(node, inputs)

    def relu(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        snn, dims = self.net.snn, inputs[0].dim()
        current = inputs[0] * snn.inverse_scale_view(node.name, dims)
        if self.mems[node.name] is None:
            self.mems[node.name] = torch.full_like(current, snn.options.v_init)
        spk, self.mems[node.name] = self.net.neurons[node.name](current, self.mems[node.name])
        self.net.spike_counts[node.name] = self.net.spike_counts.get(node.name, 0) + spk
        return spk * snn.scale_view(node.name, dims)

    def maxpool(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.net.gates[node.name](inputs[0])


def _plain_maxpool(node) -> nn.Module:
    p = node.params
    return nn.MaxPool2d(p["kernel"], p["stride"], p["padding"], p["dilation"])


def to_snntorch(snn: SpikingNetwork, *, maxpool: str = "gate") -> SnnTorchNetwork:
    """The converted network as snnTorch modules (constant-current input encoding).

    ``maxpool="gate"`` keeps neurosim's spiking max-pool (same spikes as neurosim);
    ``"plain"`` applies ``nn.MaxPool2d`` to the spikes, as snnTorch models usually do (an OR
    of the window's spikes: not the same network, but the usual snnTorch cost)."""
    if snn.options.encoding != "constant" or snn.options.neuron != "if":
        raise ValueError("to_snntorch supports the default IF neurons with constant-current "
                         "input")
    if maxpool not in ("gate", "plain"):
        raise ValueError(f"maxpool must be 'gate' or 'plain', got {maxpool!r}")
    if snn.graph.embedding is not None:
        raise ValueError("to_snntorch exports networks whose input is the data itself; this "
                         "one's input encoding is an embedding lookup on token ids (give the "
                         "snnTorch network the mean embeddings, snn.graph.embedding)")
    return SnnTorchNetwork(snn, maxpool)
