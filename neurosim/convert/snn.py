"""Steps 3-6: calibrate, build the spiking layers, simulate, decode.

Normalisation by threshold: the IF neurons that replace a ReLU have threshold ``lambda`` (the
max or a percentile of that ReLU's activations on calibration data, per layer or per channel)
and emit spikes of amplitude ``lambda``. A spike train's rate times ``lambda`` then
approximates the ANN activation; this is data-based weight normalisation (Diehl et al. 2015;
Rueckauer et al. 2017) expressed without rewriting the weights, which keeps residual additions
and channel-wise scales exact. Neurons start at ``v_init * threshold`` (0.5 halves the
quantisation error of a rate code) and reset by subtraction unless ``reset="zero"``.

Feed-forward layers run one at a time over the whole time window: all T steps of a linear op are
one batched matmul/convolution, then a compiled kernel scans the neurons over T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neurosim.convert.ir import LINEAR_OPS, Graph, Node
from neurosim.convert.ops import apply_linear, event_fanout, fanout
from neurosim.neurons.lif import IFParams, LIFParams, LIFState, lif_run

#: Energy per operation assumed by :meth:`SpikingNetwork.energy` (Horowitz, ISSCC 2014, 45 nm):
#: a 32-bit floating-point multiply-accumulate, and a 32-bit floating-point addition (the
#: accumulate a synaptic event costs).
ENERGY_MAC_PJ = 4.6
ENERGY_AC_PJ = 0.9
_ELEMENT_BUDGET = 24_000_000  # elements per layer tensor in one simulation chunk


@dataclass(frozen=True)
class ConversionOptions:
    normalization: float | str = 99.99  # "max" or a percentile
    granularity: str = "channel"        # or "layer" (channel-wise is more accurate at low T)
    neuron: str = "if"                  # or "lif"
    lif_tau_steps: float = 100.0        # membrane time constant in steps for neuron="lif"
    reset: str = "subtract"             # or "zero"
    encoding: str = "constant"          # or "poisson" (Bernoulli spikes with p = x / max)
    decoding: str = "membrane"          # or "count"
    v_init: float = 0.5
    backend: str = "cpu"
    seed: int = 0


def repeat_over_time(value: torch.Tensor, n_steps: int) -> torch.Tensor:
    """(B, ...) -> (T*B, ...): the same value in every step (a broadcast, no copy until
    reshaped)."""
    return value.unsqueeze(0).expand((n_steps,) + tuple(value.shape)).reshape(
        (-1,) + tuple(value.shape[1:]))


def ann_forward(graph: Graph, x: torch.Tensor, record: set[str] | None = None) -> tuple:
    """Run the IR as the ANN; returns the output and the recorded node values."""
    values = {graph.nodes[0].name: x}
    kept = {}
    for node in graph.nodes[1:]:
        ins = [values[i] for i in node.inputs]
        if node.op in LINEAR_OPS:
            out = apply_linear(node, ins)
        elif node.op == "relu":
            out = torch.relu(ins[0])
        else:  # maxpool
            p = node.params
            out = torch.nn.functional.max_pool2d(ins[0], p["kernel"], p["stride"], p["padding"],
                                                 p["dilation"])
        values[node.name] = out
        if record and node.name in record:
            kept[node.name] = out
    return values[graph.output], kept


class SpikingNetwork:
    """A converted classifier. Build with :func:`neurosim.convert`."""

    def __init__(self, graph: Graph, scales: dict[str, np.ndarray], output_scale: float,
                 input_scale: float, options: ConversionOptions, input_shape: tuple) -> None:
        self.graph = graph
        self.scales = scales
        self.output_scale = output_scale
        self.input_scale = input_scale
        self.options = options
        self.input_shape = tuple(input_shape)
        self.neuron_layers = [n.name for n in graph.nodes if n.op == "relu"]

    # -- ANN side ------------------------------------------------------------------------------
    def ann_logits(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return ann_forward(self.graph, x.to(torch.float32))[0]

    # -- neurons -------------------------------------------------------------------------------
    def _neuron_params(self) -> LIFParams:
        reset = "subtract" if self.options.reset == "subtract" else "value"
        if self.options.neuron == "if":
            return IFParams(tau_m_s=1.0, v_th=1.0, v_reset=0.0, reset=reset)
        decay = math.exp(-1.0 / self.options.lif_tau_steps)
        return LIFParams(tau_m_s=self.options.lif_tau_steps, v_th=1.0, v_reset=0.0,
                         r_m=1.0 / (1.0 - decay), reset=reset)

    def neuron_args(self) -> tuple:
        """``(r_m, decay, gain, leaky, subtract)`` of the neurons (float32 scalars), as the
        spiking kernels and the hybrid twin take them."""
        _, _, _, r_m, decay, gain, leaky, subtract, _ = self._neuron_params().kernel_args(
            1.0, np.dtype(np.float32))
        return r_m, decay, gain, leaky, subtract

    def _scale_view(self, name: str, dims: int) -> torch.Tensor:
        scale = torch.as_tensor(self.scales[name], dtype=torch.float32)
        return scale.reshape((1, -1) + (1,) * (dims - 2)) if scale.ndim else scale

    def inverse_scale_view(self, name: str, dims: int) -> torch.Tensor:
        """float32 reciprocal of the thresholds (what the neurons multiply their input by)."""
        inv = torch.from_numpy(self._scales_1d(name)[1])
        return inv.reshape((1, -1) + (1,) * (dims - 2)) if inv.numel() > 1 else inv[0]

    def _scales_1d(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        scale = np.atleast_1d(np.asarray(self.scales[name], np.float32))
        return scale, (np.float32(1.0) / scale).astype(np.float32)

    def _if_layer(self, node: Node, currents: torch.Tensor, n_steps: int,
                  state: np.ndarray | None = None, invariant: bool = False
                  ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """IF/LIF neurons over T steps: currents (T*B, ...) (or (B, ...) when the same in every
        step) -> spikes of amplitude lambda (T*B, ...), the state, and spike counts (B, ...)."""
        from neurosim.backends import get_backend

        rows = 1 if invariant else n_steps
        flat = currents.to(torch.float32).contiguous().numpy().reshape(rows, -1)
        scale, inv_scale = self._scales_1d(node.name)
        inner = math.prod(node.shape[1:]) if scale.size > 1 else 1
        n = flat.shape[1]
        if state is None:
            state = np.full(n, self.options.v_init, np.float32)
        r_m, decay, gain, leaky, subtract = self.neuron_args()
        out = np.empty((n_steps, n), np.float32)
        counts = np.zeros(n, np.int32)
        get_backend(self.options.backend).spiking_layer(
            flat, inv_scale, scale, np.int64(inner), state, decay, gain, r_m, leaky, subtract,
            out, counts)
        batch = n // math.prod(node.shape)
        spikes = torch.from_numpy(out).reshape((n_steps * batch,) + tuple(node.shape))
        return spikes, state, counts.reshape((batch,) + tuple(node.shape))

    def _maxpool(self, node: Node, spikes: torch.Tensor, n_steps: int,
                 counts: np.ndarray | None = None) -> tuple[torch.Tensor, np.ndarray,
                                                            np.ndarray]:
        """Spiking max-pool over T steps: (spikes out, input counts state, output counts)."""
        from neurosim.backends import get_backend

        p = node.params
        shape = spikes.shape  # (T*B, C, H, W)
        maps = spikes.reshape(n_steps, -1, shape[-2], shape[-1]).contiguous().numpy()
        out_hw = tuple(node.shape[-2:])
        if counts is None:  # state: running spike counts of the inputs
            counts = np.zeros(maps.shape[1:], np.int32)
        out = np.empty((n_steps, maps.shape[1]) + out_hw, np.float32)
        out_counts = np.zeros((maps.shape[1],) + out_hw, np.int32)
        get_backend(self.options.backend).maxpool_gate(
            maps, *(np.asarray(p[k], np.int64) for k in ("kernel", "stride", "padding",
                                                         "dilation")), counts, out, out_counts)
        batch = shape[0] // n_steps
        return (torch.from_numpy(out).reshape((shape[0], shape[1]) + out_hw), counts,
                out_counts.reshape((batch, shape[1]) + out_hw))

    def _fused_pool(self, node: Node) -> Node | None:
        """The max-pool that is the only reader of ReLU layer ``node``, when the two can run as
        one fused kernel (tiled windows: kernel == stride, no padding, no dilation)."""
        users = self.graph.users(node.name)
        if len(users) != 1 or users[0].op != "maxpool" or node.name == self.graph.output or \
                len(node.shape) != 3:
            return None
        p = users[0].params
        tiled = (tuple(p["kernel"]) == tuple(p["stride"]) and tuple(p["padding"]) == (0, 0)
                 and tuple(p["dilation"]) == (1, 1))
        return users[0] if tiled else None

    def _if_maxpool(self, node: Node, pool: Node, currents: torch.Tensor, n_steps: int,
                    invariant: bool) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """IF/LIF layer ``node`` and the max-pool ``pool`` reading it in one kernel: (pooled
        spikes (T*B, C, Ho, Wo), the neurons' spike counts (B, C, H, W), the pool's output
        counts (B, C, Ho, Wo)). The full-resolution spikes are never materialised. The kernel
        works channels-last; the pooled spikes come back as an NCHW view of channels-last
        memory, the layout PyTorch's CPU convolutions are fastest on (the next layer)."""
        from neurosim.backends import get_backend

        channels, height, width = node.shape
        rows = 1 if invariant else n_steps
        batch = currents.shape[0] // rows
        nhwc = currents.to(torch.float32).permute(0, 2, 3, 1).contiguous().numpy().reshape(
            rows, batch, height, width, channels)  # no copy when already channels-last
        scale, inv_scale = (np.ascontiguousarray(np.broadcast_to(a, channels))
                            for a in self._scales_1d(node.name))
        r_m, decay, gain, leaky, subtract = self.neuron_args()
        v = np.full((batch, height, width, channels), self.options.v_init, np.float32)
        counts = np.zeros((batch, height, width, channels), np.int32)
        out_h, out_w = pool.shape[-2:]
        best = np.zeros((batch * out_h, channels), np.int32)
        best_fired = np.zeros((batch * out_h, channels), np.uint8)
        out = np.empty((n_steps, batch, out_h, out_w, channels), np.float32)
        out_counts = np.zeros((batch, out_h, out_w, channels), np.int32)
        kernel = pool.params["kernel"]
        get_backend(self.options.backend).spiking_maxpool(
            nhwc, inv_scale, scale, np.int64(kernel[0]), np.int64(kernel[1]), v, decay, gain, r_m,
            leaky, subtract, counts, best, best_fired, out, out_counts)
        pooled = torch.from_numpy(out).reshape(n_steps * batch, out_h, out_w, channels)
        return (pooled.permute(0, 3, 1, 2), counts.transpose(0, 3, 1, 2),
                out_counts.transpose(0, 3, 1, 2))

    def _encode(self, x: torch.Tensor, n_steps: int, generator: torch.Generator | None):
        """Input for every step, (T*B, ...): the image itself, or Bernoulli spikes."""
        if self.options.encoding == "constant":
            return repeat_over_time(x, n_steps)
        prob = (x / self.input_scale).clamp(0, 1)
        draws = torch.rand((n_steps,) + tuple(x.shape), generator=generator)
        return ((draws < prob).to(torch.float32) * self.input_scale).reshape(
            (-1,) + tuple(x.shape[1:]))

    # -- simulation ----------------------------------------------------------------------------
    def _simulate_chunk(self, x: torch.Tensor, n_steps: int, stats: dict,
                        generator: torch.Generator | None) -> torch.Tensor:
        """Layer-at-a-time; returns the output currents (T, B, K)."""
        batch = x.shape[0]
        first = self.graph.nodes[0].name
        # With constant-current input everything before the first neuron layer is the same in
        # every step: computed once per sample (B, ...) and broadcast over T where needed.
        constant = self.options.encoding == "constant"
        values = {first: x if constant else self._encode(x, n_steps, generator)}
        invariant = {first: constant}
        self._count_input(first, values[first], n_steps, batch, not constant, stats)

        def over_time(name: str) -> torch.Tensor:
            return repeat_over_time(values[name], n_steps) if invariant[name] else values[name]

        fused: set[str] = set()  # max-pools already run with the ReLU layer before them
        for node in self.graph.nodes[1:]:
            if node.name in fused:
                continue
            if node.op in LINEAR_OPS:
                if all(invariant[i] for i in node.inputs):
                    out = apply_linear(node, [values[i] for i in node.inputs])
                    invariant[node.name] = True
                else:
                    out = apply_linear(node, [over_time(i) for i in node.inputs])
                    invariant[node.name] = False
                values[node.name] = out
                continue
            invariant[node.name] = False
            if node.op == "relu":
                source = node.inputs[0]
                pool = self._fused_pool(node)
                if pool is not None:
                    pooled, counts, pool_counts = self._if_maxpool(node, pool, values[source],
                                                                   n_steps, invariant[source])
                    self._count_events(pool.name, pool_counts, stats)
                    values[pool.name] = pooled
                    invariant[pool.name] = False
                    fused.add(pool.name)
                    out = None  # the full-resolution spikes are not materialised
                else:
                    out, _, counts = self._if_layer(node, values[source], n_steps,
                                                    invariant=invariant[source])
                stats["spikes"][node.name] = stats["spikes"].get(node.name, 0.0) + float(
                    counts.sum())
                self._count_events(node.name, counts, stats)
                if node.name in stats["record"]:  # mean spike value = rate x amplitude
                    stats["recorded"].setdefault(node.name, []).append(
                        torch.from_numpy(counts.astype(np.float32)) / n_steps
                        * self._scale_view(node.name, counts.ndim))
            else:
                out, _, counts = self._maxpool(node, over_time(node.inputs[0]), n_steps)
                self._count_events(node.name, counts, stats)
            if out is not None:
                values[node.name] = out
            for name in node.inputs:  # free what no later node reads
                if all(name not in later.inputs for later in
                       self.graph.nodes[self.graph.nodes.index(node) + 1:]) and \
                        name != self.graph.output:
                    values.pop(name, None)
        return over_time(self.graph.output).reshape((n_steps, batch, -1))

    def _fanout(self, source: str, stats: dict) -> np.ndarray:
        fan = stats["fanout"].get(source)
        if fan is None:
            fan = stats["fanout"][source] = event_fanout(self.graph, source).numpy()
        return fan

    def _count_events(self, source: str, counts: np.ndarray, stats: dict) -> None:
        """SynOps: each neuron's spikes (summed over T, counts (B, ...)) times its fan-out to
        the next neuron layer."""
        fan = self._fanout(source, stats)
        stats["synops"] += float((counts.sum(axis=0, dtype=np.float64) * fan).sum())

    def _count_input(self, source: str, values: torch.Tensor, n_steps: int, batch: int,
                     spiking: bool, stats: dict) -> None:
        """The input layer: Poisson spikes are events; an analog input (constant-current
        encoding) costs its dense MACs once per sample (its current is the same every step)."""
        fan = self._fanout(source, stats)
        if spiking:
            counts = (values != 0).reshape((n_steps, batch) + tuple(values.shape[1:])).sum(
                dim=0, dtype=torch.int32).numpy()
            stats["synops"] += float((counts.sum(axis=0, dtype=np.float64) * fan).sum())
        else:
            stats["snn_macs"] += float(fan.sum()) * batch

    def simulate(self, x: Any, timesteps: int, *, batch_size: int | None = None,
                 record: tuple[str, ...] = ()) -> dict:
        """Simulate ``timesteps`` steps for inputs ``x`` (N, ...).

        Returns a dict with ``membrane`` (T, N, K): the output layer's accumulated potential
        after each step, ``counts`` (T, N, K) when decoding by spike count, per-layer
        ``spikes``, ``synops`` and ``snn_macs`` (operations of layers fed by analog values), and
        for the neuron layers named in ``record`` their mean spike value (rate x threshold)
        per neuron, comparable with the ANN's activations.
        """
        x = _as_inputs(x, self.input_shape)
        n_steps = int(timesteps)
        if n_steps <= 0:
            raise ValueError(f"timesteps must be > 0, got {timesteps}")
        if batch_size is None:
            largest = max(math.prod(n.shape) for n in self.graph.nodes if n.shape)
            batch_size = max(1, _ELEMENT_BUDGET // (n_steps * max(largest, 1)))
        generator = torch.Generator().manual_seed(self.options.seed)
        stats: dict[str, Any] = {"spikes": {}, "synops": 0.0, "snn_macs": 0.0, "fanout": {},
                                 "record": set(record), "recorded": {}}
        membranes, counts = [], []
        with torch.no_grad():
            for lo in range(0, len(x), batch_size):
                currents = self._simulate_chunk(x[lo:lo + batch_size], n_steps, stats,
                                                generator)
                membranes.append(torch.cumsum(currents.to(torch.float64), dim=0))
                if self.options.decoding == "count":
                    counts.append(self._output_counts(currents))
        result = {"membrane": torch.cat(membranes, dim=1).numpy(), "spikes": stats["spikes"],
                  "synops": stats["synops"], "snn_macs": stats["snn_macs"],
                  "timesteps": n_steps, "samples": len(x)}
        if counts:
            result["counts"] = np.concatenate(counts, axis=1)
        result["rates"] = {k: torch.cat(v).numpy() for k, v in stats["recorded"].items()}
        return result

    def _output_counts(self, currents: torch.Tensor) -> np.ndarray:
        """Cumulative spike counts (T, B, K) of IF output neurons with threshold = the output
        scale (at most one spike per step, like every neuron here)."""
        n_steps = currents.shape[0]
        normalised = (currents / self.output_scale).reshape(n_steps, -1).to(torch.float32)
        state = LIFState.initial(normalised.shape[1], self._neuron_params(), np.float32,
                                 v0=self.options.v_init)
        run = lif_run(normalised.numpy(), self._neuron_params(), 1.0, state, dtype=np.float32,
                      backend=self.options.backend)
        return np.cumsum(run.spikes, axis=0).reshape(currents.shape)

    def decode(self, result: dict, timesteps: int) -> np.ndarray:
        """Class indices after ``timesteps`` steps (<= the simulated steps)."""
        membrane = result["membrane"][timesteps - 1]
        if self.options.decoding == "count":
            counts = result["counts"][timesteps - 1]
            low = membrane.min(axis=1, keepdims=True)
            span = membrane.max(axis=1, keepdims=True) - low + 1e-12
            return np.argmax(counts + 0.5 * (membrane - low) / span, axis=1)  # ties: membrane
        return np.argmax(membrane, axis=1)

    def predict(self, x: Any, timesteps: int = 32) -> np.ndarray:
        """Class indices after ``timesteps`` steps."""
        return self.decode(self.simulate(x, timesteps), timesteps)

    # -- single steps (the reference for the layer-at-a-time run) --------------------------------
    def simulate_stepwise(self, x: Any, timesteps: int) -> np.ndarray:
        """The same network, one time step at a time through all layers; returns the
        accumulated output membrane (T, N, K). Slow: for tests and teaching."""
        x = _as_inputs(x, self.input_shape)
        generator = torch.Generator().manual_seed(self.options.seed)
        encoded = self._encode(x, timesteps, generator).reshape((timesteps,) + tuple(x.shape))
        states: dict[str, Any] = {}
        membrane = None
        out = []
        with torch.no_grad():
            for t in range(timesteps):
                values = {self.graph.nodes[0].name: encoded[t]}
                for node in self.graph.nodes[1:]:
                    ins = [values[i] for i in node.inputs]
                    if node.op in LINEAR_OPS:
                        values[node.name] = apply_linear(node, ins)
                    elif node.op == "relu":
                        values[node.name], states[node.name], _ = self._if_layer(
                            node, ins[0], 1, states.get(node.name))
                    else:
                        values[node.name], states[node.name], _ = self._maxpool(
                            node, ins[0], 1, states.get(node.name))
                current = values[self.graph.output].reshape(len(x), -1).to(torch.float64)
                membrane = current if membrane is None else membrane + current
                out.append(membrane.clone())
        return torch.stack(out).numpy()

    # -- hybrid conversion -----------------------------------------------------------------------
    def finetune(self, x: Any, y: Any, *, timesteps: int = 4, epochs: int = 10,
                 lr: float = 1e-4, **kwargs: Any) -> tuple[SpikingNetwork, list[float]]:
        """Fine-tune this network as a spiking network at ``timesteps`` steps with surrogate
        gradients (hybrid conversion, :mod:`neurosim.convert.hybrid`). Returns a new network
        and the mean training loss per epoch; this one is unchanged."""
        from neurosim.convert.hybrid import finetune

        return finetune(self, x, y, timesteps=timesteps, epochs=epochs, lr=lr, **kwargs)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, x: Any, y: Any, timesteps: Any = (8, 16, 32, 64), *,
                 batch_size: int | None = None) -> dict[str, Any]:
        """Accuracy at every requested T from one simulation of max(T) steps, with the ANN's
        accuracy, ANN/SNN agreement, firing rate per layer and SynOps vs the ANN's MACs."""
        x = _as_inputs(x, self.input_shape)
        y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y).astype(np.int64)
        steps = sorted({int(t) for t in np.atleast_1d(timesteps)})
        if not steps or steps[0] <= 0:
            raise ValueError(f"timesteps must be positive integers, got {timesteps}")
        if len(y) != len(x):
            raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
        ann_pred = self.ann_logits(x).argmax(dim=1).numpy()
        result = self.simulate(x, steps[-1], batch_size=batch_size)
        by_t = {}
        for t in steps:
            pred = self.decode(result, t)
            by_t[t] = {"accuracy": float(np.mean(pred == y)),
                       "agreement": float(np.mean(pred == ann_pred))}
        ann_macs = self.ann_macs()
        n_neurons = {n.name: math.prod(n.shape) for n in self.graph.nodes if n.op == "relu"}
        rates = {name: result["spikes"].get(name, 0.0) / (n_neurons[name] * len(x) * steps[-1])
                 for name in self.neuron_layers}
        synops = result["synops"] / len(x)
        snn_macs = result["snn_macs"] / len(x)
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
            "samples": len(x),
        }

    def ann_macs(self) -> float:
        macs = 0.0
        for node in self.graph.nodes:
            if node.op in ("linear", "conv", "affine"):
                shape = self.graph.node(node.inputs[0]).shape
                macs += float(fanout(node, tuple(shape)).sum())
        return macs

    @staticmethod
    def energy(synops: float, snn_macs: float, ann_macs: float) -> dict[str, float]:
        """Energy per sample in nJ, assuming ENERGY_AC_PJ per synaptic event and ENERGY_MAC_PJ
        per MAC (45 nm figures; real hardware differs, ratios are what this indicates)."""
        snn = (synops * ENERGY_AC_PJ + snn_macs * ENERGY_MAC_PJ) / 1e3
        ann = ann_macs * ENERGY_MAC_PJ / 1e3
        return {"snn_nj": snn, "ann_nj": ann, "ratio_snn_over_ann": snn / ann if ann else
                float("nan"), "assumed_mac_pj": ENERGY_MAC_PJ, "assumed_ac_pj": ENERGY_AC_PJ}


def _as_inputs(x: Any, input_shape: tuple) -> torch.Tensor:
    x = torch.as_tensor(x.cpu() if isinstance(x, torch.Tensor) else np.asarray(x),
                        dtype=torch.float32)
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(f"x must have shape (N, {', '.join(map(str, input_shape))}), got "
                         f"{tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("x must be finite (no NaN or infinity)")
    return x
