"""A NIR graph as a neurosim spiking classifier, on neurosim's own CPU/CUDA kernels.

The graph becomes the converter's IR (:mod:`neurosim.convert.ir`) and a
:class:`NirNetwork`, the :class:`~neurosim.convert.snn.SpikingNetwork` the converter builds:
``simulate``, ``predict``, ``evaluate`` and ``finetune`` work as for a converted network, with
the input presented at every step (constant-current encoding) and the output's values summed
over the steps (``result["membrane"]``: spike counts when the output is a neuron layer).

Nodes: ``Affine``/``Linear`` -> ``linear``, ``Conv2d``/``Conv1d`` -> ``conv``, ``Flatten`` ->
``reshape``, ``AvgPool2d`` -> ``avgpool``, ``SumPool2d`` -> a depthwise convolution of ones
(an exact sum), ``Scale`` -> ``affine``, several edges into a node -> ``add``, ``IF``/``LIF`` ->
a neuron layer (``relu``). NIR's continuous-time neurons are read as forward-Euler steps of
``dt_s`` (snnTorch's and Norse's discretisation):

- ``IF``: ``v += dt r I``; ``LIF``: ``v += dt/tau (v_leak - v + r I)``, i.e. neurosim's LIF
  with ``decay = 1 - dt/tau`` and ``r_m = r`` (``v_leak`` must be 0); a ``LIF`` whose decay
  rounds to 1 in float32 is an IF with ``v += dt (r/tau) I``;
- threshold ``v_threshold`` per layer or per channel, reset to ``v_reset = 0``, unit spikes.
  neurosim's neurons fire at 1 on input divided by the threshold, so a layer whose threshold
  is not 1 gets a per-channel ``affine`` op in front of it that divides its input.

What neurosim's converted networks cannot run is an error naming the node: recurrence
(cycles, subgraphs), ``CubaLIF`` and other neuron models, a reset potential other than 0,
leak potentials, and leaky layers with different time constants (one neuron model per network).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurosim.convert.ir import Graph, Node
from neurosim.convert.nir_export import DT_KEY, nir_module
from neurosim.convert.ops import apply_linear
from neurosim.convert.options import check_options
from neurosim.convert.snn import SpikingNetwork


class NirImportError(ValueError):
    """The NIR graph holds something neurosim cannot run; the message names the node."""


class NirNetwork(SpikingNetwork):
    """A spiking classifier read from a NIR graph; its neurons' constants come from the graph
    (``neuron_constants``: ``(r_m, decay, gain, leaky, subtract)``), not from the options."""

    neuron_constants: tuple = ()
    dt_s: float = 1e-4

    def neuron_args(self) -> tuple:
        return self.neuron_constants

    def with_graph(self, graph: Graph) -> NirNetwork:
        net = super().with_graph(graph)
        net.neuron_constants, net.dt_s = self.neuron_constants, self.dt_s
        return net


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, np.float64)


def _ints(value: Any, dims: int) -> tuple:
    flat = np.atleast_1d(_array(value)).astype(int).reshape(-1)
    return tuple(int(v) for v in (flat if len(flat) == dims else np.repeat(flat[:1], dims)))


def read_graph(source: Any) -> Any:
    """A ``nir.NIRGraph`` as it is, or read from a file path."""
    nir = nir_module()
    if isinstance(source, nir.NIRGraph):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no NIR file at {str(path)!r}")
        try:  # neurosim infers the shapes itself (files of some libraries fail NIR's check)
            return nir.read(path, type_check=False)
        except Exception as exc:  # h5py / nir errors: say which file
            raise NirImportError(f"{str(path)!r} is not a readable NIR file: "
                                 f"{type(exc).__name__}: {exc}") from None
    raise TypeError(f"source must be a nir.NIRGraph or a path to a NIR file, got "
                    f"{type(source).__name__}")


def _order(graph: Any) -> list[str]:
    """The node names in an order where every edge points forward (else: recurrence)."""
    incoming = {name: 0 for name in graph.nodes}
    for source, target in graph.edges:
        for end in (source, target):
            if end not in graph.nodes:
                raise NirImportError(f"edge ({source!r}, {target!r}) names no node {end!r}")
        incoming[target] += 1
    ready = [name for name, count in incoming.items() if count == 0]
    order = []
    while ready:
        name = ready.pop(0)
        order.append(name)
        for source, target in graph.edges:
            if source == name:
                incoming[target] -= 1
                if incoming[target] == 0:
                    ready.append(target)
    if len(order) != len(graph.nodes):
        stuck = sorted(set(graph.nodes) - set(order))
        raise NirImportError(f"the graph has a cycle through {stuck} (recurrent connections): "
                             "neurosim runs feed-forward NIR graphs only")
    return order


class _Reader:
    """Builds the IR nodes of a NIR graph in order, inferring each value's shape."""

    def __init__(self, nir: Any, dt_s: float) -> None:
        self.nir, self.dt_s = nir, dt_s
        self.nodes: list[Node] = []
        self.value_of: dict[str, str] = {}   # NIR node -> IR node holding its output
        self.neurons: list[tuple] = []       # (name, leaky, decay, r) per neuron layer

    def shape(self, name: str) -> tuple:
        return next(n.shape for n in self.nodes if n.name == name)

    def emit(self, name: str, op: str, inputs: list[str], shape: tuple | None = None,
             **params: Any) -> str:
        node = Node(name, op, inputs, params, module=f"NIR node {name.split('#')[0]!r}")
        if shape is None:
            zeros = [torch.zeros((1,) + self.shape(i), dtype=torch.float64) for i in inputs]
            shape = tuple(apply_linear(node, zeros).shape[1:])
            node.params.pop("_tensors", None)
        node.shape = tuple(int(s) for s in shape)
        self.nodes.append(node)
        return name

    def sum_of(self, name: str, sources: list[str]) -> str:
        """One IR value for the edges reaching ``name`` (NIR sums them)."""
        values = [self.value_of[s] for s in sources]
        if not values:
            raise NirImportError(f"node {name!r} has no input edge")
        total = values[0]
        for k, value in enumerate(values[1:]):
            if self.shape(value) != self.shape(total):
                raise NirImportError(f"edges into {name!r} carry shapes {self.shape(total)} "
                                     f"and {self.shape(value)}, which cannot be summed")
            total = self.emit(f"{name}#sum{k}", "add", [total, value], self.shape(total))
        return total

    def add(self, name: str, node: Any, source: str) -> str:
        nir, in_shape = self.nir, self.shape(source)
        kind = type(node).__name__
        if isinstance(node, (nir.Affine, nir.Linear)):
            if len(in_shape) != 1:
                raise NirImportError(f"{kind} node {name!r} reads a {in_shape} value: "
                                     "neurosim's linear ops take vectors (a batch dimension in "
                                     "the Input node? pass input_shape=)")
            bias = _array(node.bias) if isinstance(node, nir.Affine) else None
            return self.emit(name, "linear", [source], weight=_array(node.weight), bias=bias)
        if isinstance(node, (nir.Conv2d, nir.Conv1d)):
            return self._conv(name, node, source, in_shape)
        if isinstance(node, nir.Flatten):
            dims = len(in_shape)
            start, end = node.start_dim % dims, node.end_dim % dims
            shape = in_shape[:start] + (math.prod(in_shape[start:end + 1]),) + in_shape[end + 1:]
            return self.emit(name, "reshape", [source], shape)
        if isinstance(node, nir.AvgPool2d):
            return self.emit(name, "avgpool", [source], kernel=_ints(node.kernel_size, 2),
                             stride=_ints(node.stride, 2), padding=_ints(node.padding, 2),
                             count_include_pad=True)
        if isinstance(node, nir.SumPool2d):
            channels = in_shape[0]
            kernel = _ints(node.kernel_size, 2)
            return self.emit(name, "conv", [source], weight=np.ones((channels, 1) + kernel),
                             bias=None, dims=2, stride=_ints(node.stride, 2),
                             padding=_ints(node.padding, 2), dilation=(1, 1), groups=channels)
        if isinstance(node, nir.Scale):
            scale = self._per_channel(name, "scale", node.scale, in_shape)
            return self.emit(name, "affine", [source], scale=scale, shift=np.zeros_like(scale))
        if isinstance(node, (nir.IF, nir.LIF)):
            return self._neurons(name, node, source, in_shape)
        raise NirImportError(f"node {name!r} is a {kind}, which neurosim cannot run (it reads "
                             "Affine, Linear, Conv1d/2d, Flatten, AvgPool2d, SumPool2d, Scale, "
                             "IF, LIF, Input, Output)")

    def _conv(self, name: str, node: Any, source: str, in_shape: tuple) -> str:
        weight = _array(node.weight)
        dims = weight.ndim - 2
        stride, dilation = _ints(node.stride, dims), _ints(node.dilation, dims)
        padding = node.padding
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise NirImportError(f"padding {padding!r} of node {name!r}")
            total = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
            if padding == "same" and any(t % 2 for t in total):
                raise NirImportError(f"padding 'same' of node {name!r} pads unevenly")
            padding = [t // 2 if padding == "same" else 0 for t in total]
        bias = None if node.bias is None else _array(node.bias)
        if len(in_shape) != dims + 1:
            raise NirImportError(f"{type(node).__name__} node {name!r} reads a {in_shape} value")
        return self.emit(name, "conv", [source], weight=weight, bias=bias, dims=dims,
                         stride=stride, padding=_ints(padding, dims), dilation=dilation,
                         groups=int(node.groups))

    def _per_channel(self, name: str, what: str, value: Any, shape: tuple) -> np.ndarray:
        """``value`` (any shape that broadcasts to one sample) as one value per channel."""
        try:
            full = np.broadcast_to(_array(value), shape)
        except ValueError:
            raise NirImportError(f"{what} of node {name!r} has shape {np.shape(value)}, not "
                                 f"that of its input {shape}") from None
        flat = full.reshape(shape[0], -1)
        if not np.all(flat == flat[:, :1]):
            raise NirImportError(f"{what} of node {name!r} varies within a channel; neurosim "
                                 "takes one value per layer or per channel")
        return flat[:, 0].copy()

    def _neurons(self, name: str, node: Any, source: str, in_shape: tuple) -> str:
        nir = self.nir
        for what in ("v_reset", "v_leak"):
            value = getattr(node, what, None)
            if value is not None and np.any(_array(value) != 0):
                raise NirImportError(f"{what} of node {name!r} is not 0: neurosim's converted "
                                     "neurons rest and reset at 0")
        threshold = self._per_channel(name, "v_threshold", node.v_threshold, in_shape)
        r = self._per_channel(name, "r", node.r, in_shape)
        if np.any(threshold <= 0) or np.any(r <= 0):
            raise NirImportError(f"v_threshold and r of node {name!r} must be > 0")
        leaky = isinstance(node, nir.LIF)
        if leaky:
            tau = self._per_channel(name, "tau", node.tau, in_shape)
            decay = 1.0 - self.dt_s / tau
            if np.all(decay.astype(np.float32) == 1):  # a leak that rounds away: an IF
                leaky, r = False, r / tau          # with v += dt (r / tau) I
        if leaky:
            if np.any(decay <= 0) or np.any(decay != decay[0]):
                raise NirImportError(f"tau of node {name!r} must be one value > dt_s = "
                                     f"{self.dt_s!r}, got {np.unique(tau)}")
            r_m = self.neurons[0][3] if self.neurons else float(r[0])
            self.neurons.append((name, True, float(decay[0]), r_m))
            divide = threshold * r_m / r   # v = v_nir / threshold: input x r / (threshold r_m)
        else:
            self.neurons.append((name, False, 1.0, 1.0))
            divide = threshold / (self.dt_s * r)
        if np.any(divide.astype(np.float32) != 1):
            inverse = 1.0 / divide
            source = self.emit(f"{name}#input", "affine", [source], in_shape,
                               scale=inverse, shift=np.zeros_like(inverse))
        return self.emit(name, "relu", [source], in_shape)

    def constants(self) -> tuple[str, tuple]:
        """The network's neuron kind and kernel constants, checked to be one model."""
        kinds = {leaky for _, leaky, _, _ in self.neurons}
        if len(kinds) > 1:
            raise NirImportError("the graph mixes IF and LIF layers; neurosim's networks use one "
                                 "neuron model for every layer")
        leaky = kinds.pop() if kinds else False
        decays = {np.float32(d) for _, _, d, _ in self.neurons}
        if len(decays) > 1:
            raise NirImportError(f"LIF layers with different time constants (decays per step "
                                 f"{sorted(float(d) for d in decays)}); neurosim's networks "
                                 "use one for every layer")
        decay = decays.pop() if decays else np.float32(1)
        r_m = np.float32(self.neurons[0][3] if self.neurons else 1.0)
        return ("lif" if leaky else "if"), (r_m, decay, np.float32(1), leaky, False)


def nir_to_network(source: Any, *, dt_s: float | None = None, backend: str = "cpu",
                   input_shape: tuple | None = None) -> NirNetwork:
    """See :func:`neurosim.interop.nir.load`."""
    nir = nir_module()
    graph = read_graph(source)
    metadata = graph.metadata if isinstance(graph.metadata, dict) else {}
    if dt_s is None:
        dt_s = float(metadata.get(DT_KEY, 1e-4))
    if isinstance(dt_s, bool) or not isinstance(dt_s, (int, float)) or not (
            math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"dt_s must be a number > 0, got {dt_s!r}")
    base = {"reset": "value", "v_init": 0.0, "backend": backend, "encoding": "constant",
            "decoding": "membrane"}
    check_options(base)
    order = _order(graph)
    inputs = [n for n in order if isinstance(graph.nodes[n], nir.Input)]
    outputs = [n for n in order if isinstance(graph.nodes[n], nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NirImportError(f"neurosim reads graphs with one Input and one Output node, got "
                             f"{len(inputs)} and {len(outputs)}")
    declared = (getattr(graph.nodes[inputs[0]], "input_type", None) or {}).get("input")
    if input_shape is None and (declared is None or np.size(declared) == 0):
        raise NirImportError(f"the Input node {inputs[0]!r} gives no shape: pass input_shape=")
    shape = input_shape or tuple(int(s) for s in np.atleast_1d(_array(declared)).astype(int))
    reader = _Reader(nir, float(dt_s))
    reader.value_of[inputs[0]] = reader.emit("input", "input", [], tuple(shape))
    for name in order:
        node = graph.nodes[name]
        if name == inputs[0]:
            continue
        sources = [s for s, t in graph.edges if t == name]
        value = reader.sum_of(name, sources)
        if name == outputs[0]:
            reader.value_of[name] = value
        elif isinstance(node, nir.NIRGraph):
            raise NirImportError(f"node {name!r} is a subgraph (recurrent layers): neurosim "
                                 "runs feed-forward NIR graphs only")
        elif isinstance(node, nir.Input):
            raise NirImportError(f"second Input node {name!r}")
        else:
            reader.value_of[name] = reader.add(name, node, value)
    kind, constants = reader.constants()
    options = check_options({**base, "neuron": kind})
    ir = Graph(reader.nodes, reader.value_of[outputs[0]])
    scales = {n.name: np.float32(1.0) for n in ir.nodes if n.op == "relu"}
    net = NirNetwork(ir, scales, 1.0, 1.0, options, tuple(shape))
    net.neuron_constants, net.dt_s = constants, float(dt_s)
    return net
