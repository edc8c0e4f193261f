"""The conversion bridge's public boundary (issue 12): bad data is a clear error, never a
silently changed meaning (complex made real, NaN labels cast, a step count wrapped around)."""

import gzip

import numpy as np
import pytest
import torch

import neurosim as ns
from neurosim.convert import convert
from neurosim.datasets import load


@pytest.fixture(scope="module")
def digits():
    return load("digits", flat=False)


@pytest.fixture(scope="module")
def snn(digits):
    model = ns.zoo.load_pretrained("digits_mlp")
    return convert(model, torch.from_numpy(digits.x_train[:200]))


@pytest.fixture(scope="module")
def model():
    return ns.zoo.load_pretrained("digits_mlp")


@pytest.mark.parametrize("bad, error, match", [
    (lambda x: x * np.nan, ValueError, "finite"),
    (lambda x: np.where(x > 0.5, np.inf, x), ValueError, "finite"),
    (lambda x: x.astype(np.complex64), TypeError, "complex"),
    (lambda x: torch.from_numpy(x).to(torch.complex64), TypeError, "complex"),
    (lambda x: x.astype(str), TypeError, "real numbers"),
    (lambda x: x.astype(np.float64) * 1e39, ValueError, "float32"),
])
def test_bad_calibration_data_is_refused(model, digits, bad, error, match):
    with pytest.raises(error, match=match):
        convert(model, bad(digits.x_train[:50]))


def test_bad_inputs_and_labels_are_refused(snn, digits):
    x, y = digits.x_test[:20], digits.y_test[:20]
    with pytest.raises(TypeError, match="complex"):
        snn.predict(x.astype(np.complex64), timesteps=4)
    with pytest.raises(ValueError, match="whole numbers"):
        snn.evaluate(x, np.where(np.arange(20) == 3, np.nan, y.astype(float)), timesteps=4)
    with pytest.raises(ValueError, match="one label per input"):
        snn.evaluate(x, y[:-1], timesteps=4)
    with pytest.raises(ValueError, match=">= 0"):
        snn.evaluate(x, -np.ones(20, int), timesteps=4)
    with pytest.raises(ValueError, match="positive whole numbers"):
        snn.evaluate(x, y, timesteps=[4, 2.5])
    ok = snn.evaluate(x, y.astype(float), timesteps=4)  # 3.0 is a fine label
    assert 0 <= ok["snn_accuracy"][4] <= 1


def test_decode_needs_a_step_that_was_simulated(snn, digits):
    result = snn.simulate(digits.x_test[:5], 8)
    assert snn.decode(result, 8).shape == (5,)
    for t in (0, -1, 9, 2.0, True):
        with pytest.raises(ValueError, match="from 1 to the 8 steps"):
            snn.decode(result, t)


def test_perceptron_score_needs_one_label_per_sample():
    d = load("digits")
    clf = ns.Perceptron(max_epochs=2, seed=0).fit(d.x_train, d.y_train)
    with pytest.raises(ValueError, match="one label per sample"):
        clf.score(d.x_test, d.y_test[:-1])
    with pytest.raises((TypeError, ValueError)):
        clf.score(d.x_test, np.full(len(d.y_test), np.nan))


def _idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _mnist_folder(tmp_path, n_train_labels=10, truncate=False):
    rng = np.random.default_rng(0)
    _idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 255, (10, 28, 28)))
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, n_train_labels))
    _idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 255, (4, 28, 28)))
    _idx(tmp_path / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 4))
    if truncate:
        path = tmp_path / "t10k-images-idx3-ubyte.gz"
        data = gzip.open(path).read()
        with gzip.open(path, "wb") as f:
            f.write(data[:-100])
    return tmp_path


def test_idx_files_are_checked(tmp_path):
    for sub in "abc":
        (tmp_path / sub).mkdir()
    good = load("mnist", data_dir=_mnist_folder(tmp_path / "a"))
    assert good.x_train.shape == (10, 784) and len(good.y_test) == 4
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        load("mnist", data_dir=_mnist_folder(tmp_path / "b", n_train_labels=9))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load("mnist", data_dir=_mnist_folder(tmp_path / "c", truncate=True))


class SameConvGap(torch.nn.Module):
    """``Conv2d(padding="same")`` and global average pooling written as a mean over H and W."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding="same")
        self.fc = torch.nn.Linear(4, 10)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(-1, -2)))


def test_same_padding_and_mean_over_h_w_convert(digits):
    torch.manual_seed(0)
    model = SameConvGap().eval()
    x = torch.from_numpy(digits.x_train[:100])
    snn = convert(model, x, normalization="max")
    with torch.no_grad():
        expected = model(x[:8]).argmax(1).numpy()
    np.testing.assert_allclose(snn.ann_logits(x[:8]).numpy(), model(x[:8]).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    agree = np.mean(snn.predict(x[:8], timesteps=256) == expected)
    assert agree >= 0.75
