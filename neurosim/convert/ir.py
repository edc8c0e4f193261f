"""The converter's intermediate representation: a small graph of named nodes.

``op`` is one of: ``input``, ``linear``, ``conv`` (1-d or 2-d), ``affine`` (per-channel scale
and shift: an unfolded BatchNorm), ``avgpool``, ``adaptive_avgpool``, ``maxpool``, ``reshape``,
``add``, ``relu``. Everything but ``relu`` and ``maxpool`` is linear in its input: the spiking
network runs those on currents and turns every ``relu`` into a layer of IF neurons.

A model whose first operation is an embedding lookup (token ids in) keeps that lookup outside
the nodes, as :attr:`Graph.embedding`: it is the input encoding (see
:mod:`neurosim.convert.coding`), and ``nodes[0]`` is then its output, the mean embedding.
Tracing produces the transient ops ``embedding`` (lookup and mean) and ``lookup`` (a lookup
not yet followed by its mean); normalisation moves the first into :attr:`Graph.embedding`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LINEAR_OPS = ("linear", "conv", "affine", "avgpool", "adaptive_avgpool", "reshape", "add")
NEURON_OPS = ("relu", "maxpool")
EMBEDDING_SUPPORTED = ("supported: EmbeddingBag(mode='mean') on a 2-D (N, L) tensor of token "
                       "ids, or Embedding followed by .mean(dim=1), as the model's first op")


@dataclass(frozen=True)
class InputEmbedding:
    """The lookup-and-mean that turns token ids (N, L) into the network's input (N, D).

    ``weight`` (num_embeddings, D) float32; ``padding_idx`` the id of padding (or ``None``);
    ``exclude_padding``: the mean skips padding tokens (``EmbeddingBag(mode="mean")``), or
    averages all L positions (``Embedding`` followed by ``mean(dim=1)``)."""

    weight: Any
    padding_idx: int | None
    exclude_padding: bool
    module: str = ""

    @property
    def num_embeddings(self) -> int:
        return int(self.weight.shape[0])


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
    embedding: InputEmbedding | None = None  # token ids -> nodes[0] (the input encoding)

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
