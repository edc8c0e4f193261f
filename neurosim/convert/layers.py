"""Host drivers of the spiking kernels of a converted network: a layer of IF/LIF neurons, the
spiking max-pool gate, the two fused in one kernel, and the event-driven convolution of
spikes. Tensors in and out are (T*B, ...),
step-major; state arrays carry over between calls (one step at a time)."""

from __future__ import annotations

import math

import numpy as np
import torch

from neurosim.backends import get_backend
from neurosim.convert.ir import NEURON_OPS, Graph, Node
from neurosim.convert.model import ConvertedNetwork
from neurosim.convert.ops import tensor_params


def fused_pool(graph: Graph, node: Node) -> Node | None:
    """The max-pool that is the only reader of ReLU layer ``node``, when the two can run as one
    fused kernel (tiled windows: kernel == stride, no padding, no dilation)."""
    users = graph.users(node.name)
    if len(users) != 1 or users[0].op != "maxpool" or node.name == graph.output or \
            len(node.shape) != 3:
        return None
    p = users[0].params
    tiled = (tuple(p["kernel"]) == tuple(p["stride"]) and tuple(p["padding"]) == (0, 0)
             and tuple(p["dilation"]) == (1, 1))
    return users[0] if tiled else None


def reads_spikes(graph: Graph, node: Node) -> bool:
    """Whether :meth:`KernelLayers.event_driven` runs ``node``: a fully connected layer, or a
    2-D convolution of stride 1 without dilation or groups, whose input is the spikes of a
    neuron layer or spiking max-pool (directly or through reshapes and scalings without
    shift: zeros stay zero)."""
    p = node.params
    if node.op == "conv":
        if not (p["dims"] == 2 and tuple(p["stride"]) == (1, 1)
                and tuple(p["dilation"]) == (1, 1) and p["groups"] == 1):
            return False
    elif node.op != "linear":
        return False
    source = graph.node(node.inputs[0])
    while _keeps_zeros(source):
        source = graph.node(source.inputs[0])
    return source.op in NEURON_OPS


def _keeps_zeros(node: Node) -> bool:
    """A reshape, or a scaling without shift: a zero input stays zero."""
    if node.op == "affine":
        shift = node.params.get("shift")
        return shift is None or not np.any(shift)
    return node.op == "reshape"


class KernelLayers:
    """The spiking layers of ``net`` on its backend's kernels."""

    def __init__(self, net: ConvertedNetwork) -> None:
        self.net = net
        self.kernels = get_backend(net.options.backend)
        self.v_init = net.options.v_init
        self.r_m, self.decay, self.gain, self.leaky, self.subtract = net.neuron_args()
        self._outputs: dict[str, np.ndarray] = {}  # kernel outputs, reused per node

    def neurons(self, node: Node, currents: torch.Tensor, n_steps: int,
                state: np.ndarray | None = None, invariant: bool = False
                ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """IF/LIF neurons over T steps: currents (T*B, ...) (or (B, ...) when the same in every
        step) -> spikes of amplitude lambda (T*B, ...), the state, and spike counts (B, ...)."""
        rows = 1 if invariant else n_steps
        flat = currents.to(torch.float32).contiguous().numpy().reshape(rows, -1)
        scale, inv_scale = self.net.scales_1d(node.name)
        inner = math.prod(node.shape[1:]) if scale.size > 1 else 1
        n = flat.shape[1]
        if state is None:
            state = np.full(n, self.v_init, np.float32)
        out = np.empty((n_steps, n), np.float32)
        counts = np.zeros(n, np.int32)
        self.kernels.spiking_layer(flat, inv_scale, scale, np.int64(inner), state, self.decay,
                                   self.gain, self.r_m, self.leaky, self.subtract, out, counts)
        batch = n // math.prod(node.shape)
        spikes = torch.from_numpy(out).reshape((n_steps * batch,) + tuple(node.shape))
        return spikes, state, counts.reshape((batch,) + tuple(node.shape))

    def event_driven(self, node: Node, spikes: torch.Tensor,
                     params: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Layer ``node`` (see :func:`reads_spikes`) on spikes, (T*B, C, H, W) for a
        convolution or (..., F) for a fully connected layer, driven by the nonzero inputs
        (:func:`neurosim.kernels.cpu.sparse_conv2d`; a fully connected layer is a 1x1
        convolution of a 1x1 image): the same currents as the dense op up to the order of the
        sum. A convolution's result is an NCHW view of channels-last memory, the layout the
        next neuron layer reads without a copy. ``params`` replaces the node's weight and
        bias (the trainable copies of :mod:`neurosim.convert.hybrid`)."""
        p = tensor_params(node, torch.float32) if params is None else params
        weight = p["weight"].detach().to(torch.float32).contiguous().numpy()
        bias = (p["bias"].detach().to(torch.float32).numpy() if p.get("bias") is not None
                else np.zeros(weight.shape[0], np.float32))
        spikes = spikes.detach().to(torch.float32)
        if node.op == "linear":
            rows = spikes.reshape(-1, 1, 1, weight.shape[1]).contiguous().numpy()
            out = self._event_driven(node.name, rows, weight[:, :, None, None], bias, 0, 0)
            return torch.from_numpy(out).reshape(tuple(spikes.shape[:-1]) + (weight.shape[0],))
        nhwc = spikes.permute(0, 2, 3, 1).contiguous().numpy()
        out = self._event_driven(node.name, nhwc, weight, bias, int(node.params["padding"][0]),
                                 int(node.params["padding"][1]))
        return torch.from_numpy(out).permute(0, 3, 1, 2)

    def _event_driven(self, name: str, x: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                      pad_h: int, pad_w: int) -> np.ndarray:
        """The kernel's output array, written into the one of the previous call for the same
        node when the shapes agree (every rule consumes a layer's currents before it runs
        the layer again; fresh memory of this size, tens of MB per chunk, costs the kernel
        15% more in first-touch page faults)."""
        shape = (x.shape[0], x.shape[1] + 2 * pad_h - weight.shape[2] + 1,
                 x.shape[2] + 2 * pad_w - weight.shape[3] + 1, weight.shape[0])
        out = self.kernels.sparse_conv2d(x, weight, bias, pad_h, pad_w,
                                         self._previous(name, shape))
        self._outputs[name] = out  # (the kernel allocates, aligned, when given None)
        return out

    def _reusable(self, name: str, shape: tuple) -> np.ndarray:
        """A float32 output array for node ``name``: the previous call's when the shapes agree
        (see :meth:`_event_driven`)."""
        out = self._previous(name, shape)
        if out is None:
            out = self._outputs[name] = np.empty(shape, np.float32)
        return out

    def _previous(self, name: str, shape: tuple) -> np.ndarray | None:
        """The output array of node ``name``'s previous call, if it has ``shape``."""
        previous = self._outputs.get(name)
        return previous if previous is not None and previous.shape == shape else None

    def maxpool(self, node: Node, spikes: torch.Tensor, n_steps: int,
                counts: np.ndarray | None = None
                ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """Spiking max-pool over T steps: (spikes out, input counts state, output counts)."""
        p = node.params
        shape = spikes.shape  # (T*B, C, H, W)
        maps = spikes.reshape(n_steps, -1, shape[-2], shape[-1]).contiguous().numpy()
        out_hw = tuple(node.shape[-2:])
        if counts is None:  # state: running spike counts of the inputs
            counts = np.zeros(maps.shape[1:], np.int32)
        out = np.empty((n_steps, maps.shape[1]) + out_hw, np.float32)
        out_counts = np.zeros((maps.shape[1],) + out_hw, np.int32)
        self.kernels.maxpool_gate(
            maps, *(np.asarray(p[k], np.int64) for k in ("kernel", "stride", "padding",
                                                         "dilation")), counts, out, out_counts)
        batch = shape[0] // n_steps
        return (torch.from_numpy(out).reshape((shape[0], shape[1]) + out_hw), counts,
                out_counts.reshape((batch, shape[1]) + out_hw))

    def neurons_maxpool(self, node: Node, pool: Node, currents: torch.Tensor, n_steps: int,
                        invariant: bool) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """IF/LIF layer ``node`` and the max-pool ``pool`` reading it in one kernel: (pooled
        spikes (T*B, C, Ho, Wo), the neurons' spike counts (B, C, H, W), the pool's output
        counts (B, C, Ho, Wo)). The full-resolution spikes are never materialised. The kernel
        works channels-last; the pooled spikes come back as an NCHW view of channels-last
        memory, the layout PyTorch's CPU convolutions are fastest on (the next layer)."""
        channels, height, width = node.shape
        rows = 1 if invariant else n_steps
        batch = currents.shape[0] // rows
        nhwc = currents.to(torch.float32).permute(0, 2, 3, 1).contiguous().numpy().reshape(
            rows, batch, height, width, channels)  # no copy when already channels-last
        scale, inv_scale = (np.ascontiguousarray(np.broadcast_to(a, channels))
                            for a in self.net.scales_1d(node.name))
        v = np.full((batch, height, width, channels), self.v_init, np.float32)
        counts = np.zeros((batch, height, width, channels), np.int32)
        out_h, out_w = pool.shape[-2:]
        best = np.zeros((batch * out_h, channels), np.int32)
        best_fired = np.zeros((batch * out_h, channels), np.uint8)
        out = self._reusable(node.name, (n_steps, batch, out_h, out_w, channels))
        out_counts = np.zeros((batch, out_h, out_w, channels), np.int32)
        kernel = pool.params["kernel"]
        self.kernels.spiking_maxpool(
            nhwc, inv_scale, scale, np.int64(kernel[0]), np.int64(kernel[1]), v, self.decay,
            self.gain, self.r_m, self.leaky, self.subtract, counts, best, best_fired, out,
            out_counts)
        pooled = torch.from_numpy(out).reshape(n_steps * batch, out_h, out_w, channels)
        return (pooled.permute(0, 3, 1, 2), counts.transpose(0, 3, 1, 2),
                out_counts.transpose(0, 3, 1, 2))
