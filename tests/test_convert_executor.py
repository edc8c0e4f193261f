"""The one graph walk of the converter (:func:`neurosim.convert.executor.run_graph`), every way
of running a converted network through it, the layering of the conversion modules, and the
``reset`` option's vocabulary."""

import ast
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from neurosim.convert import ConversionError, ConversionOptions, convert
from neurosim.convert.ann import ann_forward
from neurosim.convert.executor import run_graph
from neurosim.convert.hybrid import HybridNetwork
from neurosim.convert.ir import Graph, Node
from tests.test_convert import MODELS, _data


class _Trace:
    """Rules that record the order of the calls and pass names along as values."""

    def __init__(self):
        self.calls = []

    def _rule(self, kind):
        def rule(node, inputs):
            self.calls.append((kind, node.name, tuple(inputs)))
            return node.name
        return rule

    def __getattr__(self, kind):
        return self._rule(kind)


def _graph():
    return Graph([Node("x", "input", []), Node("fc", "linear", ["x"]), Node("r", "relu", ["fc"]),
                  Node("p", "maxpool", ["r"]), Node("skip", "add", ["p", "fc"]),
                  Node("out", "reshape", ["skip"])], "out")


def test_run_graph_calls_each_rule_once_in_order_with_its_inputs():
    rules = _Trace()
    assert run_graph(_graph(), "x", rules) == "out"
    assert rules.calls == [("linear", "fc", ("x",)), ("relu", "r", ("fc",)),
                           ("maxpool", "p", ("r",)), ("linear", "skip", ("p", "fc")),
                           ("linear", "out", ("skip",))]


def test_run_graph_from_a_start_node_sees_earlier_values_as_none():
    rules = _Trace()
    assert run_graph(_graph(), "r", rules, start="r") == "out"
    assert rules.calls == [("maxpool", "p", ("r",)), ("linear", "skip", ("p", None)),
                           ("linear", "out", ("skip",))]


def test_run_graph_refuses_an_op_without_rule():
    graph = Graph([Node("x", "input", []), Node("s", "sigmoid", ["x"])], "s")
    with pytest.raises(ConversionError, match="sigmoid"):
        run_graph(graph, "x", _Trace())


@pytest.mark.parametrize("options", [{}, {"reset": "value", "granularity": "layer"}])
def test_every_way_of_running_the_graph_agrees(options):
    """ANN pass, all steps at once, one step at a time, the hybrid twin and the snnTorch export:
    one network (fused ReLU + max-pool, a residual add, avg-pools) through every rule table."""
    from neurosim.interop.snntorch import to_snntorch

    for name in ("conv2d_batchnorm_maxpool", "residual_functional_relu", "avgpool_adaptive"):
        build, shape = MODELS[name]
        model = build().eval()
        x = _data(shape, n=10)
        snn = convert(model, x, **options)
        steps = 16
        with torch.no_grad():
            np.testing.assert_allclose(ann_forward(snn.graph, x)[0].numpy(), model(x).numpy(),
                                       rtol=1e-4, atol=1e-5)
            twin = torch.cumsum(HybridNetwork(snn)(x, steps).to(torch.float64), dim=0).numpy()
            exported = to_snntorch(snn)
            exported_membrane = exported(x, steps).numpy()
        batched = snn.simulate(x, steps)
        np.testing.assert_allclose(snn.simulate_stepwise(x, steps), batched["membrane"],
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(twin, batched["membrane"])
        if options.get("reset", "subtract") == "subtract":  # snnTorch resets a step later
            np.testing.assert_allclose(exported_membrane, batched["membrane"][-1], rtol=1e-4,
                                       atol=1e-4)
            for layer, counts in exported.spike_counts.items():
                assert float(counts.sum()) == batched["spikes"][layer], (name, layer)


def test_reset_zero_is_a_deprecated_alias_of_value():
    model = MODELS["conv2d_batchnorm_maxpool"][0]().eval()
    x = _data((1, 8, 8), n=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        canonical = convert(model, x, reset="value")
    with pytest.warns(DeprecationWarning, match="'zero' is deprecated, use reset='value'"):
        aliased = convert(model, x, reset="zero")
    assert aliased.options.reset == canonical.options.reset == "value"
    np.testing.assert_array_equal(aliased.simulate(x, 12)["membrane"],
                                  canonical.simulate(x, 12)["membrane"])
    with pytest.warns(DeprecationWarning):
        assert ConversionOptions(reset="zero").reset == "value"


def test_reset_value_differs_from_subtract_and_bad_resets_name_the_choices():
    model = MODELS["conv2d_batchnorm_maxpool"][0]().eval()
    x = _data((1, 8, 8), n=16)
    value = convert(model, x, reset="value").simulate(x, 24)["membrane"]
    subtract = convert(model, x).simulate(x, 24)["membrane"]
    assert not np.array_equal(value, subtract)
    with pytest.raises(ValueError, match="'subtract', 'value'"):
        convert(nn.Sequential(nn.Linear(3, 2)), torch.rand(4, 3), reset="clip")


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``path`` imports, at any depth (a function-level import
    counts): ``from a.b import c`` reads module ``a.b.c`` if there is one, else ``a.b``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found & modules


def test_conversion_modules_import_downwards_only():
    root = Path(__file__).resolve().parents[1] / "neurosim"
    modules = {}
    for folder in ("convert", "interop"):
        for path in (root / folder).glob("*.py"):
            name = f"neurosim.{folder}" + ("" if path.stem == "__init__" else f".{path.stem}")
            modules[name] = path
    edges = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    for name, targets in edges.items():
        if name.startswith("neurosim.convert"):
            assert not any(t.startswith("neurosim.interop") for t in targets), (name, targets)
    state = dict.fromkeys(edges, 0)  # 0 new, 1 on the path, 2 done

    def visit(name, path):
        state[name] = 1
        for target in edges[name]:
            assert state[target] != 1, f"import cycle: {' -> '.join(path + [target])}"
            if state[target] == 0:
                visit(target, path + [target])
        state[name] = 2

    for name in edges:
        if state[name] == 0:
            visit(name, [name])
