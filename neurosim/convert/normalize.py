"""Step 2: normalise the graph. BatchNorm is folded into the convolution or linear layer before
it; a max-pool applied to currents is moved after the ReLU that follows it (they commute:
``relu(maxpool(x)) = maxpool(relu(x))``) so that it always pools spike trains; reshapes and
other no-ops stay. An embedding lookup that is the model's first op becomes the input encoding
(:attr:`~neurosim.convert.ir.Graph.embedding`). Anything a spiking network cannot represent
raises ConversionError."""

from __future__ import annotations

import numpy as np

from neurosim.convert.ir import EMBEDDING_SUPPORTED, ConversionError, Graph, InputEmbedding, Node


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


def split_input_embedding(graph: Graph) -> Graph:
    """An ``embedding`` node that is the only reader of the input becomes the graph's input
    encoding: its output is the new input node, its table :attr:`Graph.embedding`. An
    embedding anywhere else, or a lookup without its mean, raises ConversionError."""
    for node in graph.nodes:
        if node.op == "lookup":
            raise ConversionError(f"the Embedding at {node.module} must be followed by a mean "
                                  f"over the tokens; {EMBEDDING_SUPPORTED}")
    found = [n for n in graph.nodes if n.op == "embedding"]
    if not found:
        return graph
    first, source = found[0], graph.nodes[0]
    if len(found) > 1 or first.inputs != [source.name] or len(graph.users(source.name)) != 1:
        where = found[-1] if len(found) > 1 else first
        raise ConversionError(f"the embedding at {where.module} is not the model's first op "
                              f"(the only reader of its input); {EMBEDDING_SUPPORTED}")
    p = first.params
    graph.embedding = InputEmbedding(p["weight"], p["padding_idx"], p["exclude_padding"],
                                     first.module)
    graph.nodes.remove(source)
    graph.nodes[graph.nodes.index(first)] = Node(first.name, "input", [], shape=first.shape)
    return graph


def normalize(graph: Graph) -> Graph:
    graph = split_input_embedding(graph)
    return collapse_double_relu(order_maxpool_after_relu(fold_batchnorm(graph)))
