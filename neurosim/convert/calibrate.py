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
#: Activations (all layers) kept whole before calibration switches to streamed samples.
_KEEP_VALUES = 250_000_000
#: Positive values in each streamed sample (a layer or channel): a percentile's error from
#: sampling is then about 1e-3 of a percentile point, and 100 channels hold under 1 GB.
_STREAM_VALUES = 1_000_000


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


class _Sample:
    """A uniform random sample of at most ``_STREAM_VALUES`` of the positive values streamed
    in, and their exact maximum: each value draws a random key and the smallest keys are
    kept (merged whenever the pending values reach a quarter of the sample's size, so memory
    stays bounded by 1.25 times that, at 8 bytes a value)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.parts: list[np.ndarray] = []
        self.keys: list[np.ndarray] = []
        self.pending = 0  # values held (the sample so far and those not merged yet)
        self.kept = 0  # of which the merged sample
        self.max = 0.0

    def add(self, values: torch.Tensor) -> None:
        positive = values[values > 0].numpy()
        if positive.size:
            self.max = max(self.max, float(positive.max()))
            self.parts.append(positive)
            self.keys.append(self.rng.random(positive.size, dtype=np.float32))
            self.pending += positive.size
            if self.pending >= self.kept + _STREAM_VALUES // 4:
                self._merge()

    def _merge(self) -> None:
        if not self.parts:
            return
        values, keys = np.concatenate(self.parts), np.concatenate(self.keys)
        if values.size > _STREAM_VALUES:
            keep = np.argpartition(keys, _STREAM_VALUES)[:_STREAM_VALUES]
            values, keys = values[keep], keys[keep]
        self.parts, self.keys = [values], [keys]
        self.pending = self.kept = values.size

    def reduce(self, how: float | str) -> float:
        self._merge()
        if self.pending == 0:
            return 1.0  # a silent unit: any threshold works
        return self.max if how == "max" else float(np.percentile(self.parts[0], how))


def calibrate(graph: Graph, data: Any, normalization: float | str, granularity: str,
              seed: int = 0) -> tuple[dict[str, np.ndarray], float, float]:
    """Scales of every ReLU node (per layer, or per channel = dim 1), of the output and of the
    input (for rate-coded inputs).

    The activations are kept whole while they hold at most ``_KEEP_VALUES`` numbers (the
    percentile of all positive values, or of a random ``_MAX_VALUES`` of them); beyond that
    (e.g. 60,000 images through a convolutional network: tens of GB) every layer or channel
    keeps a streamed uniform random sample of ``_STREAM_VALUES`` positive values and its
    exact maximum instead (:class:`_Sample`), in bounded memory."""
    relus = {n.name for n in graph.nodes if n.op == "relu"}
    collected: dict[str, list[torch.Tensor]] = {name: [] for name in relus}
    outputs = []
    rng = np.random.default_rng(seed)
    streamed: _Streamed | None = None
    kept_values, input_max = 0, 0.0
    with torch.no_grad():
        for batch in iter_batches(data, graph.embedding):
            out, kept = ann_forward(graph, batch, record=relus)
            if batch.numel():
                input_max = max(input_max, float(batch.abs().max()))
            if streamed is not None:
                streamed.add(kept, out)
                continue
            for name, value in kept.items():
                collected[name].append(value)
            outputs.append(out)
            kept_values += sum(v.numel() for v in kept.values()) + out.numel()
            if kept_values > _KEEP_VALUES:  # from here on, streamed samples
                streamed = _Streamed(granularity, rng)
                for k in range(len(outputs)):
                    streamed.add({name: chunks[k] for name, chunks in collected.items()},
                                 outputs[k])
                collected, outputs = {}, []
    # signed (embeddings): the largest |value|, in float32 as the inputs
    input_scale = float(torch.tensor(input_max).clamp(min=1e-12))
    if streamed is not None:
        return streamed.scales(normalization), streamed.output.reduce(normalization), input_scale
    if not outputs:
        raise ValueError("calibration_data is empty")
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
    return scales, output_scale, input_scale


class _Streamed:
    """The :class:`_Sample` of every ReLU layer (one per channel for ``granularity="channel"``)
    and of the output."""

    def __init__(self, granularity: str, rng: np.random.Generator) -> None:
        self.granularity, self.rng = granularity, rng
        self.layers: dict[str, list[_Sample]] = {}
        self.channel_wise: set[str] = set()
        self.output = _Sample(rng)

    def add(self, kept: dict[str, torch.Tensor], out: torch.Tensor) -> None:
        for name, value in kept.items():
            if name not in self.layers:
                if self.granularity == "channel" and value.dim() >= 2:
                    self.channel_wise.add(name)
                    self.layers[name] = [_Sample(self.rng) for _ in range(value.shape[1])]
                else:
                    self.layers[name] = [_Sample(self.rng)]
            if name in self.channel_wise:
                for c, sample in enumerate(self.layers[name]):
                    sample.add(value.select(1, c))
            else:
                self.layers[name][0].add(value)
        self.output.add(out)

    def scales(self, how: float | str) -> dict[str, Any]:
        return {name: (np.array([s.reduce(how) for s in parts], np.float32)
                       if name in self.channel_wise else np.float32(parts[0].reduce(how)))
                for name, parts in self.layers.items()}
