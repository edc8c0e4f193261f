"""Step 2: normalise the graph. BatchNorm is folded into the convolution or linear layer before
it; a max-pool applied to currents is moved after the ReLU that follows it (they commute:
``relu(maxpool(x)) = maxpool(relu(x))``) so that it always pools spike trains; reshapes and
other no-ops stay. Anything a spiking network cannot represent raises ConversionError."""

from __future__ import annotations

import numpy as np

from neurosim.convert.ir import ConversionError, Graph


def fold_batchnorm(graph: Graph) -> Graph:
    for node in list(graph.nodes):
        if node.op != "affine":
            continue
        prev = graph.node(node.inputs[0])
        if prev.op not in ("conv", "linear") or len(graph.users(prev.name)) != 1:
            continue  # stays a standalone per-channel affine op (linear, fine in an SNN)
        scale, shift = node.params["scale"], node.params["shift"]
        weight = prev.params["weight"]
        prev.params["weight"] = weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
        bias = prev.params["bias"] if prev.params["bias"] is not None else np.zeros(len(scale))
        prev.params["bias"] = bias * scale + shift
        graph.replace_uses(node.name, prev.name)
        graph.nodes.remove(node)
    return graph


def order_maxpool_after_relu(graph: Graph) -> Graph:
    for node in list(graph.nodes):
        if node.op != "maxpool":
            continue
        source = graph.node(node.inputs[0])
        if source.op in ("relu", "maxpool"):
            continue
        users = graph.users(node.name)
        if len(users) == 1 and users[0].op == "relu" and len(graph.users(source.name)) == 1:
            relu = users[0]
            # source -> maxpool -> relu  becomes  source -> relu -> maxpool
            relu.inputs = [source.name]
            relu.shape = source.shape
            graph.replace_uses(relu.name, node.name)
            node.inputs = [relu.name]
            graph.nodes.remove(relu)
            graph.nodes.insert(graph.nodes.index(node), relu)
            continue
        raise ConversionError(f"max-pooling at {node.module} pools signed values (no ReLU "
                              "next to it); a spiking max-pool needs non-negative rates")
    return graph


def collapse_double_relu(graph: Graph) -> Graph:
    for node in list(graph.nodes):
        if node.op == "relu" and graph.node(node.inputs[0]).op == "relu":
            graph.replace_uses(node.name, node.inputs[0])
            graph.nodes.remove(node)
    return graph


def normalize(graph: Graph) -> Graph:
    return collapse_double_relu(order_maxpool_after_relu(fold_batchnorm(graph)))
