"""The graph run as the ANN it was traced from (calibration, reference logits)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from neurosim.convert.executor import run_graph
from neurosim.convert.ir import Graph, Node
from neurosim.convert.ops import apply_linear


class AnnRules:
    """Rules of :func:`~neurosim.convert.executor.run_graph` for the ANN; keeps the values of
    the nodes named in ``record``."""

    def __init__(self, record: set[str] | None = None) -> None:
        self.record = record or set()
        self.kept: dict[str, torch.Tensor] = {}

    def _keep(self, node: Node, value: torch.Tensor) -> torch.Tensor:
        if node.name in self.record:
            self.kept[node.name] = value
        return value

    def linear(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self._keep(node, apply_linear(node, inputs))

    def relu(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self._keep(node, torch.relu(inputs[0]))

    def maxpool(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        p = node.params
        return self._keep(node, F.max_pool2d(inputs[0], p["kernel"], p["stride"], p["padding"],
                                             p["dilation"]))


def ann_forward(graph: Graph, x: torch.Tensor, record: set[str] | None = None
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run the IR as the ANN; returns the output and the values of the nodes in ``record``."""
    rules = AnnRules(record)
    return run_graph(graph, x, rules), rules.kept
