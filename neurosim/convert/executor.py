"""The one walk over a converted graph; what a node does is looked up in a rule table.

Every way of running the IR (the ANN pass, the spiking simulation over all steps at once or one
step at a time, the trainable hybrid twin, the snnTorch export, the synaptic fan-out count) is
:func:`run_graph` with its own rules: an object with three methods, each called as
``rule(node, inputs)`` with the values of ``node.inputs`` and returning the node's value.

- ``linear(node, inputs)``: every op in :data:`~neurosim.convert.ir.LINEAR_OPS`;
- ``relu(node, inputs)``: a ReLU of the ANN, a layer of spiking neurons;
- ``maxpool(node, inputs)``: a max-pool, a spiking max-pool gate.

A value may be ``None`` (an input not reached from ``start``, or a neuron layer whose spikes a
fused kernel has already pooled): the rules that produce ``None`` handle it where it is read.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from neurosim.convert.coding import repeat_over_time
from neurosim.convert.ir import LINEAR_OPS, NEURON_OPS, ConversionError, Graph, Node
from neurosim.convert.ops import apply_linear

_RULE_OF_OP = {**dict.fromkeys(LINEAR_OPS, "linear"), **{op: op for op in NEURON_OPS}}


class GraphRules(Protocol):
    """What each op of the IR does in one way of running the graph."""

    def linear(self, node: Node, inputs: list[Any]) -> Any: ...

    def relu(self, node: Node, inputs: list[Any]) -> Any: ...

    def maxpool(self, node: Node, inputs: list[Any]) -> Any: ...


def run_graph(graph: Graph, x: Any, rules: GraphRules, *, start: str | None = None) -> Any:
    """Run the nodes of ``graph`` in order on ``x`` with ``rules``; returns the output's value.

    Parameters
    ----------
    graph : Graph
        Nodes in topological order, ``nodes[0]`` the input.
    x : any
        The value of the input node (or of ``start``).
    rules : GraphRules
        What each op does.
    start : str, optional
        Run only the nodes after this one, with ``x`` as its value; the values of the nodes
        before it are ``None``.

    Raises
    ------
    ConversionError
        A node whose op has no rule (the IR holds no such node after conversion).
    """
    nodes = graph.nodes
    first = 0 if start is None else next(k for k, n in enumerate(nodes) if n.name == start)
    last_reader = {}  # a value is dropped after its last reader (memory: T x every layer)
    for k, node in enumerate(nodes):
        for name in node.inputs:
            last_reader[name] = k
    values: dict[str, Any] = dict.fromkeys(n.name for n in nodes[:first])
    values[nodes[first].name] = x
    table = {op: getattr(rules, rule) for op, rule in _RULE_OF_OP.items()}
    for k in range(first + 1, len(nodes)):
        node = nodes[k]
        rule = table.get(node.op)
        if rule is None:
            raise ConversionError(f"no rule for op {node.op!r} of node {node.name}")
        values[node.name] = rule(node, [values[name] for name in node.inputs])
        for name in node.inputs:
            if last_reader[name] == k and name != graph.output:
                values.pop(name, None)
    return values[graph.output]


class OverTime:
    """Rules over all T steps at once, tensors (T*B, ...): a value that is the same in every
    step (derived only from a constant input) stays (B, ...) until an op needs it per step.
    Linear ops of such values run once per sample instead of T times.

    Subclasses add ``relu`` and ``maxpool``, and may override :meth:`linear_params`.
    """

    def __init__(self, n_steps: int, invariant: set[str]) -> None:
        self.n_steps = n_steps
        self.invariant = invariant  # names of the values held as (B, ...)

    def over_time(self, name: str, value: torch.Tensor) -> torch.Tensor:
        """The value of node ``name`` as (T*B, ...)."""
        return repeat_over_time(value, self.n_steps) if name in self.invariant else value

    def linear_params(self, node: Node) -> dict[str, torch.Tensor] | None:
        """The weights ``node`` runs with (``None``: its own)."""
        return None

    def linear(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        if all(name in self.invariant for name in node.inputs):
            self.invariant.add(node.name)
        else:
            inputs = [self.over_time(name, value) for name, value in zip(node.inputs, inputs)]
        return apply_linear(node, inputs, params=self.linear_params(node))
