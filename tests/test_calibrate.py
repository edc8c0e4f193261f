"""Calibration in bounded memory: past ``_KEEP_VALUES`` kept activations, every layer or
channel keeps a streamed random sample of its positive values; below ``_STREAM_VALUES``
per sample that is all of them, so the thresholds equal those of the whole activations."""

import importlib

import numpy as np
import pytest
import torch

from neurosim.convert.normalize import normalize
from neurosim.convert.trace import export_graph
from neurosim.zoo import build

# (the package re-exports the function under the module's name)
cal = importlib.import_module("neurosim.convert.calibrate")


@pytest.fixture(scope="module")
def cnn_graph():
    torch.manual_seed(0)
    model = build("mnist_cnn").eval()
    x = torch.rand(96, 1, 28, 28)
    return normalize(export_graph(model, x[:2])), x


@pytest.mark.parametrize("granularity", ["channel", "layer"])
@pytest.mark.parametrize("normalization", [99.0, "max"])
def test_streamed_calibration_equals_whole_below_the_sample_size(cnn_graph, monkeypatch,
                                                                 granularity, normalization):
    graph, x = cnn_graph
    whole = cal.calibrate(graph, x, normalization, granularity)
    monkeypatch.setattr(cal, "_KEEP_VALUES", 0)  # stream from the first batch on
    monkeypatch.setattr(cal, "_STREAM_VALUES", 4_000_000)  # above any layer's count here
    streamed = cal.calibrate(graph, torch.utils.data.DataLoader(x, batch_size=32),
                             normalization, granularity)
    assert whole[0].keys() == streamed[0].keys()
    for name in whole[0]:
        np.testing.assert_array_equal(whole[0][name], streamed[0][name], err_msg=name)
    assert whole[1] == streamed[1] and whole[2] == streamed[2]


def test_streamed_sample_is_bounded_and_uniform(monkeypatch):
    """Past the sample size the percentile comes from a uniform random sample: close to the
    whole data's, with at most the sample size kept."""
    monkeypatch.setattr(cal, "_STREAM_VALUES", 1000)
    sample = cal._Sample(np.random.default_rng(0))
    values = np.random.default_rng(1).exponential(size=50_000).astype(np.float32)
    for lo in range(0, values.size, 700):
        sample.add(torch.from_numpy(values[lo:lo + 700]))
        assert sample.pending < 1000 + 250 + 700
    assert sample.reduce("max") == values.max()
    assert sample.parts[0].size == 1000
    assert abs(sample.reduce(90.0) - np.percentile(values, 90.0)) < 0.25
    assert cal._Sample(np.random.default_rng(0)).reduce(99.0) == 1.0  # nothing positive
