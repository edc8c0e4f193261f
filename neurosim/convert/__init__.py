"""The ANN-to-SNN bridge: :func:`convert` a trained PyTorch classifier into a spiking network.

A fixed pipeline of small steps, each in its own module: trace (``torch.export``) ->
normalise the graph (fold BatchNorm, drop Dropout/Identity, order max-pool after ReLU) ->
calibrate thresholds -> build spiking layers -> simulate -> decode. Unsupported operations stop
the pipeline with :class:`ConversionError`; the user's model is never modified.
"""

from __future__ import annotations

import sys
from typing import Any

import torch

from neurosim.convert.calibrate import calibrate, iter_batches
from neurosim.convert.hybrid import finetune
from neurosim.convert.ir import ConversionError
from neurosim.convert.normalize import normalize
from neurosim.convert.options import ConversionOptions, check_options
from neurosim.convert.snn import SpikingNetwork
from neurosim.convert.trace import export_graph

__all__ = ["ConversionError", "ConversionOptions", "SpikingNetwork", "convert", "finetune"]


def convert(model: torch.nn.Module, calibration_data: Any, **options: Any) -> SpikingNetwork:
    """Convert a trained classifier into a spiking network of IF (or LIF) neurons.

    Parameters
    ----------
    model : torch.nn.Module
        Returns class scores for a batch of inputs. Not modified (weights, ``training`` flag).
    calibration_data : tensor, array or DataLoader
        Inputs (a few hundred to a few thousand) used to set the thresholds.
    **options
        ``normalization`` ("max" or a percentile, default 99), ``granularity``
        ("channel", the default, or "layer"), ``neuron`` ("if" or "lif"), ``reset``
        ("subtract" the threshold, or "value": set to the reset potential 0; "zero" is a
        deprecated alias of "value"), ``encoding`` ("constant" current or "poisson"),
        ``decoding`` ("membrane" or "count"), ``v_init`` (initial potential as a fraction of
        threshold, 0.5), ``backend``, ``seed``. See :class:`ConversionOptions`.

    Raises
    ------
    ConversionError
        An operation of the model has no spiking counterpart (the message names it).
    TypeError, ValueError
        Bad model, data or option values.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    opts = check_options(options)
    example = next(iter(iter_batches(calibration_data)), None)
    if example is None or len(example) == 0:
        raise ValueError("calibration_data is empty")
    was_training = model.training
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        graph = normalize(export_graph(model, example[:2]))
        scales, output_scale, input_scale = calibrate(graph, calibration_data,
                                                      opts.normalization, opts.granularity,
                                                      opts.seed)
    finally:  # export works on a copy; this guards the user's model regardless
        if model.training != was_training:  # (exported modules refuse train() calls)
            model.train(was_training)
        with torch.no_grad():
            for key, value in model.state_dict().items():
                if not torch.equal(value, state[key]):
                    value.copy_(state[key])
    return SpikingNetwork(graph, scales, output_scale, input_scale, opts, tuple(example.shape[1:]))


class _CallableModule(type(sys.modules[__name__])):
    """``neurosim.convert`` is both this package and, called, :func:`convert`, so that
    ``ns.convert(model, data)`` works next to ``ns.convert.ConversionOptions``."""

    def __call__(self, model: torch.nn.Module, calibration_data: Any,
                 **options: Any) -> SpikingNetwork:
        return convert(model, calibration_data, **options)


_CallableModule.__call__.__doc__ = convert.__doc__
sys.modules[__name__].__class__ = _CallableModule
