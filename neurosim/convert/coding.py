"""Input encoding (constant current or Poisson spikes) and output decoding (membrane or spike
count) of a converted network.

Token ids. A network converted from a model whose first op is an embedding lookup with a mean
(``EmbeddingBag(mode="mean")``, or ``Embedding`` then ``mean(dim=1)``) takes padded token ids
(N, L). The lookup-and-mean is the input encoding: it runs once per sample, in floating point,
outside the spiking network (as the pixel values of an image are given, not computed by
neurons), and its output (N, D) is the input of the first layer: a constant current in every
step, or with ``encoding="poisson"`` signed Bernoulli spikes (amplitude +-``input_scale``,
probability ``|x| / input_scale``; embeddings are signed, pixels are not). Everything after
it runs as IF/LIF neurons. Its cost (L x D additions per sample) is the same for the ANN and
the SNN and is counted in neither's MACs or SynOps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from neurosim.convert.ir import InputEmbedding
from neurosim.convert.options import ConversionOptions, neuron_params
from neurosim.neurons.lif import LIFState, lif_run


def as_float_tensor(name: str, x: Any) -> torch.Tensor:
    """``x`` (tensor, array or nested lists of real numbers) as a finite float32 tensor.

    Complex values are a ``TypeError`` (never silently made real), so are strings and objects;
    NaN, infinities and values beyond float32's range are a ``ValueError``."""
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"{name} is complex ({x.dtype}): pass real values")
        if x.dtype == torch.bool or not (x.is_floating_point() or x.dtype in _INT_DTYPES):
            raise TypeError(f"{name} must hold real numbers, got a tensor of {x.dtype}")
        source = x.detach().cpu()
    else:
        try:
            source = np.asarray(x)
        except (ValueError, TypeError) as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
        if source.dtype.kind == "c":
            raise TypeError(f"{name} is complex ({source.dtype}): pass real values")
        if source.dtype.kind not in "fiu":
            raise TypeError(f"{name} must hold real numbers, got dtype {source.dtype}")
    wide = torch.as_tensor(source)
    if wide.is_floating_point() and not torch.isfinite(wide).all():
        raise ValueError(f"{name} must be finite (no NaN or infinity)")
    out = wide.to(torch.float32)
    if not torch.isfinite(out).all():
        raise ValueError(f"{name} has values beyond float32's range (about 3.4e38)")
    return out


_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def as_labels(name: str, y: Any, n: int) -> np.ndarray:
    """Class labels: ``n`` whole numbers >= 0 (NaN, fractions, negatives and a wrong length are
    errors, never cast)."""
    arr = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if arr.dtype.kind not in "fiub" or arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"{name} must have one label per input ({n}), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ValueError(f"{name} must be whole numbers (no NaN or fractions)")
    if n and arr.min() < 0:
        raise ValueError(f"{name} must be >= 0, got {arr.min()}")
    return arr.astype(np.int64)


def as_token_ids(name: str, x: Any, num_embeddings: int | None = None) -> torch.Tensor:
    """``x`` as an int64 tensor (N, L) of token ids, checked: whole numbers (integer dtypes, or
    floats holding whole numbers), L >= 1, and in ``[0, num_embeddings)`` when given."""
    if isinstance(x, torch.Tensor) and not x.is_floating_point() and x.dtype in _INT_DTYPES:
        ids = x.detach().cpu().to(torch.int64)
    else:
        values = as_float_tensor(name, x)
        if not torch.equal(values, values.round()):
            raise ValueError(f"{name} must hold token ids (whole numbers), got fractions")
        ids = values.to(torch.int64)
    if ids.dim() != 2 or ids.shape[1] < 1:
        raise ValueError(f"{name} must be token ids of shape (N, L) with L >= 1 (one padded "
                         f"row of ids per sample), got shape {tuple(ids.shape)}")
    if ids.numel() and (int(ids.min()) < 0 or (num_embeddings is not None
                                               and int(ids.max()) >= num_embeddings)):
        raise ValueError(f"{name} holds token ids from {int(ids.min())} to {int(ids.max())}; "
                         + (f"the embedding has ids 0 to {num_embeddings - 1}"
                            if num_embeddings else "ids must be >= 0"))
    return ids


def embed(ids: torch.Tensor, embedding: InputEmbedding) -> torch.Tensor:
    """The input encoding of token ids (N, L) -> (N, D) float32: the mean of their embeddings,
    padding skipped (``EmbeddingBag``) or counted (``Embedding`` + mean), exactly as PyTorch
    computes it."""
    weight = torch.from_numpy(embedding.weight)
    if embedding.exclude_padding:
        return F.embedding_bag(ids, weight, mode="mean", padding_idx=embedding.padding_idx)
    return F.embedding(ids, weight, embedding.padding_idx).mean(dim=1)


def as_inputs(x: Any, input_shape: tuple,
              embedding: InputEmbedding | None = None) -> torch.Tensor:
    """``x`` as a float32 tensor (N, \\*input_shape), checked; with an ``embedding``, ``x``
    holds token ids (N, L), any L, and the result is their encoding (N, D).

    Raises
    ------
    TypeError
        Complex or non-numeric values.
    ValueError
        Wrong shape, or values that are not finite (not token ids in range).
    """
    if embedding is not None:
        return embed(as_token_ids("x", x, embedding.num_embeddings), embedding)
    x = as_float_tensor("x", x)
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(f"x must have shape (N, {', '.join(map(str, input_shape))}), got "
                         f"{tuple(x.shape)}")
    return x


def repeat_over_time(value: torch.Tensor, n_steps: int) -> torch.Tensor:
    """(B, ...) -> (T*B, ...): the same value in every step (a broadcast, no copy until
    reshaped)."""
    return value.unsqueeze(0).expand((n_steps,) + tuple(value.shape)).reshape(
        (-1,) + tuple(value.shape[1:]))


def encode(x: torch.Tensor, n_steps: int, encoding: str, input_scale: float,
           generator: torch.Generator | None) -> torch.Tensor:
    """Input for every step, (T*B, ...): the image itself (``"constant"``), or Bernoulli spikes
    of amplitude ``input_scale`` with probability ``|x| / input_scale`` and the sign of ``x``
    (``"poisson"``; ``input_scale`` is the calibration data's largest ``|x|``)."""
    if encoding == "constant":
        return repeat_over_time(x, n_steps)
    prob = (x.abs() / input_scale).clamp(0, 1)
    draws = torch.rand((n_steps,) + tuple(x.shape), generator=generator)
    spikes = (draws < prob).to(torch.float32) * (torch.sign(x) * input_scale)
    return spikes.reshape((-1,) + tuple(x.shape[1:]))


def output_counts(currents: torch.Tensor, output_scale: float,
                  options: ConversionOptions) -> np.ndarray:
    """Cumulative spike counts (T, B, K) of IF output neurons with threshold = the output
    scale (at most one spike per step, like every neuron here)."""
    n_steps = currents.shape[0]
    normalised = (currents / output_scale).reshape(n_steps, -1).to(torch.float32)
    params = neuron_params(options)
    state = LIFState.initial(normalised.shape[1], params, np.float32, v0=options.v_init)
    run = lif_run(normalised.numpy(), params, 1.0, state, dtype=np.float32,
                  backend=options.backend)
    return np.cumsum(run.spikes, axis=0).reshape(currents.shape)


def decode(result: dict, timesteps: int, decoding: str) -> np.ndarray:
    """Class indices after ``timesteps`` steps of a simulation ``result``: the largest output
    membrane, or (``"count"``) the most output spikes with ties broken by the membrane."""
    simulated = len(result["membrane"])
    if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)) or not (
            1 <= timesteps <= simulated):
        raise ValueError(f"timesteps must be a whole number from 1 to the {simulated} steps "
                         f"simulated, got {timesteps!r}")
    membrane = result["membrane"][timesteps - 1]
    if decoding == "count":
        counts = result["counts"][timesteps - 1]
        low = membrane.min(axis=1, keepdims=True)
        span = membrane.max(axis=1, keepdims=True) - low + 1e-12
        return np.argmax(counts + 0.5 * (membrane - low) / span, axis=1)  # ties: membrane
    return np.argmax(membrane, axis=1)
