"""Bias correction after conversion (Li et al. 2021): each neuron layer's mean spike value moves
onto the ANN's clipped mean activation; the network given is untouched."""

import numpy as np
import pytest
import torch

from neurosim import zoo
from neurosim.convert import convert
from neurosim.convert.ann import ann_forward
from neurosim.convert.bias_correction import correct_biases
from neurosim.datasets import load


def layer_shifts(net, reference, x, timesteps):
    """Per layer: mean |channel mean of the reference's clipped ANN activation - channel mean
    of ``net``'s spike value|."""
    names = list(net.neuron_layers)
    _, ann = ann_forward(reference.graph, x, record=set(names))
    sim = net.simulate(x, timesteps, record=tuple(names))
    out = {}
    for name in names:
        clipped = torch.minimum(ann[name], net.scale_view(name, ann[name].dim()))
        dims = [0] + list(range(2, clipped.dim()))
        a = clipped.to(torch.float64).mean(dim=dims).numpy()
        s = torch.as_tensor(sim["rates"][name], dtype=torch.float64).mean(dim=dims).numpy()
        out[name] = float(np.mean(np.abs(a - s)))
    return out


@pytest.mark.parametrize("name", ["digits_cnn", "digits_mlp"])
def test_correction_moves_layer_means_onto_the_ann(name):
    data = load("digits", flat=name.endswith("mlp"))
    model = zoo.load_pretrained(name)
    x = torch.from_numpy(data.x_train[:300])
    snn = convert(model, x, normalization=99.0)
    before_params = {n.name: {k: np.copy(v) for k, v in n.params.items()
                              if k in ("bias", "shift") and v is not None}
                     for n in snn.graph.nodes}
    corrected, report = correct_biases(snn, x, timesteps=4)
    assert [r["layer"] for r in report] == list(snn.neuron_layers)
    before, after = layer_shifts(snn, snn, x, 4), layer_shifts(corrected, snn, x, 4)
    assert sum(after.values()) < 0.7 * sum(before.values())
    # the original network is untouched
    for node in snn.graph.nodes:
        for key, value in before_params[node.name].items():
            np.testing.assert_array_equal(node.params[key], value)
    # held-out images: not worse than a point at T = 4
    x_val, y_val = torch.from_numpy(data.x_train[300:700]), data.y_train[300:700]
    acc = snn.evaluate(x_val, y_val, timesteps=[4])["snn_accuracy"][4]
    acc_c = corrected.evaluate(x_val, y_val, timesteps=[4])["snn_accuracy"][4]
    assert acc_c >= acc - 0.01


def test_bad_timesteps():
    data = load("digits")
    snn = convert(zoo.load_pretrained("digits_mlp"), data.x_train[:50])
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="timesteps"):
            correct_biases(snn, data.x_train[:50], timesteps=bad)
