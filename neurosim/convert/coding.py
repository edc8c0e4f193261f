"""Input encoding (constant current or Poisson spikes) and output decoding (membrane or spike
count) of a converted network."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from neurosim.convert.options import ConversionOptions, neuron_params
from neurosim.neurons.lif import LIFState, lif_run


def as_inputs(x: Any, input_shape: tuple) -> torch.Tensor:
    """``x`` as a float32 tensor (N, \\*input_shape), checked.

    Raises
    ------
    ValueError
        Wrong shape, or values that are not finite.
    """
    x = torch.as_tensor(x.cpu() if isinstance(x, torch.Tensor) else np.asarray(x),
                        dtype=torch.float32)
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(f"x must have shape (N, {', '.join(map(str, input_shape))}), got "
                         f"{tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("x must be finite (no NaN or infinity)")
    return x


def repeat_over_time(value: torch.Tensor, n_steps: int) -> torch.Tensor:
    """(B, ...) -> (T*B, ...): the same value in every step (a broadcast, no copy until
    reshaped)."""
    return value.unsqueeze(0).expand((n_steps,) + tuple(value.shape)).reshape(
        (-1,) + tuple(value.shape[1:]))


def encode(x: torch.Tensor, n_steps: int, encoding: str, input_scale: float,
           generator: torch.Generator | None) -> torch.Tensor:
    """Input for every step, (T*B, ...): the image itself (``"constant"``), or Bernoulli spikes
    of amplitude ``input_scale`` with probability ``x / input_scale`` (``"poisson"``)."""
    if encoding == "constant":
        return repeat_over_time(x, n_steps)
    prob = (x / input_scale).clamp(0, 1)
    draws = torch.rand((n_steps,) + tuple(x.shape), generator=generator)
    return ((draws < prob).to(torch.float32) * input_scale).reshape((-1,) + tuple(x.shape[1:]))


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
    membrane = result["membrane"][timesteps - 1]
    if decoding == "count":
        counts = result["counts"][timesteps - 1]
        low = membrane.min(axis=1, keepdims=True)
        span = membrane.max(axis=1, keepdims=True) - low + 1e-12
        return np.argmax(counts + 0.5 * (membrane - low) / span, axis=1)  # ties: membrane
    return np.argmax(membrane, axis=1)
