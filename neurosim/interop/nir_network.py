"""A :class:`~neurosim.network.Network` as a NIR graph (placeholder while being written)."""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_WEIGHTS = 20_000_000


def network_to_nir(network: Any, *, max_weights: int = DEFAULT_MAX_WEIGHTS) -> Any:
    raise NotImplementedError
