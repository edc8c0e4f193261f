"""The linear operations of the IR on tensors whose first dimension is any batch (samples, or
time x samples): shared by every rule table of :mod:`neurosim.convert.executor` and by the
connection counts of :mod:`neurosim.convert.metrics`."""

from __future__ import annotations

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
