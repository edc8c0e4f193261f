"""The linear operations of the IR on tensors whose first dimension is any batch (samples, or
time x samples): shared by the ANN reference pass, calibration and the spiking simulation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from neurosim.convert.ir import Node

#: The numeric parameters of linear ops (what conversion folds and hybrid training trains).
PARAM_KEYS = ("weight", "bias", "scale", "shift")


def tensor_params(node: Node, dtype: torch.dtype) -> dict:
    """The node's NumPy parameters as tensors (cached on the node per dtype)."""
    cache = node.params.setdefault("_tensors", {})
    if dtype not in cache:
        cache[dtype] = {k: torch.as_tensor(v, dtype=dtype) for k, v in node.params.items()
                        if k in PARAM_KEYS and v is not None}
    return cache[dtype]


def apply_linear(node: Node, inputs: list[torch.Tensor], *, with_bias: bool = True,
                 weight_override: torch.Tensor | None = None,
                 params: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """The op on ``inputs``; ``params`` replaces the node's weight/bias/scale/shift (the
    trainable copies of :mod:`neurosim.convert.hybrid`)."""
    x = inputs[0]
    p = tensor_params(node, x.dtype) if params is None else params
    bias = p.get("bias") if with_bias else None
    if node.op == "linear":
        return F.linear(x, weight_override if weight_override is not None else p["weight"], bias)
    if node.op == "conv":
        conv = F.conv2d if node.params["dims"] == 2 else F.conv1d
        return conv(x, weight_override if weight_override is not None else p["weight"], bias,
                    node.params["stride"], node.params["padding"], node.params["dilation"],
                    node.params["groups"])
    if node.op == "affine":
        shape = (1, -1) + (1,) * (x.dim() - 2)
        out = x * p["scale"].reshape(shape)
        return out + p["shift"].reshape(shape) if with_bias else out
    if node.op == "avgpool":
        return F.avg_pool2d(x, node.params["kernel"], node.params["stride"],
                            node.params["padding"],
                            count_include_pad=node.params["count_include_pad"])
    if node.op == "adaptive_avgpool":
        out = F.adaptive_avg_pool2d(x, node.params["output_size"])
        if node.params.get("keepdim") is False:
            out = out.flatten(2).squeeze(-1) if out.shape[-2:] == (1, 1) else out
        return out
    if node.op == "reshape":
        return x.reshape((x.shape[0],) + tuple(node.shape))
    if node.op == "add":
        return inputs[0] + inputs[1]
    raise AssertionError(f"not a linear op: {node.op}")


def has_bias(node: Node) -> bool:
    return node.op in ("linear", "conv") and node.params.get("bias") is not None or \
        node.op == "affine"


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


def event_fanout(graph, source: str) -> torch.Tensor:
    """Synaptic events caused by one spike of each neuron of ``source``: the gradient of the
    summed input of the next neuron layers (or the output) with respect to ``source``, through
    the linear ops in between counted as connections. Spikes that cross avg-pool and flatten
    before a linear layer drive the composite map."""
    with torch.enable_grad():
        nodes = graph.nodes
        start = next(k for k, n in enumerate(nodes) if n.name == source)
        x = torch.ones((1,) + tuple(nodes[start].shape), dtype=torch.float64,
                       requires_grad=True)
        values = {source: x}
        total = torch.zeros((), dtype=torch.float64)
        for node in nodes[start + 1:]:
            if not any(i in values for i in node.inputs):
                continue
            if node.op in ("relu", "maxpool"):
                total = total + values[node.inputs[0]].sum()
                continue
            ins = [values.get(i, torch.zeros((1,) + tuple(graph.node(i).shape),
                                             dtype=torch.float64)) for i in node.inputs]
            values[node.name] = _connection_count_op(node, ins,
                                                     tuple(graph.node(node.inputs[0]).shape))
            if node.name == graph.output:
                total = total + values[node.name].sum()
        if total.requires_grad:
            total.backward()
            return x.grad[0].detach()
        return torch.zeros(tuple(nodes[start].shape), dtype=torch.float64)
