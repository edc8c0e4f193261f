"""Step 3: calibrate the thresholds from the ANN's activations on calibration data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from neurosim.convert.ann import ann_forward
from neurosim.convert.coding import as_float_tensor, as_token_ids, embed
from neurosim.convert.ir import Graph, InputEmbedding

_MAX_VALUES = 4_000_000  # per layer (or channel) kept for a percentile


def iter_batches(data: Any, embedding: InputEmbedding | None = None
                 ) -> Iterable[torch.Tensor]:
    """Inputs from a tensor/array (in batches of 256) or a DataLoader of tensors or tuples;
    with an ``embedding``, batches of token ids encoded by it (N, D)."""
    def prepare(batch: Any) -> torch.Tensor:
        if embedding is None:
            return as_float_tensor("calibration_data", batch)
        return embed(as_token_ids("calibration_data", batch, embedding.num_embeddings),
                     embedding)

    if isinstance(data, (torch.Tensor, np.ndarray)):
        for lo in range(0, len(data), 256):
            yield prepare(data[lo:lo + 256])
        return
    for batch in data:
        yield prepare(batch[0] if isinstance(batch, (tuple, list)) else batch)


def _reduce(values: torch.Tensor, how: float | str, rng: np.random.Generator) -> float:
    positive = values[values > 0]
    if positive.numel() == 0:
        return 1.0  # a silent unit: any threshold works
    if how == "max":
        return float(positive.max())
    flat = positive.numpy()
    if flat.size > _MAX_VALUES:
        flat = rng.choice(flat, _MAX_VALUES, replace=False)
    return float(np.percentile(flat, how))


def calibrate(graph: Graph, data: Any, normalization: float | str, granularity: str,
              seed: int = 0) -> tuple[dict[str, np.ndarray], float, float]:
    """Scales of every ReLU node (per layer, or per channel = dim 1), of the output and of the
    input (for rate-coded inputs)."""
    relus = {n.name for n in graph.nodes if n.op == "relu"}
    collected: dict[str, list[torch.Tensor]] = {name: [] for name in relus}
    outputs, inputs = [], []
    with torch.no_grad():
        for batch in iter_batches(data, graph.embedding):
            out, kept = ann_forward(graph, batch, record=relus)
            for name, value in kept.items():
                collected[name].append(value)
            outputs.append(out)
            inputs.append(batch)
    if not outputs:
        raise ValueError("calibration_data is empty")
    rng = np.random.default_rng(seed)
    scales = {}
    for name, chunks in collected.items():
        acts = torch.cat(chunks)
        if granularity == "channel" and acts.dim() >= 2:
            per_channel = acts.transpose(0, 1).reshape(acts.shape[1], -1)
            scales[name] = np.array([_reduce(c, normalization, rng) for c in per_channel],
                                    np.float32)
        else:
            scales[name] = np.float32(_reduce(acts, normalization, rng))
    output_scale = _reduce(torch.cat(outputs), normalization, rng)
    input_scale = float(torch.cat(inputs).abs().max().clamp(min=1e-12))  # signed: embeddings
    return scales, output_scale, input_scale
