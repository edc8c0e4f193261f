"""Converted networks: neurosim against the native spiking peers, the code behind
``neurosim bench convert`` and ``benchmarks/bench_convert.py``.

- **snnTorch as its users write it** (:func:`snntorch_sequential`): an ``nn.Sequential`` of
  ``nn.Conv2d``, ``nn.MaxPool2d``, ``nn.Flatten``, ``nn.Linear`` and
  ``snn.Leaky(beta=1.0, threshold=lambda, init_hidden=True, reset_mechanism="subtract")``,
  loaded with neurosim's converted weights and thresholds, stepped T times in a Python loop with
  the image as a constant input current at every step (:func:`run_snntorch`). Its neurons are
  neurosim's (IF, reset by subtraction, potential starting at ``v_init`` x threshold), but its
  max-pool is ``nn.MaxPool2d`` on spikes (an OR of the window's spikes), where neurosim's
  spiking max-pool passes the spikes of the window's most active input: the layers up to the
  first max-pool compute the same arithmetic (up to float rounding), the later ones do not.
- **SpikingJelly's own converter** (:func:`spikingjelly_convert`): ``ann2snn.Converter`` with a
  ``RateCodingRecipe`` calibrated on the same training images, run T steps as its ann2snn
  example does (:func:`run_spikingjelly`). Its thresholds and max-pool differ from neurosim's,
  so predictions and accuracy are compared, not spike counts.
- the ANN itself (PyTorch inference), for scale.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from neurosim.convert.options import ConversionOptions
from neurosim.convert.snn import SpikingNetwork


#: SpikingJelly recipes: the ann2snn example's robust normalisation (layer-wise 99.9th
#: percentile), and the recipe closest to neurosim's conversion (channel-wise, neurosim's
#: default percentile, potential starting at half the threshold).
def _closest_mode() -> str:
    norm = ConversionOptions().normalization
    return "max" if norm == "max" else f"{norm}%"


SPIKINGJELLY_RECIPES = {
    "example": {"mode": "99.9%"},
    "closest": {"mode": _closest_mode(), "channel_wise": True, "half_threshold": True},
}


def peer_available(name: str) -> bool:
    """Whether the peer library ``snntorch`` or ``spikingjelly`` can be imported."""
    try:
        if name == "snntorch":
            import snntorch  # noqa: F401
        elif name == "spikingjelly":
            from spikingjelly.activation_based import ann2snn, functional  # noqa: F401
        else:
            raise ValueError(f"unknown peer {name!r}; available: snntorch, spikingjelly")
    except ImportError:
        return False
    return True


# -- snnTorch, as its users write it -----------------------------------------------------------
def snntorch_sequential(snn: SpikingNetwork) -> nn.Sequential:
    """The converted network ``snn`` as a native snnTorch model (float32).

    The spikes of ``snn.Leaky`` are 0/1 where neurosim's have amplitude ``lambda`` (the layer's
    threshold): the next layer's weights are multiplied by the ``lambda`` of their input channel
    instead, and every ``Leaky`` has threshold ``lambda`` (one per channel or feature). Only
    chains of ``conv``, ``linear``, ``relu``, ``maxpool``, ``avgpool`` and ``reshape``
    (flatten) are supported; the last node must be linear (its accumulated output is the
    output membrane neurosim decodes)."""
    import snntorch

    if snn.options.neuron != "if" or snn.options.encoding != "constant" or \
            snn.options.reset != "subtract":
        raise ValueError("snntorch_sequential needs IF neurons, constant-current input and "
                         "reset by subtraction (the default conversion options)")
    graph = snn.graph
    layers: list[nn.Module] = []
    amp: torch.Tensor | None = None  # spike amplitude per channel of the current value
    previous = graph.nodes[0].name
    for node in graph.nodes[1:]:
        if node.inputs != [previous]:
            raise ValueError(f"snntorch_sequential takes chains of layers; {node.name} reads "
                             f"{node.inputs}")
        previous = node.name
        p = node.params
        if node.op in ("conv", "linear"):
            weight = torch.as_tensor(p["weight"], dtype=torch.float32).clone()
            if amp is not None:  # 0/1 spikes stand for lambda of their channel
                weight *= amp.reshape((1, -1) + (1,) * (weight.dim() - 2))
            bias = p.get("bias")
            if node.op == "linear":
                layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
            else:
                if p["dims"] != 2:
                    raise ValueError("snntorch_sequential supports 2-d convolutions only")
                layer = nn.Conv2d(weight.shape[1] * p["groups"], weight.shape[0],
                                  tuple(weight.shape[2:]), p["stride"], p["padding"],
                                  p["dilation"], p["groups"], bias=bias is not None)
            with torch.no_grad():
                layer.weight.copy_(weight)
                if bias is not None:
                    layer.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
            layers.append(layer)
            amp = None
        elif node.op == "relu":
            lam = torch.from_numpy(snn.scales_1d(node.name)[0].copy())
            threshold = lam.reshape((-1,) + (1,) * (len(node.shape) - 1)) if lam.numel() > 1 \
                else lam[0]
            layers.append(snntorch.Leaky(beta=1.0, threshold=threshold, init_hidden=True,
                                         reset_mechanism="subtract"))
            amp = lam.expand(node.shape[0]) if lam.numel() == 1 else lam
        elif node.op == "maxpool":
            layers.append(nn.MaxPool2d(p["kernel"], p["stride"], p["padding"], p["dilation"]))
        elif node.op == "avgpool":
            layers.append(nn.AvgPool2d(p["kernel"], p["stride"], p["padding"],
                                       count_include_pad=p["count_include_pad"]))
        elif node.op == "reshape" and len(node.shape) == 1:
            layers.append(nn.Flatten())
            if amp is not None:  # per channel -> per feature (channel-major flattening)
                in_shape = graph.node(node.inputs[0]).shape
                amp = amp.repeat_interleave(math.prod(in_shape[1:]))
        else:
            raise ValueError(f"snntorch_sequential does not support {node.op!r} "
                             f"({node.name})")
    if graph.nodes[-1].op != "linear" or graph.output != graph.nodes[-1].name:
        raise ValueError("the converted network must end in a linear layer")
    net = nn.Sequential(*layers)
    net.v_init = snn.options.v_init  # the neurons' starting potential, x threshold
    net.neuron_shapes = [tuple(graph.node(name).shape) for name in snn.neuron_layers]
    return net.eval()


def _start_membranes(net: nn.Sequential, batch: int) -> None:
    """``snntorch.utils.reset``, then every ``Leaky``'s potential at ``v_init`` x its threshold
    (snnTorch keeps a hidden state that has the input's shape)."""
    import snntorch
    from snntorch import utils

    utils.reset(net)
    leaky = [m for m in net if isinstance(m, snntorch.Leaky)]
    for layer, shape in zip(leaky, net.neuron_shapes):
        layer.mem = (net.v_init * layer.threshold).expand((batch,) + shape).clone()


def run_snntorch(net: nn.Sequential, x: torch.Tensor, timesteps: int,
                 counts: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The snnTorch tutorials' loop: reset, then T steps of the whole model on the same input;
    returns the summed output (the output membrane, (B, K)) and, with ``counts``, every
    ``Leaky`` layer's spike counts."""
    import snntorch

    with torch.no_grad():
        _start_membranes(net, len(x))
        leaky = [m for m in net if isinstance(m, snntorch.Leaky)]
        tallies: list[torch.Tensor] = []
        hooks = []
        if counts:
            def tally(k):
                def hook(_module, _inputs, spikes):
                    if len(tallies) <= k:
                        tallies.append(torch.zeros_like(spikes))
                    tallies[k] += spikes
                return hook
            hooks = [m.register_forward_hook(tally(k)) for k, m in enumerate(leaky)]
        total = None
        try:
            for _ in range(timesteps):
                out = net(x)
                total = out if total is None else total + out
        finally:
            for h in hooks:
                h.remove()
    return total, tallies


# -- SpikingJelly --------------------------------------------------------------------------------
def spikingjelly_convert(model: nn.Module, calibration: torch.Tensor, recipe: str = "example",
                         batch_size: int = 100) -> nn.Module:
    """SpikingJelly's ann2snn conversion of ``model`` (a copy), calibrated on ``calibration``
    in batches of ``batch_size`` as its MNIST example does."""
    import copy

    from spikingjelly.activation_based import ann2snn

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(calibration),
                                         batch_size=batch_size, shuffle=False)
    converter = ann2snn.Converter(recipe=ann2snn.RateCodingRecipe(
        dataloader=loader, **SPIKINGJELLY_RECIPES[recipe]), device="cpu")
    return converter.convert(copy.deepcopy(model).eval()).eval()


def run_spikingjelly(net: nn.Module, x: torch.Tensor, timesteps: int) -> torch.Tensor:
    """SpikingJelly's ann2snn evaluation loop: ``functional.reset_net``, then T steps on the
    same input, outputs summed (B, K)."""
    from spikingjelly.activation_based import functional

    with torch.no_grad():
        functional.reset_net(net)
        total = None
        for _ in range(timesteps):
            out = net(x)
            total = out if total is None else total + out
    return total


# -- neurosim ------------------------------------------------------------------------------------
def neurosim_counts(snn: SpikingNetwork, result: dict, timesteps: int) -> dict[str, np.ndarray]:
    """Spike counts per neuron of every neuron layer, from a simulation that recorded them
    (``record=snn.neuron_layers``): the mean spike value / amplitude x T."""
    counts = {}
    for name in snn.neuron_layers:
        rate = np.asarray(result["rates"][name], np.float64)
        amp = snn.scale_view(name, rate.ndim).double().numpy()
        counts[name] = np.rint(rate / amp * timesteps).astype(np.int64)
    return counts


# -- the check and the timing --------------------------------------------------------------------
def check_snntorch(snn: SpikingNetwork, net: nn.Sequential, x: torch.Tensor, y: np.ndarray,
                   timesteps: int) -> dict[str, Any]:
    """Run both on ``x`` and compare: spike counts per neuron layer (neurons that differ, the
    largest difference), the output membrane and predictions, and both accuracies on ``y``."""
    result = snn.simulate(x, timesteps, record=tuple(snn.neuron_layers))
    ours = neurosim_counts(snn, result, timesteps)
    membrane, tallies = run_snntorch(net, x, timesteps, counts=True)
    layers = {}
    first_pool = next((k for k, n in enumerate(snn.graph.nodes) if n.op == "maxpool"),
                      len(snn.graph.nodes))
    for k, name in enumerate(snn.neuron_layers):
        theirs = tallies[k].double().numpy().astype(np.int64)
        diff = np.abs(theirs - ours[name])
        position = next(i for i, n in enumerate(snn.graph.nodes) if n.name == name)
        layers[name] = {
            "neurons": int(diff.size), "mismatching_neurons": int((diff != 0).sum()),
            "mismatching_images": int((diff.reshape(len(x), -1) != 0).any(axis=1).sum()),
            "max_abs_count_diff": int(diff.max()),
            "neurosim_spikes": int(ours[name].sum()), "snntorch_spikes": int(theirs.sum()),
            "same_arithmetic": position < first_pool,
        }
    ours_pred = snn.decode(result, timesteps)
    theirs_pred = membrane.argmax(dim=1).numpy()
    ann_pred = snn.ann_logits(x).argmax(dim=1).numpy()
    out_diff = np.abs(result["membrane"][timesteps - 1] - membrane.double().numpy())
    return {
        "images": len(x), "layers": layers,
        "max_abs_output_membrane_diff": float(out_diff.max()),
        "prediction_agreement": float(np.mean(ours_pred == theirs_pred)),
        "neurosim_accuracy": float(np.mean(ours_pred == y)),
        "snntorch_accuracy": float(np.mean(theirs_pred == y)),
        "ann_accuracy": float(np.mean(ann_pred == y)),
        "neurosim_ann_agreement": float(np.mean(ours_pred == ann_pred)),
        "snntorch_ann_agreement": float(np.mean(theirs_pred == ann_pred)),
        "equal_where_same_arithmetic": all(v["mismatching_neurons"] == 0
                                           for v in layers.values() if v["same_arithmetic"]),
    }


def check_spikingjelly(snn: SpikingNetwork, nets: dict[str, nn.Module], x: torch.Tensor,
                       y: np.ndarray, timesteps: int) -> dict[str, Any]:
    """Predictions and accuracy of SpikingJelly's conversions next to neurosim's."""
    ours_pred = snn.predict(x, timesteps)
    ann_pred = snn.ann_logits(x).argmax(dim=1).numpy()
    out: dict[str, Any] = {"images": len(x), "neurosim_accuracy": float(np.mean(ours_pred == y)),
                           "ann_accuracy": float(np.mean(ann_pred == y)), "recipes": {}}
    for name, net in nets.items():
        pred = run_spikingjelly(net, x, timesteps).argmax(dim=1).numpy()
        out["recipes"][name] = {
            "recipe": SPIKINGJELLY_RECIPES[name], "accuracy": float(np.mean(pred == y)),
            "agreement_with_neurosim": float(np.mean(pred == ours_pred)),
            "agreement_with_ann": float(np.mean(pred == ann_pred))}
    return out


def measure(fn, repeats: int) -> dict[str, Any]:
    """One untimed warm-up call (JIT compilation, first-call overheads), then the median of
    ``repeats`` timed calls, with the spread (the rule of ``benchmarks/common.py``)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "times_s": times, "repeats": repeats, "warmup_calls": 1}


def measure_interleaved(fns: dict[str, Any], repeats: int) -> dict[str, dict[str, Any]]:
    """:func:`measure` for several sides at once, their timed calls interleaved: one untimed
    warm-up call of each, then ``repeats`` rounds that time every side once, the side that
    goes first rotating. A machine whose speed drifts during the run (a shared host, clock
    changes) then slows every side alike, instead of whichever side ran in the slow minutes."""
    names = list(fns)
    for name in names:
        fns[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return {name: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t),
                   "times_s": t, "repeats": repeats, "warmup_calls": 1, "interleaved": True}
            for name, t in times.items()}


class ConvertBench:
    """The sides of the benchmark, built once: neurosim's conversion of ``model`` (calibrated
    on ``calibration``), the peers of ``compare`` and the ANN."""

    def __init__(self, model: nn.Module, calibration: torch.Tensor,
                 compare: tuple[str, ...] = ("snntorch",)) -> None:
        from neurosim.convert import convert

        unknown = set(compare) - {"snntorch", "spikingjelly"}
        if unknown:
            raise ValueError(f"unknown peer(s) {sorted(unknown)}; available: snntorch, "
                             "spikingjelly")
        self.model = model.eval()
        calibration = torch.as_tensor(calibration, dtype=torch.float32)
        self.snn = convert(self.model, calibration)
        self.snntorch = snntorch_sequential(self.snn) if "snntorch" in compare else None
        self.spikingjelly = None
        if "spikingjelly" in compare:
            self.spikingjelly = {name: _quiet(spikingjelly_convert, model, calibration, name)
                                 for name in SPIKINGJELLY_RECIPES}

    def sides(self, x: torch.Tensor, timesteps: int) -> dict[str, Any]:
        """The timed call of every side on the batch ``x``."""
        def ann() -> torch.Tensor:
            with torch.no_grad():
                return self.model(x)

        out: dict[str, Any] = {"neurosim": lambda: self.snn.simulate(x, timesteps)}
        if self.snntorch is not None:
            out["snntorch"] = lambda: run_snntorch(self.snntorch, x, timesteps)
        if self.spikingjelly is not None:
            out["spikingjelly"] = lambda: run_spikingjelly(self.spikingjelly["example"], x,
                                                           timesteps)
        out["ann"] = ann
        return out

    def time(self, x: torch.Tensor, timesteps: int, repeats: int,
             measure_fn=None) -> dict[str, Any]:
        """Every side timed at the current thread settings (``measure_fn(fn, repeats)`` per
        side, default: all sides interleaved, :func:`measure_interleaved`): medians, images
        per second and neurosim's speedups."""
        x = torch.as_tensor(x, dtype=torch.float32)
        sides = self.sides(x, timesteps)
        if measure_fn is None:
            times = measure_interleaved(sides, repeats)
        else:
            times = {name: measure_fn(fn, repeats) for name, fn in sides.items()}
        result: dict[str, Any] = {"threads": torch.get_num_threads(), "times": times}
        result["images_per_s"] = {name: len(x) / m["median_s"] for name, m in times.items()}
        result["speedup"] = {name: m["median_s"] / times["neurosim"]["median_s"]
                             for name, m in times.items() if name != "neurosim"}
        return result

    def check(self, x: torch.Tensor, y: np.ndarray, timesteps: int) -> dict[str, Any]:
        """The outputs compared (:func:`check_snntorch`, :func:`check_spikingjelly`)."""
        x = torch.as_tensor(x, dtype=torch.float32)
        y = np.asarray(y)
        checks = {}
        if self.snntorch is not None:
            checks["snntorch"] = check_snntorch(self.snn, self.snntorch, x, y, timesteps)
        if self.spikingjelly is not None:
            checks["spikingjelly"] = check_spikingjelly(self.snn, self.spikingjelly, x, y,
                                                        timesteps)
        return checks


def _quiet(fn, *args):
    """``fn(*args)`` without SpikingJelly's progress bars; its log lines (loguru) are switched
    off for the rest of the process."""
    from unittest import mock

    from spikingjelly.activation_based.ann2snn.recipes import rate_coding
    from spikingjelly.logger import logger

    logger.disable("spikingjelly")
    with mock.patch.object(rate_coding, "tqdm", lambda iterable, *a, **k: iterable):
        return fn(*args)


def bench_convert(model: nn.Module, x: torch.Tensor, calibration: torch.Tensor, *,
                  timesteps: int = 32, compare: tuple[str, ...] = ("snntorch",),
                  repeats: int = 5, y: np.ndarray | None = None) -> dict[str, Any]:
    """Images per second of the converted network in neurosim, in the peers of ``compare``
    (``snntorch``: the native model of :func:`snntorch_sequential`; ``spikingjelly``: its own
    conversion) and of the ANN, on the batch ``x`` at the current thread settings: one untimed
    warm-up, then the median of ``repeats`` timed runs each. With labels ``y`` the outputs are
    compared on ``x`` too (``checks``)."""
    bench = ConvertBench(model, calibration, compare)
    result = {"batch": len(x), "timesteps": timesteps, "compare": list(compare),
              **bench.time(x, timesteps, repeats)}
    if y is not None:
        result["checks"] = bench.check(x, y, timesteps)
    return result
