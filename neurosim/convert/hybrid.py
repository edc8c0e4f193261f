"""Hybrid conversion: fine-tune a converted network with surrogate gradients at few time steps.

Conversion gives good spiking networks at T = 32 or more; at T = 4 to 8 the rate code is too
coarse and accuracy drops. Hybrid conversion (Rathi et al., ICLR 2020) starts from the converted
network and trains it further *as a spiking network* at the low T, with backpropagation through
time and a surrogate for the derivative of the spike. The conversion provides the thresholds and
a good starting point; the few epochs of spiking training recover what the coarse code lost.

:class:`HybridNetwork` is a differentiable twin of a :class:`SpikingNetwork`: the same graph,
thresholds (amplitudes lambda), initial potential, reset, input encoding and spiking max-pool
gate, run layer at a time in PyTorch. Its forward pass gives neurosim's spikes (tested against
:meth:`SpikingNetwork.simulate`); its backward pass replaces the Heaviside step's derivative by
the arctan surrogate ``alpha / 2 / (1 + (pi / 2 * alpha * u) ** 2)`` (snnTorch's default,
``u = v - threshold`` in units of the threshold), with the reset detached from the graph (as in
snnTorch). Weights, biases and folded BatchNorm affines train; the calibrated thresholds stay.
:meth:`HybridNetwork.to_spiking` writes the trained weights into a new :class:`SpikingNetwork`,
which neurosim's kernels then simulate at any T.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F

from neurosim.checks import check_scalar
from neurosim.convert.coding import as_inputs, as_labels
from neurosim.convert.executor import OverTime, run_graph
from neurosim.convert.ir import LINEAR_OPS, Node
from neurosim.convert.layers import KernelLayers, reads_spikes
from neurosim.convert.model import ConvertedNetwork
from neurosim.convert.ops import PARAM_KEYS


class _ArctanSpike(torch.autograd.Function):
    """Heaviside ``u > 0`` forward; arctan surrogate derivative backward."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, alpha: float) -> torch.Tensor:  # noqa: D102
        ctx.save_for_backward(u)
        ctx.alpha = alpha
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple:  # noqa: D102
        (u,) = ctx.saved_tensors
        alpha = ctx.alpha
        return grad * (alpha / 2) / (1 + (math.pi / 2 * alpha * u) ** 2), None


class _EventDriven(torch.autograd.Function):
    """A layer that reads spikes (:func:`~neurosim.convert.layers.reads_spikes`): forward by
    neurosim's event-driven kernel, so the twin sums its currents exactly as the simulation
    does; backward the dense op's gradients."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                node: Node, layers: KernelLayers) -> torch.Tensor:  # noqa: D102
        ctx.save_for_backward(x, weight)
        ctx.node = node
        ctx.has_bias = bias is not None
        return layers.event_driven(node, x, {"weight": weight, "bias": bias}).clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple:  # noqa: D102
        x, weight = ctx.saved_tensors
        node = ctx.node
        if node.op == "linear":
            rows, out_rows = x.reshape(-1, x.shape[-1]), grad.reshape(-1, grad.shape[-1])
            grad_x = grad @ weight
            grad_w = out_rows.T @ rows
            grad_b = out_rows.sum(0)
        else:
            padding = tuple(node.params["padding"])
            grad_x = torch.nn.grad.conv2d_input(x.shape, weight, grad, padding=padding)
            grad_w = torch.nn.grad.conv2d_weight(x, weight.shape, grad, padding=padding)
            grad_b = grad.sum((0, 2, 3))
        return grad_x, grad_w, grad_b if ctx.has_bias else None, None, None


def spike(u: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    """1 where ``u > 0``, else 0; gradient by the arctan surrogate of width ``alpha``."""
    return _ArctanSpike.apply(u, alpha)


def select_by_counts(spikes: torch.Tensor, counts: torch.Tensor, node: Node) -> torch.Tensor:
    """The spiking max-pool's choice, in PyTorch: each window of ``node`` passes ``spikes`` of
    its input with the highest ``counts`` (same shape, (N, C, H, W)), ties to the first in
    row-major order, as :func:`neurosim.kernels.cpu.maxpool_gate` does. The choice is not
    differentiated; the gradient flows to the chosen input."""
    p = node.params
    h, w = spikes.shape[-2:]
    order = torch.arange(h * w, dtype=torch.float32).reshape(h, w) / (h * w + 1)
    _, idx = F.max_pool2d(counts - order, p["kernel"], p["stride"], p["padding"],
                          p["dilation"], return_indices=True)
    return spikes.flatten(2).gather(2, idx.flatten(2)).reshape(idx.shape)


def maxpool_gate(spikes: torch.Tensor, n_steps: int, node: Node) -> torch.Tensor:
    """The spiking max-pool over T steps, (T*B, C, H, W) -> (T*B, C, H', W'): the counts are
    the inputs' spikes so far, this step included."""
    per_step = spikes.detach().reshape((n_steps, -1) + tuple(spikes.shape[1:]))
    counts = torch.cumsum((per_step != 0).to(torch.float32), dim=0)
    return select_by_counts(spikes, counts.reshape(spikes.shape), node)


class HybridNetwork(torch.nn.Module):
    """A converted network as a trainable PyTorch module (surrogate-gradient spiking neurons).

    ``forward(x, timesteps)`` returns the output layer's currents per step, (T, B, K); their
    mean over T is the logit estimate, their cumulative sum neurosim's output membrane.
    """

    def __init__(self, snn: ConvertedNetwork, *, alpha: float = 2.0) -> None:
        super().__init__()
        self.snn = snn
        self.alpha = float(check_scalar("alpha", alpha, positive=True))
        self.params = torch.nn.ParameterDict()
        for node in snn.graph.nodes:
            if node.op in LINEAR_OPS:
                for key in PARAM_KEYS:
                    if node.params.get(key) is not None:
                        self.params[f"{node.name}__{key}"] = torch.nn.Parameter(
                            torch.as_tensor(node.params[key], dtype=torch.float32).clone())
        r_m, decay, gain, self._leaky, self._subtract = snn.neuron_args()
        self._r_m, self._decay, self._gain = float(r_m), float(decay), float(gain)

    def _node_params(self, node: Node) -> dict[str, torch.Tensor]:
        return {key: self.params[f"{node.name}__{key}"] for key in PARAM_KEYS
                if f"{node.name}__{key}" in self.params}

    def _neurons(self, node: Node, currents: torch.Tensor, n_steps: int,
                 invariant: bool) -> torch.Tensor:
        """IF/LIF neurons of threshold 1 on ``currents / lambda``, spikes of amplitude lambda:
        the arithmetic of :func:`neurosim.kernels.scalar.lif_neuron_step`, in float32."""
        inv = self.snn.inverse_scale_view(node.name, currents.dim())
        amp = self.snn.scale_view(node.name, currents.dim())
        per_step = currents.reshape(((1 if invariant else n_steps), -1) +
                                    tuple(currents.shape[1:]))
        v = torch.full(per_step.shape[1:], self.snn.options.v_init, dtype=torch.float32)
        out = []
        for t in range(n_steps):
            drive = per_step[0 if invariant else t] * inv
            if self._leaky:
                v_inf = self._r_m * drive
                v = v_inf + (v - v_inf) * self._decay
            else:
                v = v + self._gain * drive
            s = spike(v - 1.0, self.alpha)
            reset = s.detach()
            v = v - reset if self._subtract else v * (1.0 - reset)
            out.append(s * amp)
        return torch.cat(out)

    def forward(self, x: torch.Tensor, timesteps: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
        snn = self.snn
        n_steps = int(timesteps)
        first = snn.graph.nodes[0].name
        constant = snn.options.encoding == "constant"
        if not constant and generator is None:
            generator = torch.Generator().manual_seed(snn.options.seed)
        rules = _HybridRules(self, n_steps, {first} if constant else set())
        out = run_graph(snn.graph, x if constant else snn.encode(x, n_steps, generator), rules)
        return rules.over_time(snn.graph.output, out).reshape((n_steps, x.shape[0], -1))

    def fit(self, x: Any, y: Any, *, timesteps: int = 4, epochs: int = 10, lr: float = 1e-4,
            batch_size: int = 64, seed: int = 0, progress: bool = False) -> list[float]:
        """Adam on the cross-entropy of the mean output current over ``timesteps`` steps
        (backpropagation through time), seeded minibatch order. Returns the mean loss of every
        epoch."""
        x = as_inputs(x, self.snn.input_shape, self.snn.graph.embedding)
        if len(x) == 0:
            raise ValueError("x is empty")
        y = torch.as_tensor(as_labels("y", y, len(x)))
        n_classes = math.prod(self.snn.graph.node(self.snn.graph.output).shape)
        if int(y.min()) < 0 or int(y.max()) >= n_classes:
            raise ValueError(f"labels must be in [0, {n_classes}), got {int(y.min())} to "
                             f"{int(y.max())}")
        for name, value in (("timesteps", timesteps), ("epochs", epochs),
                            ("batch_size", batch_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        check_scalar("lr", lr, positive=True)
        gen = torch.Generator().manual_seed(seed)
        encode_gen = torch.Generator().manual_seed(seed + 1)
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=int(epochs), desc="hybrid fine-tuning", unit="epoch", leave=False)
        losses = []
        self.train()
        for _ in range(int(epochs)):
            order = torch.randperm(len(x), generator=gen)
            total = 0.0
            for i in range(0, len(x), int(batch_size)):
                idx = order[i:i + int(batch_size)]
                opt.zero_grad()
                logits = self(x[idx], int(timesteps), encode_gen).mean(dim=0)
                loss = F.cross_entropy(logits, y[idx])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            losses.append(total / len(x))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4f}")
        if bar is not None:
            bar.close()
        return losses

    def to_spiking(self) -> ConvertedNetwork:
        """A new network of the source's class (a :class:`SpikingNetwork`) with the trained
        weights (the source is unchanged)."""
        graph = copy.deepcopy(self.snn.graph)
        for node in graph.nodes:
            node.params.pop("_tensors", None)
            for key in PARAM_KEYS:
                name = f"{node.name}__{key}"
                if name in self.params:
                    node.params[key] = self.params[name].detach().to(torch.float64).numpy()
        return self.snn.with_graph(graph)


class _HybridRules(OverTime):
    """Rules of :func:`~neurosim.convert.executor.run_graph` for the trainable twin over all T
    steps: the linear ops with the trainable copies of the weights (those that read spikes
    by the simulation's event-driven kernel, on CPU tensors), surrogate-gradient neurons, the
    max-pool gate in PyTorch."""

    def __init__(self, net: HybridNetwork, n_steps: int, invariant: set[str]) -> None:
        super().__init__(n_steps, invariant)
        self.net = net
        self.layers = KernelLayers(net.snn)

    def linear_params(self, node: Node) -> dict[str, torch.Tensor]:
        return self.net._node_params(node)

    def linear(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        if (node.inputs[0] not in self.invariant and inputs[0].device.type == "cpu"
                and reads_spikes(self.net.snn.graph, node)):
            p = self.linear_params(node)
            return _EventDriven.apply(inputs[0], p["weight"], p.get("bias"), node, self.layers)
        return super().linear(node, inputs)

    def relu(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.net._neurons(node, inputs[0], self.n_steps, node.inputs[0] in self.invariant)

    def maxpool(self, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
        return maxpool_gate(self.over_time(node.inputs[0], inputs[0]), self.n_steps, node)


def finetune(snn: ConvertedNetwork, x: Any, y: Any, *, timesteps: int = 4, epochs: int = 10,
             lr: float = 1e-4, batch_size: int = 64, seed: int = 0, alpha: float = 2.0,
             progress: bool = False) -> tuple[ConvertedNetwork, list[float]]:
    """Hybrid conversion: fine-tune a converted network as a spiking network at ``timesteps``
    steps with surrogate gradients. Returns the fine-tuned network (a new one; ``snn`` is
    unchanged) and the mean training loss of every epoch."""
    if not isinstance(snn, ConvertedNetwork):
        raise TypeError(f"snn must be a SpikingNetwork (from neurosim.convert), got "
                        f"{type(snn).__name__}")
    torch.manual_seed(seed)
    net = HybridNetwork(snn, alpha=alpha)
    losses = net.fit(x, y, timesteps=timesteps, epochs=epochs, lr=lr, batch_size=batch_size,
                     seed=seed, progress=progress)
    return net.to_spiking(), losses
