"""The converted network users hold: simulate, decode, evaluate, fine-tune.

Normalisation by threshold: the IF neurons that replace a ReLU have threshold ``lambda`` (the
max or a percentile of that ReLU's activations on calibration data, per layer or per channel)
and emit spikes of amplitude ``lambda``. A spike train's rate times ``lambda`` then
approximates the ANN activation; this is data-based weight normalisation (Diehl et al. 2015;
Rueckauer et al. 2017) expressed without rewriting the weights, which keeps residual additions
and channel-wise scales exact. Neurons start at ``v_init * threshold`` (0.5 halves the
quantisation error of a rate code) and reset by subtraction unless ``reset="value"``.

The pieces live one responsibility per module: :mod:`~neurosim.convert.options`,
:mod:`~neurosim.convert.coding` (encoding, decoding), :mod:`~neurosim.convert.simulate` (the
kernels' rule tables for :mod:`~neurosim.convert.executor`), :mod:`~neurosim.convert.metrics`
(SynOps, MACs, energy), :mod:`~neurosim.convert.hybrid` (surrogate-gradient fine-tuning).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from neurosim.convert.ann import ann_forward
from neurosim.convert.coding import as_inputs, as_labels, decode
from neurosim.convert.hybrid import finetune
from neurosim.convert.metrics import ENERGY_AC_PJ, ENERGY_MAC_PJ, energy
from neurosim.convert.metrics import ann_macs as graph_macs
from neurosim.convert.model import ConvertedNetwork
from neurosim.convert.options import ConversionOptions
from neurosim.convert.simulate import simulate, simulate_stepwise

__all__ = ["ENERGY_AC_PJ", "ENERGY_MAC_PJ", "ConversionOptions", "SpikingNetwork"]


class SpikingNetwork(ConvertedNetwork):
    """A converted classifier. Build with :func:`neurosim.convert`."""

    def ann_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The ANN's output for ``x`` (the traced graph, float32; token ids for a network whose
        input encoding is an embedding)."""
        if self.graph.embedding is not None:
            x = as_inputs(x, self.input_shape, self.graph.embedding)
        with torch.no_grad():
            return ann_forward(self.graph, x.to(torch.float32))[0]

    # -- simulation ----------------------------------------------------------------------------
    def simulate(self, x: Any, timesteps: int, *, batch_size: int | None = None,
                 record: tuple[str, ...] = ()) -> dict:
        """Simulate ``timesteps`` steps for inputs ``x`` (N, ...).

        Returns a dict with ``membrane`` (T, N, K): the output layer's accumulated potential
        after each step, ``counts`` (T, N, K) when decoding by spike count, per-layer
        ``spikes``, ``synops`` and ``snn_macs`` (operations of layers fed by analog values), and
        for the neuron layers named in ``record`` their mean spike value (rate x threshold)
        per neuron, comparable with the ANN's activations.
        """
        return simulate(self, x, timesteps, batch_size=batch_size, record=record)

    def decode(self, result: dict, timesteps: int) -> np.ndarray:
        """Class indices after ``timesteps`` steps (<= the simulated steps)."""
        return decode(result, timesteps, self.options.decoding)

    def predict(self, x: Any, timesteps: int = 32) -> np.ndarray:
        """Class indices after ``timesteps`` steps."""
        return self.decode(self.simulate(x, timesteps), timesteps)

    def simulate_stepwise(self, x: Any, timesteps: int) -> np.ndarray:
        """The same network, one time step at a time through all layers; returns the
        accumulated output membrane (T, N, K). Slow: for tests and teaching."""
        return simulate_stepwise(self, x, timesteps)

    # -- hybrid conversion -----------------------------------------------------------------------
    def finetune(self, x: Any, y: Any, *, timesteps: int = 4, epochs: int = 10,
                 lr: float = 1e-4, **kwargs: Any) -> tuple[SpikingNetwork, list[float]]:
        """Fine-tune this network as a spiking network at ``timesteps`` steps with surrogate
        gradients (hybrid conversion, :mod:`neurosim.convert.hybrid`). Returns a new network
        and the mean training loss per epoch; this one is unchanged."""
        return finetune(self, x, y, timesteps=timesteps, epochs=epochs, lr=lr, **kwargs)

    # -- interchange -----------------------------------------------------------------------------
    def to_nir(self, *, dt_s: float = 1e-4, scales: str = "fold", if_as_lif: bool = False):
        """This network as a ``nir.NIRGraph`` (the ``nir`` extra); the options and what NIR
        cannot express are described at :func:`neurosim.interop.nir.to_nir`; write it with
        ``nir.write`` or :func:`neurosim.interop.nir.write`."""
        from neurosim.convert.nir_export import converted_to_nir

        return converted_to_nir(self, dt_s=dt_s, scales=scales, if_as_lif=if_as_lif)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, x: Any, y: Any, timesteps: Any = (8, 16, 32, 64), *,
                 batch_size: int | None = None) -> dict[str, Any]:
        """Accuracy at every requested T from one simulation of max(T) steps, with the ANN's
        accuracy, ANN/SNN agreement, firing rate per layer and SynOps vs the ANN's MACs."""
        inputs = as_inputs(x, self.input_shape, self.graph.embedding)  # token ids: encoded
        y = as_labels("y", y, len(inputs))
        requested = np.atleast_1d(np.asarray(timesteps))
        if requested.dtype.kind not in "iu" or not requested.size or requested.min() <= 0:
            raise ValueError(f"timesteps must be positive whole numbers, got {timesteps!r}")
        steps = sorted({int(t) for t in requested})
        with torch.no_grad():
            ann_pred = ann_forward(self.graph, inputs)[0].argmax(dim=1).numpy()
        result = self.simulate(x if self.graph.embedding is not None else inputs, steps[-1],
                               batch_size=batch_size)
        by_t = {}
        for t in steps:
            pred = self.decode(result, t)
            by_t[t] = {"accuracy": float(np.mean(pred == y)),
                       "agreement": float(np.mean(pred == ann_pred))}
        ann_macs = self.ann_macs()
        n_neurons = {n.name: math.prod(n.shape) for n in self.graph.nodes if n.op == "relu"}
        rates = {name: result["spikes"].get(name, 0.0) / (n_neurons[name] * len(y) * steps[-1])
                 for name in self.neuron_layers}
        synops = result["synops"] / len(y)
        snn_macs = result["snn_macs"] / len(y)
        return {
            "ann_accuracy": float(np.mean(ann_pred == y)),
            "snn_accuracy": {t: v["accuracy"] for t, v in by_t.items()},
            "agreement": {t: v["agreement"] for t, v in by_t.items()},
            "firing_rates": rates,
            "synops_per_sample": synops,
            "snn_macs_per_sample": snn_macs,
            "ann_macs_per_sample": ann_macs,
            "timesteps_simulated": steps[-1],
            "energy": self.energy(synops, snn_macs, ann_macs),
            "samples": len(y),
        }

    def ann_macs(self) -> float:
        """Multiply-accumulates of the ANN per sample."""
        return graph_macs(self.graph)

    @staticmethod
    def energy(synops: float, snn_macs: float, ann_macs: float) -> dict[str, float]:
        """Energy per sample in nJ, assuming ENERGY_AC_PJ per synaptic event and ENERGY_MAC_PJ
        per MAC (45 nm figures; real hardware differs, ratios are what this indicates)."""
        return energy(synops, snn_macs, ann_macs)
