"""The converter's intermediate representation: a small graph of named nodes.

``op`` is one of: ``input``, ``linear``, ``conv`` (1-d or 2-d), ``affine`` (per-channel scale
and shift: an unfolded BatchNorm), ``avgpool``, ``adaptive_avgpool``, ``maxpool``, ``reshape``,
``add``, ``relu``. Everything but ``relu`` and ``maxpool`` is linear in its input: the spiking
network runs those on currents and turns every ``relu`` into a layer of IF neurons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LINEAR_OPS = ("linear", "conv", "affine", "avgpool", "adaptive_avgpool", "reshape", "add")
NEURON_OPS = ("relu", "maxpool")


class ConversionError(ValueError):
    """The model contains an operation the converter does not support (never skipped)."""


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    module: str = ""          # module path in the user's model, for messages
    shape: tuple = ()         # output shape of one sample

    def __repr__(self) -> str:
        return f"Node({self.name}: {self.op}{tuple(self.inputs)} -> {self.shape})"


@dataclass
class Graph:
    nodes: list[Node]  # topological order; nodes[0] is the input
    output: str

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def users(self, name: str) -> list[Node]:
        return [n for n in self.nodes if name in n.inputs]

    def replace_uses(self, old: str, new: str) -> None:
        for n in self.nodes:
            n.inputs = [new if i == old else i for i in n.inputs]
        if self.output == old:
            self.output = new
