"""What a converted network is: the graph, the calibrated thresholds and the options, with the
arithmetic every way of running it shares (neuron arguments, threshold views, input encoding).

:class:`~neurosim.convert.snn.SpikingNetwork` adds simulation, evaluation and fine-tuning;
the hybrid twin (:mod:`neurosim.convert.hybrid`) and the snnTorch export read only this.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from neurosim.convert.coding import encode
from neurosim.convert.ir import Graph
from neurosim.convert.options import ConversionOptions, neuron_args

_Net = TypeVar("_Net", bound="ConvertedNetwork")


class ConvertedNetwork:
    """A converted classifier's graph, thresholds ``scales`` (per ReLU node: a scalar, or one
    per channel), output and input scales, options and the shape of one input sample."""

    def __init__(self, graph: Graph, scales: dict[str, np.ndarray], output_scale: float,
                 input_scale: float, options: ConversionOptions, input_shape: tuple) -> None:
        self.graph = graph
        self.scales = scales
        self.output_scale = output_scale
        self.input_scale = input_scale
        self.options = options
        self.input_shape = tuple(input_shape)
        self.neuron_layers = [n.name for n in graph.nodes if n.op == "relu"]

    def with_graph(self: _Net, graph: Graph) -> _Net:
        """The same network (same class, thresholds and options) on another graph, e.g. with
        trained weights."""
        return type(self)(graph, dict(self.scales), self.output_scale, self.input_scale,
                          self.options, self.input_shape)

    # -- neurons -------------------------------------------------------------------------------
    def neuron_args(self) -> tuple:
        """``(r_m, decay, gain, leaky, subtract)`` of the neurons (float32 scalars), as the
        spiking kernels and the hybrid twin take them."""
        return neuron_args(self.options)

    def scales_1d(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """float32 thresholds of neuron layer ``name`` and their reciprocals, at least 1-d."""
        scale = np.atleast_1d(np.asarray(self.scales[name], np.float32))
        return scale, (np.float32(1.0) / scale).astype(np.float32)

    def scale_view(self, name: str, dims: int) -> torch.Tensor:
        """float32 thresholds (the spike amplitudes), shaped to broadcast over (N, C, ...)."""
        scale = torch.as_tensor(self.scales[name], dtype=torch.float32)
        return scale.reshape((1, -1) + (1,) * (dims - 2)) if scale.ndim else scale

    def inverse_scale_view(self, name: str, dims: int) -> torch.Tensor:
        """float32 reciprocal of the thresholds (what the neurons multiply their input by)."""
        inv = torch.from_numpy(self.scales_1d(name)[1])
        return inv.reshape((1, -1) + (1,) * (dims - 2)) if inv.numel() > 1 else inv[0]

    # -- input ---------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor, n_steps: int,
               generator: torch.Generator | None) -> torch.Tensor:
        """Input for every step, (T*B, ...): the image itself, or Bernoulli spikes."""
        return encode(x, n_steps, self.options.encoding, self.input_scale, generator)
