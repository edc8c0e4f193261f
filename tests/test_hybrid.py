"""Hybrid conversion: the differentiable twin of a converted network gives neurosim's spikes, its
surrogate derivative is the arctan one, and fine-tuning at low T brings accuracy back."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from neurosim import zoo
from neurosim.convert import convert, finetune
from neurosim.convert.hybrid import HybridNetwork, spike
from neurosim.datasets import load
from tests.test_convert import MODELS, _data


@pytest.mark.parametrize("name", ["conv2d_batchnorm_maxpool", "residual_functional_relu",
                                  "avgpool_adaptive", "conv_of_spikes"])
@pytest.mark.parametrize("options", [{}, {"reset": "value"}, {"neuron": "lif"},
                                     {"encoding": "poisson", "seed": 3},
                                     {"granularity": "layer"}])
def test_forward_gives_the_spikes_of_the_simulation(name, options):
    build, shape = MODELS[name]
    x = _data(shape, n=12)
    snn = convert(build().eval(), x, **options)
    steps = 12
    with torch.no_grad():
        out = HybridNetwork(snn)(x, steps)
    membrane = torch.cumsum(out.to(torch.float64), dim=0).numpy()
    np.testing.assert_array_equal(membrane, snn.simulate(x, steps)["membrane"])


def test_event_driven_layers_have_the_dense_gradients():
    """The twin's layers that read spikes run neurosim's event-driven kernel forward and the
    dense op's gradients backward: against F.conv2d / F.linear on the same spikes."""
    import torch.nn.functional as F

    from neurosim.convert.hybrid import _EventDriven
    from neurosim.convert.layers import KernelLayers

    torch.manual_seed(0)
    snn = convert(MODELS["conv_of_spikes"][0]().eval(), _data((1, 8, 8), n=8))
    layers = KernelLayers(snn)
    for node in snn.graph.nodes:
        if node.op not in ("conv", "linear") or node.name == "conv2d":
            continue
        shape = (5,) + tuple(snn.graph.node(node.inputs[0]).shape)
        x = ((torch.rand(shape) < 0.3) * 1.5).float().requires_grad_()
        w = torch.randn(node.params["weight"].shape, requires_grad=True)
        b = torch.randn(w.shape[0], requires_grad=True)
        grad = torch.randn((5,) + tuple(node.shape))
        ours = _EventDriven.apply(x, w, b, node, layers)
        dense = (F.linear(x, w, b) if node.op == "linear" else
                 F.conv2d(x, w, b, padding=tuple(node.params["padding"])))
        torch.testing.assert_close(ours, dense, rtol=1e-5, atol=1e-5)
        expected = torch.autograd.grad(dense, (x, w, b), grad)
        for got, want in zip(torch.autograd.grad(ours, (x, w, b), grad), expected):
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_surrogate_derivative_is_arctan():
    u = torch.linspace(-1, 1, 21, requires_grad=True)
    s = spike(u, 2.0)
    s.sum().backward()
    assert torch.equal(s.detach(), (u > 0).float())
    expected = 1.0 / (1 + (math.pi * u.detach()) ** 2)
    torch.testing.assert_close(u.grad, expected)


def test_gradients_reach_every_trainable_weight():
    build, shape = MODELS["conv2d_batchnorm_maxpool"]
    x = _data(shape, n=8)
    net = HybridNetwork(convert(build().eval(), x))
    net(x, 4).mean(0).sum().backward()
    assert len(list(net.parameters())) >= 4
    for name, p in net.params.items():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


def test_finetuning_recovers_accuracy_at_low_timesteps():
    data = load("digits", flat=False)
    x, y = torch.from_numpy(data.x_train), data.y_train
    torch.manual_seed(0)
    # the 99.99th percentile (the default until issue 11) loses more at T = 1 than 99 does
    snn = convert(zoo.load_pretrained("digits_mlp"), x, granularity="layer",
                  normalization=99.99)
    steps = 1  # one step: conversion's rate code is at its coarsest
    before = snn.evaluate(data.x_test, data.y_test, timesteps=[steps])
    tuned, losses = finetune(snn, x, y, timesteps=steps, epochs=3, lr=3e-4, seed=0)
    after = tuned.evaluate(data.x_test, data.y_test, timesteps=[steps])
    assert losses[-1] < losses[0]
    gap = before["ann_accuracy"] - before["snn_accuracy"][steps]
    assert gap > 0.3  # T=1 loses much of the ANN's accuracy after conversion ...
    # ... and hybrid fine-tuning brings at least half of it back
    assert after["snn_accuracy"][steps] > before["snn_accuracy"][steps] + gap / 2


def test_source_network_is_unchanged_and_result_is_reproducible():
    build, shape = MODELS["conv2d_batchnorm_maxpool"]
    x = _data(shape, n=16)
    y = np.arange(16) % 3
    snn = convert(build().eval(), x)
    reference = snn.simulate(x, 6)["membrane"]
    tuned, _ = snn.finetune(x, y, timesteps=4, epochs=2, lr=1e-3, seed=1)
    again, _ = snn.finetune(x, y, timesteps=4, epochs=2, lr=1e-3, seed=1)
    np.testing.assert_array_equal(snn.simulate(x, 6)["membrane"], reference)
    tuned_membrane = tuned.simulate(x, 6)["membrane"]
    assert not np.array_equal(tuned_membrane, reference)
    np.testing.assert_array_equal(tuned_membrane, again.simulate(x, 6)["membrane"])


def test_bad_arguments():
    snn = convert(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), torch.rand(8, 3))
    x = torch.rand(4, 3)
    with pytest.raises(ValueError, match="labels"):
        snn.finetune(x, [0, 1, 2, 0])
    with pytest.raises(ValueError, match="one label per input"):
        snn.finetune(x, [0, 1])
    with pytest.raises(ValueError, match="timesteps"):
        snn.finetune(x, [0, 1, 1, 0], timesteps=0)
    with pytest.raises(ValueError, match="lr"):
        snn.finetune(x, [0, 1, 1, 0], lr=-1.0)
    with pytest.raises(ValueError, match="shape"):
        snn.finetune(torch.rand(4, 5), [0, 1, 1, 0])
    with pytest.raises(TypeError, match="SpikingNetwork"):
        finetune(object(), x, [0, 1, 1, 0])
