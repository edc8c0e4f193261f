import gzip

import numpy as np
import pytest
import torch

from neurosim import plot, zoo
from neurosim.convert import convert
from neurosim.datasets import DatasetUnavailableError, load


def _png(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.stat().st_size > 2000
    return path


def test_every_plot_renders_headless(tmp_path):
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    spikes = rng.random((300, 40)) < 0.05
    _png(plot.raster(spikes, 1e-4, title="raster"), tmp_path, "raster")
    _png(plot.membrane_traces(rng.random((300, 2)), 1e-4, v_th=0.9, v_reset=0.0,
                              spikes=spikes[:, :2], labels=["a", "b"], unit="mV"), tmp_path, "v")
    _png(plot.population_rate(spikes, 1e-4), tmp_path, "rate")
    _png(plot.isi_histogram(spikes, 1e-4), tmp_path, "isi")
    _png(plot.scaling([1e3, 1e4], {"a": [1, 10], "b": [2, np.nan]}, ylabel="s"), tmp_path, "sc")
    _png(plot.accuracy_vs_timesteps({8: 0.9, 16: 0.95}, 0.97), tmp_path, "acc")
    _png(plot.layer_rates({"relu": 0.1, "relu_1": 0.05}), tmp_path, "layers")
    fig, axes = plt.subplots(1, 2)
    assert plot.raster(spikes, 1e-4, ax=axes[0]) is fig  # draws on the given Axes
    assert len(axes[0].collections) == 1


def test_digits_split():
    data = load("digits")
    assert data.x_train.shape == (1437, 64) and data.x_test.shape == (360, 64)
    assert 0 <= data.x_train.min() and data.x_train.max() <= 1
    images = load("digits", flat=False)
    assert images.x_train.shape == (1437, 1, 8, 8)
    with pytest.raises(ValueError, match="unknown dataset"):
        load("cifar")


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big")
                                                     for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_mnist_from_idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28)))
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, 20))
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (5, 28, 28)))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 5))
    data = load("mnist", data_dir=tmp_path, flat=False)
    assert data.x_train.shape == (20, 1, 28, 28) and data.y_test.shape == (5,)
    assert data.x_train.max() <= 1.0
    with pytest.raises(DatasetUnavailableError, match="no MNIST IDX files"):
        load("mnist", data_dir=tmp_path / "empty")


@pytest.mark.parametrize("name", ["digits_mlp", "digits_cnn"])
def test_bundled_digits_models_convert_within_a_point_at_t32(name):
    # with the validated default (99th percentile, chosen on MNIST validation images by
    # benchmarks/bench_accuracy.py) digits_mlp loses 2 of 360 images at T = 32 (0.56 points;
    # 99.99, the default before, lost at most 1): the bound is 3 images
    data = load("digits", flat=False)
    model = zoo.load_pretrained(name)
    snn = convert(model, torch.from_numpy(data.x_train))
    result = snn.evaluate(data.x_test, data.y_test, timesteps=[32])
    assert result["ann_accuracy"] > 0.97
    assert abs(result["snn_accuracy"][32] - result["ann_accuracy"]) <= 0.01 + 1e-9


def test_model_specs(tmp_path):
    model = zoo.build("digits_mlp")
    torch.save(model.state_dict(), tmp_path / "w.pt")
    loaded = zoo.load_model("neurosim.zoo:build", weights=str(tmp_path / "w.pt"),
                            args_json='["digits_mlp"]')
    x = torch.rand(3, 1, 8, 8)
    model.eval()
    assert torch.allclose(loaded(x), model(x))
    torch.save(model, tmp_path / "whole.pt")
    with pytest.raises(ValueError, match="trust-pickle"):
        zoo.load_model(str(tmp_path / "whole.pt"))
    assert torch.allclose(zoo.load_model(str(tmp_path / "whole.pt"), trust_pickle=True)(x),
                          model(x))
    program = torch.export.export(model, (x,))
    torch.export.save(program, str(tmp_path / "m.pt2"))
    exported = zoo.load_model(str(tmp_path / "m.pt2"))
    assert torch.allclose(exported(x), model(x))
    snn = convert(exported, x)  # a torch.export program converts too
    assert snn.predict(x, timesteps=4).shape == (3,)
    with pytest.raises(FileNotFoundError, match="no model"):
        zoo.load_model(str(tmp_path / "nothing.pt"))
