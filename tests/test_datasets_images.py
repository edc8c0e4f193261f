"""Fashion-MNIST and CIFAR-10 loaders: search order, size checks, the Debian package unpacked
without dpkg, and the CIFAR-10 pickle format, on small files written here."""

import gzip
import io
import pickle
import tarfile

import numpy as np
import pytest

from neurosim import datasets_images as di
from neurosim.datasets import DatasetUnavailableError, load


def write_idx(path, array):
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big")
                                                     for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def idx_folder(folder, n_train=6, n_test=4, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    data = {"x_train": rng.integers(0, 256, (n_train, 28, 28)),
            "y_train": rng.integers(0, 10, n_train),
            "x_test": rng.integers(0, 256, (n_test, 28, 28)), "y_test": rng.integers(0, 10, n_test)}
    for key, stem in di.IDX_FILES.items():
        write_idx(folder / f"{stem}.gz", data[key])
    return data


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real data: an empty cache, no system package, no environment variable."""
    monkeypatch.setenv("NEUROSIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NEUROSIM_FASHION_MNIST", raising=False)
    monkeypatch.delenv("NEUROSIM_CIFAR10", raising=False)
    monkeypatch.setattr(di, "FASHION_SYSTEM_DIR", tmp_path / "no-system-package")
    return tmp_path


def test_idx_folder_read_and_scaled(isolated):
    data = idx_folder(isolated / "f")
    split = di.split_from_idx(isolated / "f")
    np.testing.assert_allclose(split.x_train, data["x_train"].reshape(6, 784) / 255.0,
                               rtol=1e-6)
    np.testing.assert_array_equal(split.y_test, data["y_test"])
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64


def test_fashion_sizes_are_checked(isolated):
    idx_folder(isolated / "f")  # 6 and 4 images, not 60,000 and 10,000
    with pytest.raises(ValueError, match="hold 6 images; the data set has 60000"):
        load("fashion-mnist", data_dir=isolated / "f")


def test_fashion_missing_says_how_to_get_it(isolated):
    with pytest.raises(DatasetUnavailableError, match="apt-get download dataset-fashion-mnist"):
        load("fashion-mnist", data_dir=isolated / "empty")
    with pytest.raises(DatasetUnavailableError, match="dpkg-deb -x"):
        di.fashion_mnist(fetch=False)


def test_fashion_env_variable_and_truncated_file(isolated, monkeypatch):
    idx_folder(isolated / "f")
    monkeypatch.setenv("NEUROSIM_FASHION_MNIST", str(isolated / "f"))
    with pytest.raises(ValueError, match="60000"):
        di.fashion_mnist()
    path = isolated / "f" / "train-labels-idx1-ubyte.gz"
    blob = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(blob[:-1]))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        di.fashion_mnist()


def test_fashion_found_in_unpacked_package_and_cached(isolated, monkeypatch):
    """The copy that fetching unpacks into the cache is found, read once and cached."""
    monkeypatch.setattr(di, "split_from_idx", lambda folder, name="", sizes=None:
                        _small(folder) if "fashion-mnist" in str(folder) else None)
    folder = isolated / "cache" / "fashion-mnist" / di.FASHION_IN_DEB
    idx_folder(folder)
    first = di.fashion_mnist(fetch=False)
    assert (isolated / "cache" / "fashion-mnist.npz").exists()
    monkeypatch.setattr(di, "split_from_idx", lambda *a, **k: None)
    again = di.fashion_mnist(fetch=False)  # from the cache now
    np.testing.assert_array_equal(first.x_test, again.x_test)


def _small(folder):
    return di.Split(*(np.zeros(2, np.float32) for _ in range(4))) if folder.exists() else None


def make_deb(path, files):
    """A minimal .deb: an ar archive with debian-binary, control.tar.xz and data.tar.xz."""
    def tar_xz(members):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:xz") as tar:
            for name, content in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        return buf.getvalue()

    out = b"!<arch>\n"
    for name, body in (("debian-binary", b"2.0\n"), ("control.tar.xz", tar_xz({})),
                       ("data.tar.xz", tar_xz(files))):
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode()
        out += header + body + (b"\n" if len(body) % 2 else b"")
    path.write_bytes(out)


def test_unpack_deb_without_dpkg(tmp_path):
    make_deb(tmp_path / "p.deb", {"./usr/share/datasets/x/a.txt": b"hello",
                                  "./usr/share/doc/x/copyright": b"MIT"})
    di.unpack_deb(tmp_path / "p.deb", tmp_path / "out")
    assert (tmp_path / "out/usr/share/datasets/x/a.txt").read_bytes() == b"hello"
    (tmp_path / "bad.deb").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="not a Debian package"):
        di.unpack_deb(tmp_path / "bad.deb", tmp_path / "out")


def write_cifar(folder, n=5, batches=2, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in [f"data_batch_{i + 1}" for i in range(batches)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(),
                 b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
                 b"labels": [int(v) for v in rng.integers(0, 10, n)]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
        written.append(batch)
    return written


def test_cifar10_batches(isolated):
    batches = write_cifar(isolated / "c")
    split = load("cifar10", data_dir=isolated / "c", flat=False)
    assert split.x_train.shape == (10, 3, 32, 32) and split.x_test.shape == (5, 3, 32, 32)
    # row layout: 1024 red, 1024 green, 1024 blue values, each a 32x32 plane in row order
    np.testing.assert_allclose(split.x_train[0, 1, 0, 2], batches[0][b"data"][0, 1024 + 2] / 255)
    np.testing.assert_array_equal(split.y_test, batches[-1][b"labels"])
    flat = load("cifar10", data_dir=isolated / "c")
    assert flat.x_train.shape == (10, 3072)


def test_cifar10_errors(isolated, monkeypatch):
    with pytest.raises(DatasetUnavailableError, match="cifar-10-batches-py"):
        load("cifar10")
    with pytest.raises(DatasetUnavailableError, match="no CIFAR-10 batches"):
        load("cifar10", data_dir=isolated)
    write_cifar(isolated / "c")
    with open(isolated / "c" / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match="3072"):
        load("cifar10", data_dir=isolated / "c")
    (isolated / "c" / "test_batch").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot read CIFAR-10 batch"):
        load("cifar10", data_dir=isolated / "c")


def test_fashion_mnist_real_files():
    """The real data set (fetched from Debian's archive on first use): sizes and balance."""
    split = load("fashion-mnist", flat=False)
    assert split.x_train.shape == (60000, 1, 28, 28) and split.x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(split.y_train).tolist() == [6000] * 10
    assert np.bincount(split.y_test).tolist() == [1000] * 10
    assert 0.0 <= split.x_train.min() and split.x_train.max() <= 1.0

