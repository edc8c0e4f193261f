"""Simulation of a converted network on neurosim's kernels: layer at a time over all T steps
(:func:`simulate`), or one step at a time through all layers (:func:`simulate_stepwise`, the
reference the first is tested against).

Layer at a time, every linear op runs once over all T steps (one batched matmul/convolution)
and a compiled kernel scans the neurons over T. With constant-current input everything before
the first neuron layer is the same in every step: it runs once per sample. A ReLU layer whose
only reader is a tiled max-pool runs fused with it (:meth:`KernelLayers.neurons_maxpool`). A
fully connected layer or stride-1 convolution of spikes runs driven by the nonzero inputs
(:meth:`KernelLayers.event_driven`), in both ways of simulating, so that both sum the currents
in the same order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from neurosim.convert.coding import as_inputs, output_counts
from neurosim.convert.executor import OverTime, run_graph
from neurosim.convert.ir import Node
from neurosim.convert.layers import KernelLayers, fused_pool, reads_spikes
from neurosim.convert.metrics import Activity
from neurosim.convert.model import ConvertedNetwork
from neurosim.convert.ops import apply_linear
from neurosim.network.memory import check_fits

_ELEMENT_BUDGET = 24_000_000  # elements per layer tensor in one simulation chunk


class BatchedRules(OverTime):
    """Rules of :func:`~neurosim.convert.executor.run_graph` for one chunk of samples over all
    T steps, tallying spikes and synaptic events in ``activity`` and the mean spike value of
    the layers in ``record`` in ``recorded``."""

    def __init__(self, layers: KernelLayers, n_steps: int, invariant: set[str],
                 activity: Activity, record: set[str], recorded: dict[str, list]) -> None:
        super().__init__(n_steps, invariant)
        self.layers = layers
        self.activity = activity
        self.record = record
        self.recorded = recorded
        self._pooled: dict[str, torch.Tensor] = {}  # outputs of max-pools run fused

    def linear(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        if node.inputs[0] not in self.invariant and reads_spikes(self.layers.net.graph, node):
            return self.layers.event_driven(node, inputs[0])
        return super().linear(node, inputs)

    def relu(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor | None:
        currents, n_steps = inputs[0], self.n_steps
        constant = node.inputs[0] in self.invariant
        pool = fused_pool(self.layers.net.graph, node)
        if pool is not None:
            pooled, counts, pool_counts = self.layers.neurons_maxpool(node, pool, currents,
                                                                      n_steps, constant)
            self.activity.add_events(pool.name, pool_counts)
            self._pooled[pool.name] = pooled
            spikes = None  # the full-resolution spikes are not materialised
        else:
            spikes, _, counts = self.layers.neurons(node, currents, n_steps, invariant=constant)
        self.activity.add_spikes(node.name, counts)
        self.activity.add_events(node.name, counts)
        if node.name in self.record:  # mean spike value = rate x amplitude
            self.recorded.setdefault(node.name, []).append(
                torch.from_numpy(counts.astype(np.float32)) / n_steps
                * self.layers.net.scale_view(node.name, counts.ndim))
        return spikes

    def maxpool(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        if node.name in self._pooled:
            return self._pooled.pop(node.name)
        spikes = self.over_time(node.inputs[0], inputs[0])
        out, _, counts = self.layers.maxpool(node, spikes, self.n_steps)
        self.activity.add_events(node.name, counts)
        return out


class StepRules:
    """Rules of :func:`~neurosim.convert.executor.run_graph` for one time step; the neurons'
    potentials and the max-pools' counts carry over in ``states``."""

    def __init__(self, layers: KernelLayers) -> None:
        self.layers = layers
        self.states: dict[str, np.ndarray] = {}

    def linear(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        if reads_spikes(self.layers.net.graph, node):
            return self.layers.event_driven(node, inputs[0])
        return apply_linear(node, inputs)

    def relu(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        out, self.states[node.name], _ = self.layers.neurons(node, inputs[0], 1,
                                                             self.states.get(node.name))
        return out

    def maxpool(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        out, self.states[node.name], _ = self.layers.maxpool(node, inputs[0], 1,
                                                             self.states.get(node.name))
        return out


def _simulate_chunk(net: ConvertedNetwork, layers: KernelLayers, x: torch.Tensor,
                    n_steps: int, activity: Activity, record: set[str],
                    recorded: dict[str, list], generator: torch.Generator) -> torch.Tensor:
    """Layer at a time; returns the output currents (T, B, K)."""
    batch = x.shape[0]
    first = net.graph.nodes[0].name
    constant = net.options.encoding == "constant"
    inputs = x if constant else net.encode(x, n_steps, generator)
    activity.add_input(first, inputs, n_steps, batch, not constant)
    rules = BatchedRules(layers, n_steps, {first} if constant else set(), activity, record,
                         recorded)
    out = run_graph(net.graph, inputs, rules)
    return rules.over_time(net.graph.output, out).reshape((n_steps, batch, -1))


def simulate(net: ConvertedNetwork, x: Any, timesteps: int, *, batch_size: int | None = None,
             record: tuple[str, ...] = ()) -> dict:
    """Simulate ``timesteps`` steps for inputs ``x`` (N, ...), layer at a time, in chunks of
    ``batch_size`` samples; see :meth:`neurosim.convert.SpikingNetwork.simulate`."""
    x = as_inputs(x, net.input_shape, net.graph.embedding)
    if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)) or \
            timesteps <= 0:
        raise ValueError(f"timesteps must be a whole number > 0, got {timesteps!r}")
    n_steps = int(timesteps)
    largest = max(math.prod(n.shape) for n in net.graph.nodes if n.shape)
    if batch_size is None:
        batch_size = max(1, _ELEMENT_BUDGET // (n_steps * max(largest, 1)))
    # one chunk holds about three (T, batch, largest layer) float32 arrays; the output
    # membranes of every sample are kept (float64)
    n_out = math.prod(net.graph.node(net.graph.output).shape)
    check_fits(12 * n_steps * min(batch_size, len(x)) * max(largest, 1)
               + 8 * n_steps * len(x) * n_out, f"simulating {len(x):,} inputs for "
               f"{n_steps:,} steps", "use fewer time steps or a smaller batch_size")
    generator = torch.Generator().manual_seed(net.options.seed)
    layers = KernelLayers(net)
    activity = Activity(net.graph)
    recorded: dict[str, list] = {}
    membranes, counts = [], []
    with torch.no_grad():
        for lo in range(0, len(x), batch_size):
            currents = _simulate_chunk(net, layers, x[lo:lo + batch_size], n_steps, activity,
                                       set(record), recorded, generator)
            membranes.append(torch.cumsum(currents.to(torch.float64), dim=0))
            if net.options.decoding == "count":
                counts.append(output_counts(currents, net.output_scale, net.options))
    result = {"membrane": torch.cat(membranes, dim=1).numpy(), "spikes": activity.spikes,
              "synops": activity.synops, "snn_macs": activity.snn_macs,
              "timesteps": n_steps, "samples": len(x)}
    if counts:
        result["counts"] = np.concatenate(counts, axis=1)
    result["rates"] = {k: torch.cat(v).numpy() for k, v in recorded.items()}
    return result


def simulate_stepwise(net: ConvertedNetwork, x: Any, timesteps: int) -> np.ndarray:
    """The same network, one time step at a time through all layers; returns the accumulated
    output membrane (T, N, K). Slow: for tests and teaching."""
    x = as_inputs(x, net.input_shape, net.graph.embedding)
    generator = torch.Generator().manual_seed(net.options.seed)
    encoded = net.encode(x, timesteps, generator).reshape((timesteps,) + tuple(x.shape))
    rules = StepRules(KernelLayers(net))
    membrane = None
    out = []
    with torch.no_grad():
        for t in range(timesteps):
            current = run_graph(net.graph, encoded[t], rules).reshape(len(x), -1).to(
                torch.float64)
            membrane = current if membrane is None else membrane + current
            out.append(membrane.clone())
    return torch.stack(out).numpy()
