"""A converted network (:func:`neurosim.convert.convert`) as a NIR graph.

Ops map one to one: ``linear`` -> ``Affine`` (``Linear`` without bias), ``conv`` ->
``Conv2d``/``Conv1d``, ``avgpool`` and ``adaptive_avgpool`` (whole tiles) -> ``AvgPool2d``
(+ ``Flatten`` for a mean over H and W), ``reshape`` to one dimension -> ``Flatten``, ``add`` ->
two edges into the same node (NIR sums the edges that reach a node), a standalone per-channel
``affine`` (an unfolded BatchNorm) -> a 1x1 ``Conv2d`` with a diagonal weight (or a diagonal
``Affine``),
and each ``relu`` -> a layer of ``IF`` (or ``LIF``) neurons.

**Normalisation.** A neurosim neuron layer divides its input by its threshold ``lambda`` (per
layer or per channel), fires at 1 and emits spikes of amplitude ``lambda``; NIR spikes are 1.
The thresholds go into the graph exactly: with ``scales="fold"`` (the default: portable to
snnTorch, which wants one threshold per layer) ``1/lambda`` is multiplied into the rows of the
op feeding the layer and ``lambda`` into the columns (input channels) of the ops reading its
spikes (through pools and flattens), the neurons firing at 1; where a side cannot be folded
(a residual sum, a shared input) the threshold becomes ``v_threshold = lambda`` or a ``Scale``
node. With ``scales="nodes"`` every layer keeps ``v_threshold = lambda`` and a ``Scale(lambda)``
node after it, the weights untouched: reading that graph back gives bit-identical spikes.

**Time.** NIR's neurons are continuous-time; neurosim writes them for forward-Euler steps of
``dt_s`` (the discretisation snnTorch and Norse use): ``IF`` with ``r = 1/dt`` (``v += dt r I``
is ``v += I``), ``LIF`` with ``tau = dt / (1 - decay)`` and ``r = r_m`` (``v += dt/tau (v_leak
- v + r I)`` is neurosim's ``v = decay v + (1 - decay) r_m I``), ``v_leak = 0``. With
``if_as_lif=True`` an IF layer is written as a ``LIF`` whose leak is exactly nothing in floating
point (``tau = 1e30 dt``, ``r = 1e30``): the same neuron for readers whose ``IF`` import is
wrong (snnTorch 1.0 reads ``IF`` as a Leaky with ``beta = 0.9``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neurosim.convert.ir import Graph, Node
from neurosim.convert.model import ConvertedNetwork
from neurosim.convert.options import neuron_params

#: NIR's graph metadata keys written by neurosim (read back by :func:`neurosim.interop.nir.load`)
DT_KEY = "neurosim_dt_s"
_PASS_THROUGH = ("avgpool", "adaptive_avgpool", "reshape")
#: ``if_as_lif``: IF neurons written as LIF with tau = this many steps (1 - dt/tau == 1.0
#: exactly in float64 and float32, r = tau/dt: ``v += I``)
IF_TAU_STEPS = 1e30


class NirExportError(ValueError):
    """The network uses something NIR cannot say; the message names the node and what to use."""


def nir_module() -> Any:
    """The ``nir`` package, or an ImportError saying how to install it."""
    try:
        import nir
    except ImportError as exc:
        raise ImportError("NIR interchange needs the nir package: pip install 'neurosim[nir]' "
                          "(or pip install nir nirtorch)") from exc
    return nir


def check_exportable(snn: ConvertedNetwork) -> None:
    """Raise :class:`NirExportError` for what NIR has no word for, naming node and option."""
    first = next((n for n in snn.graph.nodes if n.op == "relu"), None)
    where = f"neuron layer {first.name!r} ({first.module})" if first else "the output neurons"
    if snn.graph.embedding is not None:
        raise NirExportError(
            "NIR has no embedding lookup: this network's input encoding is an EmbeddingBag/"
            "Embedding on token ids; export a network that takes the mean embedding (N, D) as "
            "its input instead (the lookup stays outside, as it does in neurosim)")
    if snn.options.reset != "value":
        raise NirExportError(
            f"NIR has no reset by subtraction (its neurons reset to v_reset): {where} resets by "
            "subtracting the threshold; convert with reset='value' to export to NIR")
    if snn.options.v_init != 0:
        raise NirExportError(
            f"NIR has no initial membrane potential (every neuron starts at 0): {where} starts "
            f"at v_init={snn.options.v_init!r} x threshold; convert with v_init=0 to export")
    for node in snn.graph.nodes:
        if node.op == "maxpool":
            raise NirExportError(
                f"NIR has no max-pooling: node {node.name!r} ({node.module}) max-pools; "
                "use average pooling (nn.AvgPool2d) in the model to export to NIR")
        if node.op not in ("input", "relu", "linear", "conv", "affine", "avgpool",
                           "adaptive_avgpool", "reshape", "add"):
            raise NirExportError(f"NIR has no counterpart of op {node.op!r} at node "
                                 f"{node.name!r} ({node.module})")


def _channel_values(scale: np.ndarray, shape: tuple) -> np.ndarray:
    """Per-channel values (dim 0 of one sample) of ``scale``: a scalar or one per channel."""
    values = np.asarray(scale, np.float64)
    return np.full(shape[0], float(values)) if values.ndim == 0 else values.reshape(-1)


def _per_element(channel_values: np.ndarray, shape: tuple) -> np.ndarray:
    return np.broadcast_to(channel_values.reshape((-1,) + (1,) * (len(shape) - 1)),
                           shape).copy()


def _per_channel(elements: np.ndarray) -> np.ndarray | None:
    """The channel values of a per-element array, or None when it varies within a channel."""
    flat = elements.reshape(elements.shape[0], -1)
    return flat[:, 0].copy() if np.all(flat == flat[:, :1]) else None


class _Folder:
    """Moves each neuron layer's thresholds into the weights around it (``scales="fold"``)."""

    def __init__(self, graph: Graph, params: dict[str, dict]) -> None:
        self.graph, self.params = graph, params

    def fold_in(self, relu: Node, lam: np.ndarray) -> bool:
        """Divide the rows of the op feeding ``relu`` by its thresholds (per output channel)."""
        source = self.graph.node(relu.inputs[0])
        if source.op not in ("linear", "conv", "affine") or \
                [u.name for u in self.graph.users(source.name)] != [relu.name] or \
                source.name == self.graph.output:
            return False
        p = self.params[source.name]
        inverse = 1.0 / lam
        for key in ("weight", "scale", "bias", "shift"):
            if p.get(key) is not None:
                p[key] = p[key] * inverse.reshape((-1,) + (1,) * (p[key].ndim - 1))
        return True

    def _path_end(self, node: Node, elements: np.ndarray) -> tuple[Node, np.ndarray] | None:
        while node.op in _PASS_THROUGH:
            users = self.graph.users(node.name)
            if len(users) != 1 or node.name == self.graph.output:
                return None
            if node.op == "reshape":
                elements = elements.reshape(node.shape)
            else:
                channels = _per_channel(elements)
                if channels is None:
                    return None
                elements = _per_element(channels, node.shape)
            node = users[0]
        if node.op not in ("linear", "conv", "affine") or len(node.inputs) != 1:
            return None
        return node, elements

    def fold_out(self, relu: Node, lam: np.ndarray) -> bool:
        """Multiply the input columns of every op reading ``relu``'s spikes by its thresholds."""
        users = self.graph.users(relu.name)
        if not users or relu.name == self.graph.output:
            return False
        ends = []
        for user in users:
            found = self._path_end(user, _per_element(lam, tuple(relu.shape)))
            if found is None:
                return False
            ends.append(found)
        if len({end.name for end, _ in ends}) != len(ends):
            return False
        planned = []
        for end, elements in ends:
            p = self.params[end.name]
            if end.op == "linear":
                if elements.ndim != 1:
                    return False
                planned.append((p, "weight", p["weight"] * elements[None, :]))
                continue
            channels = _per_channel(elements)
            if channels is None:
                return False
            if end.op == "affine":
                planned.append((p, "scale", p["scale"] * channels))
                continue
            weight = p["weight"]
            groups = end.params["groups"]
            per_group_out, per_group_in = weight.shape[0] // groups, weight.shape[1]
            index = (np.arange(weight.shape[0])[:, None] // per_group_out) * per_group_in + \
                np.arange(per_group_in)[None, :]
            factor = channels[index].reshape(weight.shape[:2] + (1,) * (weight.ndim - 2))
            planned.append((p, "weight", weight * factor))
        for p, key, value in planned:
            p[key] = value
        return True


def converted_to_nir(snn: ConvertedNetwork, *, dt_s: float = 1e-4, scales: str = "fold",
                     if_as_lif: bool = False) -> Any:
    """The NIR graph of a converted network; see :func:`neurosim.interop.nir.to_nir` (and
    :meth:`neurosim.convert.SpikingNetwork.to_nir`)."""
    if isinstance(dt_s, bool) or not isinstance(dt_s, (int, float)) or not (
            math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"dt_s must be a number > 0, got {dt_s!r}")
    if scales not in ("fold", "nodes"):
        raise ValueError(f"scales must be 'fold' or 'nodes', got {scales!r}")
    if not isinstance(if_as_lif, bool):
        raise TypeError(f"if_as_lif must be True or False, got {if_as_lif!r}")
    dt_s = float(dt_s)
    nir = nir_module()
    check_exportable(snn)
    graph = snn.graph
    params = {n.name: {k: (None if v is None else np.array(v, np.float64))
                       for k, v in n.params.items() if k in ("weight", "bias", "scale", "shift")}
              for n in graph.nodes}
    folder = _Folder(graph, params)
    folded_in, folded_out = set(), set()
    if scales == "fold":
        for node in graph.nodes:
            if node.op == "relu":
                lam = _channel_values(snn.scales[node.name], node.shape)
                if folder.fold_in(node, lam):
                    folded_in.add(node.name)
                if folder.fold_out(node, lam):
                    folded_out.add(node.name)
    builder = _Builder(nir, snn, params, dt_s)
    builder.if_as_lif = bool(if_as_lif)
    for node in graph.nodes[1:]:
        builder.add(node, node.name in folded_in, node.name in folded_out)
    return builder.finish()


class _Builder:
    """Writes the NIR nodes and edges of the IR nodes, in order."""

    if_as_lif = False

    def __init__(self, nir: Any, snn: ConvertedNetwork, params: dict, dt_s: float) -> None:
        self.nir, self.snn, self.params, self.dt_s = nir, snn, params, float(dt_s)
        first = snn.graph.nodes[0]
        self.nodes: dict[str, Any] = {"input": nir.Input(input_type=np.array(snn.input_shape))}
        self.edges: list[tuple[str, str]] = []
        self.sources: dict[str, list[str]] = {first.name: ["input"]}

    def _node(self, name: str, nir_node: Any, inputs: list[str]) -> str:
        self.nodes[name] = nir_node
        for node_input in inputs:
            self.edges.extend((source, name) for source in self.sources[node_input])
        return name

    def _neurons(self, shape: tuple, threshold: np.ndarray) -> Any:
        shape = tuple(shape)
        params = neuron_params(self.snn.options)
        v_threshold = _per_element(threshold, shape)
        zeros = np.zeros(shape)
        if not params.leaky and self.if_as_lif:  # 1 - dt/tau is exactly 1: no leak at all
            tau = np.full(shape, IF_TAU_STEPS * self.dt_s)
            return self.nir.LIF(tau=tau, r=np.full(shape, IF_TAU_STEPS), v_leak=zeros,
                                v_threshold=v_threshold, v_reset=zeros.copy())
        if not params.leaky:  # v += dt r I == v + I
            return self.nir.IF(r=np.full(shape, 1.0 / self.dt_s), v_threshold=v_threshold,
                               v_reset=zeros)
        decay = math.exp(-1.0 / self.snn.options.lif_tau_steps)
        return self.nir.LIF(tau=np.full(shape, self.dt_s / (1.0 - decay)),
                            r=np.full(shape, params.r_m), v_leak=zeros.copy(),
                            v_threshold=v_threshold, v_reset=zeros.copy())

    def add(self, node: Node, folded_in: bool, folded_out: bool) -> None:
        nir, p = self.nir, self.params[node.name]
        if node.op == "add":
            self.sources[node.name] = self.sources[node.inputs[0]] + self.sources[node.inputs[1]]
            return
        if node.op == "relu":
            lam = _channel_values(self.snn.scales[node.name], node.shape)
            threshold = np.ones_like(lam) if folded_in else lam
            self._node(node.name, self._neurons(node.shape, threshold), node.inputs)
            self.sources[node.name] = [node.name]
            if not folded_out:
                self.sources[node.name] = [self._node(f"{node.name}_amplitude", nir.Scale(
                    scale=_per_element(lam, tuple(node.shape))), [node.name])]
            return
        in_shape = tuple(self.snn.graph.node(node.inputs[0]).shape)
        made = self._linear_node(node, p, in_shape)
        if made is None:  # a reshape that changes nothing NIR sees
            self.sources[node.name] = list(self.sources[node.inputs[0]])
            return
        name = self._node(node.name, made[0], node.inputs)
        if len(made) > 1:
            name = self._node(f"{node.name}_flatten", made[1], [])
            self.edges.append((node.name, name))
        self.sources[node.name] = [name]

    def _linear_node(self, node: Node, p: dict, in_shape: tuple) -> tuple | None:
        nir, params = self.nir, node.params
        if node.op == "linear":
            if p.get("bias") is None:
                return (nir.Linear(weight=p["weight"]),)
            return (nir.Affine(weight=p["weight"], bias=p["bias"]),)
        if node.op == "conv":
            conv = nir.Conv2d if params["dims"] == 2 else nir.Conv1d
            spatial = in_shape[1:] if params["dims"] == 2 else in_shape[1]
            bias = p["bias"] if p.get("bias") is not None else np.zeros(p["weight"].shape[0])
            return (conv(input_shape=spatial, weight=p["weight"], bias=bias,
                         stride=_arg(params["stride"]), padding=_arg(params["padding"]),
                         dilation=_arg(params["dilation"]), groups=params["groups"]),)
        if node.op == "affine":
            if len(in_shape) == 1:
                return (nir.Affine(weight=np.diag(p["scale"]), bias=p["shift"]),)
            if len(in_shape) != 3:
                raise NirExportError(f"per-channel scale of a {len(in_shape)}-d value at node "
                                     f"{node.name!r} ({node.module}) has no NIR counterpart")
            # a 1x1 convolution with a diagonal weight (NIR's type inference reads grouped
            # convolutions as having weight.shape[1] input channels, so not depthwise)
            weight = np.diag(p["scale"])[:, :, None, None]
            return (nir.Conv2d(input_shape=in_shape[1:], weight=weight, bias=p["shift"],
                               stride=1, padding=0, dilation=1, groups=1),)
        if node.op == "avgpool":
            if any(params["padding"]) and not params["count_include_pad"]:
                raise NirExportError(f"average pooling with padding that excludes the pad at "
                                     f"node {node.name!r} ({node.module}) has no NIR counterpart")
            return (nir.AvgPool2d(kernel_size=np.array(params["kernel"]),
                                  stride=np.array(params["stride"]),
                                  padding=np.array(params["padding"])),)
        if node.op == "adaptive_avgpool":
            return self._adaptive_pool(node, in_shape)
        if node.op == "reshape":
            if len(node.shape) != 1 or math.prod(in_shape) != node.shape[0]:
                raise NirExportError(f"reshape to {node.shape} at node {node.name!r} "
                                     f"({node.module}): NIR can only flatten")
            if len(in_shape) == 1:
                return None
            return (nir.Flatten(input_type={"input": np.array(in_shape)}, start_dim=0,
                                end_dim=-1),)
        raise NirExportError(f"op {node.op!r} at node {node.name!r} has no NIR counterpart")

    def _adaptive_pool(self, node: Node, in_shape: tuple) -> tuple:
        out_h, out_w = node.params["output_size"]
        _, height, width = in_shape
        if height % out_h or width % out_w:
            raise NirExportError(
                f"adaptive average pooling of {height}x{width} to {out_h}x{out_w} at node "
                f"{node.name!r} ({node.module}) has unequal windows, which NIR cannot say")
        kernel = np.array([height // out_h, width // out_w])
        pool = self.nir.AvgPool2d(kernel_size=kernel, stride=kernel.copy(),
                                  padding=np.zeros(2, int))
        if len(node.shape) == 1:  # a mean over H and W: (C,)
            pooled = np.array([in_shape[0], out_h, out_w])
            return pool, self.nir.Flatten(input_type={"input": pooled}, start_dim=0,
                                          end_dim=-1)
        return (pool,)

    def finish(self) -> Any:
        output = self.snn.graph.output
        out_shape = tuple(self.snn.graph.node(output).shape)
        sources = self.sources[output]
        if self.snn.options.decoding == "count":  # the output neurons of count decoding
            self.nodes["output_neurons"] = self._neurons(
                out_shape, np.full(out_shape[0], float(self.snn.output_scale)))
            self.edges.extend((s, "output_neurons") for s in sources)
            sources = ["output_neurons"]
        self.nodes["output"] = self.nir.Output(output_type=np.array(out_shape))
        self.edges.extend((s, "output") for s in sources)
        return self.nir.NIRGraph(nodes=self.nodes, edges=self.edges,
                                 metadata={DT_KEY: self.dt_s}, type_check=False)


def _arg(values: Any) -> Any:
    values = tuple(int(v) for v in values)
    return values[0] if len(values) == 1 else values
