"""Step 1: capture the model's graph with ``torch.export`` on an example input.

Export (unlike plain ``torch.fx`` symbolic tracing) runs the model's Python with a real input,
so ``forward`` methods that check shapes or branch on them trace fine. The ATen graph is
translated node by node into the IR; any operation without a translation stops conversion with a
:class:`ConversionError` naming the operation, its module path and what is supported.

A model with ``nn.Embedding`` / ``nn.EmbeddingBag`` modules takes token ids: it is exported on
an int64 example. ``EmbeddingBag(mode="mean")`` on a 2-D (N, L) tensor (one bag per row; the
offsets ``torch.export`` writes for that are checked, then dropped), and ``Embedding`` followed
by ``mean(dim=1)``, become one ``embedding`` node; where it may stand (first) is checked by
:func:`neurosim.convert.normalize.split_input_embedding`.
"""

from __future__ import annotations

import copy
import operator
import warnings
from typing import Any

import numpy as np
import torch

from neurosim.convert.coding import as_token_ids
from neurosim.convert.ir import EMBEDDING_SUPPORTED, ConversionError, Graph, Node

aten = torch.ops.aten

SUPPORTED = (
    "Linear, Conv1d/Conv2d (stride, padding, dilation, groups, bias), ReLU (module, F.relu, "
    "torch.relu, .relu()), AvgPool2d, AdaptiveAvgPool2d, MaxPool2d, BatchNorm1d/2d, Dropout, "
    "Flatten / flatten / view / reshape, Identity, residual addition, mean over H and W; as "
    "the first op only: EmbeddingBag(mode='mean') on (N, L) token ids, or Embedding followed "
    "by mean(dim=1)"
)
_ARANGE = (aten.arange.start_step, aten.arange.start, aten.arange.default)
_EMBEDDING_BAG = (aten.embedding_bag.padding_idx, aten.embedding_bag.default,
                  aten._embedding_bag.default)


def _np(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().to(torch.float64).numpy()


def _over_h_w(tensor_arg, dims) -> bool:
    """Whether ``mean(dims)`` of a 4-D (N, C, H, W) input averages exactly H and W, in any
    order or sign (``(2, 3)``, ``(-1, -2)``...)."""
    value = getattr(tensor_arg, "meta", {}).get("val")
    rank = value.dim() if value is not None else 4
    if rank != 4 or dims is None:
        return False
    return sorted(int(d) % rank for d in dims) == [2, 3]


def _string_padding(padding: str, weight, stride, dilation, module: str) -> list[int]:
    """``padding="valid"`` or ``"same"`` as integers (``"same"`` pads ``dilation * (k - 1)``
    in all, split evenly; PyTorch puts an odd extra on one side, which a symmetric
    convolution cannot express)."""
    if padding == "valid":
        return [0] * len(stride)
    kernel = list(weight.shape[2:])
    total = [d * (k - 1) for d, k in zip(dilation, kernel)]
    if padding != "same" or any(t % 2 for t in total):
        raise ConversionError(f"padding={padding!r} at {module} with kernel {kernel} pads "
                              "unevenly; use an odd kernel or integer padding")
    return [t // 2 for t in total]


def _pair(v: Any, dims: int) -> tuple:
    if isinstance(v, (list, tuple)):
        return tuple(int(x) for x in v) if len(v) == dims else tuple(int(v[0]) for _ in
                                                                    range(dims))
    return tuple(int(v) for _ in range(dims))


def export_graph(model: torch.nn.Module, example: torch.Tensor) -> Graph:
    """Export a copy of ``model`` in eval mode (the user's model is not touched). A module
    loaded from a ``torch.export`` file carries its program, which is translated as it is."""
    program = getattr(model, "exported_program", None)
    if isinstance(program, torch.export.ExportedProgram):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return _translate(program.run_decompositions({}))
    model_copy = copy.deepcopy(model).eval()
    if any(isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag)) for m in model.modules()):
        example = as_token_ids("calibration_data", example)
    try:
        with warnings.catch_warnings():  # torch.export's own deprecation chatter
            warnings.simplefilter("ignore", FutureWarning)
            exported = torch.export.export(model_copy, (example,)).run_decompositions({})
    except Exception as exc:
        raise ConversionError(f"torch.export could not capture the model: {exc}") from exc
    return _translate(exported)


def _module_path(fx_node) -> str:
    stack = fx_node.meta.get("nn_module_stack") or {}
    if not stack:
        return "<forward>"
    path, kind = list(stack.values())[-1]
    kind_name = getattr(kind, "__name__", str(kind)).split(".")[-1]
    return f"{path or '<root>'} ({kind_name})"


def _translate(exported) -> Graph:
    sig = exported.graph_signature
    params = {**sig.inputs_to_parameters, **sig.inputs_to_buffers}
    state = {**exported.state_dict, **getattr(exported, "constants", {})}
    values: dict[str, Any] = {}  # fx name -> tensor for parameters / constants
    nodes: list[Node] = []
    alias: dict[str, str] = {}  # fx name -> IR name (for no-op nodes)
    user_inputs = list(sig.user_inputs)
    output_name = None
    aranges: dict[str, tuple] = {}  # fx name -> arange arguments (EmbeddingBag offsets)

    def ref(arg) -> str:
        return alias.get(arg.name, arg.name)

    for fx in exported.graph_module.graph.nodes:
        val = fx.meta.get("val")
        if isinstance(val, (tuple, list)):  # BatchNorm returns (output, stats...)
            val = val[0]
        shape = tuple(val.shape[1:]) if hasattr(val, "shape") else ()
        if fx.op == "placeholder":
            if fx.name in params:
                values[fx.name] = state[params[fx.name]]
            elif fx.name in user_inputs:
                nodes.append(Node(fx.name, "input", [], shape=shape))
            else:
                raise ConversionError(f"unexpected graph input {fx.name}")
            continue
        if fx.op == "output":
            outs = fx.args[0]
            if len(outs) != 1:
                raise ConversionError("the model must return a single tensor of class scores")
            output_name = ref(outs[0])
            continue
        module = _module_path(fx)
        target = fx.target
        args = fx.args

        def w(i, args=args):
            return values[args[i].name] if len(args) > i and args[i] is not None else None

        def add(op, inputs, _name=fx.name, _module=module, _shape=shape, **p):
            nodes.append(Node(_name, op, [ref(a) for a in inputs], p, _module, _shape))

        if target in _ARANGE:
            aranges[fx.name] = args  # the offsets of an EmbeddingBag's bags (checked there)
        elif target in _EMBEDDING_BAG:
            _embedding_bag(nodes, fx, ref, aranges, _np32(w(0)), module)
        elif target is aten.embedding.default:
            if ref(args[1]) != nodes[0].name:
                raise ConversionError(f"Embedding at {module} does not read the model's input; "
                                      f"{EMBEDDING_SUPPORTED}")
            padding = args[2] if len(args) > 2 and args[2] is not None and args[2] >= 0 else None
            add("lookup", [args[1]], weight=_np32(w(0)), padding_idx=padding)
        elif target is aten.mean.dim and _lookup_mean(nodes, ref(args[0]), args, module):
            alias[fx.name] = ref(args[0])
        elif target is aten.linear.default:
            add("linear", [args[0]], weight=_np(w(1)), bias=_np(w(2)))
        elif target in (aten.conv2d.default, aten.conv1d.default, aten.convolution.default,
                        aten.conv2d.padding, aten.conv1d.padding):
            dims = w(1).dim() - 2
            if target is aten.convolution.default:
                stride, padding, dilation, transposed, _, groups = args[3:9]
                if transposed:
                    raise ConversionError(f"transposed convolution at {module} is not supported; "
                                          f"supported: {SUPPORTED}")
            else:
                stride, padding, dilation, groups = (list(args[3:7]) + [1, 0, 1, 1][len(
                    args[3:7]):])
            if isinstance(padding, str):
                padding = _string_padding(padding, w(1), _pair(stride, dims),
                                          _pair(dilation, dims), module)
            add("conv", [args[0]], weight=_np(w(1)), bias=_np(w(2)), dims=dims,
                stride=_pair(stride, dims), padding=_pair(padding, dims),
                dilation=_pair(dilation, dims), groups=int(groups))
        elif target in (aten.relu.default, aten.relu_.default):
            add("relu", [args[0]])
        elif target in (aten._native_batch_norm_legit_no_training.default,
                        aten.batch_norm.default, aten._native_batch_norm_legit.default):
            if target is aten.batch_norm.default:
                gamma, beta, mean, var = w(1), w(2), w(3), w(4)
                eps = args[7]
            elif target is aten._native_batch_norm_legit.default:
                gamma, beta, mean, var = w(1), w(2), w(3), w(4)
                eps = args[7]
            else:
                gamma, beta, mean, var = w(1), w(2), w(3), w(4)
                eps = args[6]
            scale = _np(gamma) / np.sqrt(_np(var) + eps) if gamma is not None else \
                1.0 / np.sqrt(_np(var) + eps)
            shift = (_np(beta) if beta is not None else 0.0) - _np(mean) * scale
            add("affine", [args[0]], scale=scale, shift=shift)
        elif target is operator.getitem:
            alias[fx.name] = ref(args[0])  # the BatchNorm output tuple: element 0
        elif target in (aten.dropout.default, aten.clone.default, aten.alias.default,
                        aten.contiguous.default, aten.detach.default) or (
                target is aten.native_dropout.default):
            alias[fx.name] = ref(args[0])
        elif target in (aten.view.default, aten.reshape.default, aten._unsafe_view.default,
                        aten.flatten.using_ints):
            add("reshape", [args[0]])
        elif target in (aten.avg_pool2d.default,):
            kernel = _pair(args[1], 2)
            stride = _pair(args[2] if len(args) > 2 and args[2] else kernel, 2)
            padding = _pair(args[3] if len(args) > 3 else 0, 2)
            if (len(args) > 4 and args[4]) or (len(args) > 6 and args[6] is not None):
                raise ConversionError(f"AvgPool2d with ceil_mode or divisor_override at {module}")
            add("avgpool", [args[0]], kernel=kernel, stride=stride, padding=padding,
                count_include_pad=bool(args[5]) if len(args) > 5 else True)
        elif target in (aten.adaptive_avg_pool2d.default, aten._adaptive_avg_pool2d.default):
            add("adaptive_avgpool", [args[0]], output_size=_pair(args[1], 2))
        elif target is aten.mean.dim and _over_h_w(args[0], args[1]):
            add("adaptive_avgpool", [args[0]], output_size=(1, 1),
                keepdim=bool(args[2]) if len(args) > 2 else False)
        elif target in (aten.max_pool2d.default, aten.max_pool2d_with_indices.default):
            kernel = _pair(args[1], 2)
            stride = _pair(args[2] if len(args) > 2 and args[2] else kernel, 2)
            padding = _pair(args[3] if len(args) > 3 else 0, 2)
            dilation = _pair(args[4] if len(args) > 4 else 1, 2)
            if len(args) > 5 and args[5]:
                raise ConversionError(f"MaxPool2d with ceil_mode=True at {module}")
            add("maxpool", [args[0]], kernel=kernel, stride=stride, padding=padding,
                dilation=dilation)
        elif target in (aten.add.Tensor, aten.add_.Tensor) and all(
                hasattr(a, "name") and a.name not in values for a in args[:2]):
            if len(args) > 2 or fx.kwargs.get("alpha", 1) != 1:
                raise ConversionError(f"addition with alpha at {module}")
            add("add", [args[0], args[1]])
        else:
            raise ConversionError(
                f"unsupported operation {getattr(target, '__name__', target)} at {module}; "
                f"supported: {SUPPORTED}")
    if output_name is None:
        raise ConversionError("the exported graph has no output")
    known = {n.name for n in nodes}
    for node in nodes:
        for name in node.inputs:
            if name not in known:  # e.g. an arange used as something else than bag offsets
                raise ConversionError(f"unsupported operation producing {name} (read at "
                                      f"{node.module}); supported: {SUPPORTED}")
    return Graph(nodes, output_name)


def _np32(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().to(torch.float32).numpy().copy()


def _embedding_bag(nodes: list[Node], fx, ref, aranges: dict, weight: np.ndarray,
                   module: str) -> None:
    """An ``embedding_bag`` op on the flattened (N, L) input with offsets 0, L, 2L...: one
    ``embedding`` node on the input (the flattening ``reshape`` node is dropped)."""
    args = list(fx.args) + [None] * 9
    mode, per_sample, last_offset = args[4], args[6], args[7]
    if mode != 1:
        name = {0: "sum", 2: "max"}.get(mode, mode)
        raise ConversionError(f"EmbeddingBag(mode={name!r}) at {module} is not supported; "
                              f"{EMBEDDING_SUPPORTED}")
    flat = next((n for n in nodes if n.name == ref(args[1])), None)
    offsets = aranges.get(getattr(args[2], "name", None))
    row = nodes[0].shape
    step = offsets[2] if offsets is not None and len(offsets) > 2 else None
    if (per_sample is not None or last_offset or flat is None or flat.op != "reshape"
            or flat.inputs != [nodes[0].name] or len(row) != 1 or offsets is None
            or offsets[0] != 0 or step != row[0]):
        raise ConversionError(f"EmbeddingBag at {module} must take the model's input, a 2-D "
                              f"tensor of token ids (one bag per row, no offsets or "
                              f"per_sample_weights); {EMBEDDING_SUPPORTED}")
    nodes.remove(flat)
    padding = args[8] if args[8] is not None and args[8] >= 0 else None
    nodes.append(Node(fx.name, "embedding", [nodes[0].name],
                      {"weight": weight, "padding_idx": padding, "exclude_padding": True},
                      module, (weight.shape[1],)))


def _lookup_mean(nodes: list[Node], source: str, args, module: str) -> bool:
    """Whether ``mean(args)`` averages an Embedding lookup over its tokens (dim 1); if so the
    lookup node becomes an ``embedding`` node (lookup and mean)."""
    lookup = next((n for n in nodes if n.name == source and n.op == "lookup"), None)
    if lookup is None:
        return False
    dims = [int(d) % 3 for d in (args[1] or [])]
    if dims != [1] or (len(args) > 2 and args[2]):
        raise ConversionError(f"mean over dims {list(args[1])} of the Embedding at "
                              f"{lookup.module}; {EMBEDDING_SUPPORTED}")
    lookup.op, lookup.shape = "embedding", lookup.shape[1:]
    lookup.params["exclude_padding"] = False
    return True
