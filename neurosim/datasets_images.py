"""Image data sets read from files: the IDX format (MNIST, Fashion-MNIST), Fashion-MNIST from
Debian's ``dataset-fashion-mnist`` package, and CIFAR-10's python-pickle batches.

**Fashion-MNIST** (Xiao, Rasul & Vollgraf 2017; Zalando SE, MIT licence): 60,000 training and
10,000 test images of 28x28 grey clothing items in 10 classes. Debian packages the four IDX
files as ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist/``). They are looked
up, in order, in: ``data_dir``; ``$NEUROSIM_FASHION_MNIST``; the installed package; the copy
:func:`fetch_fashion_mnist` unpacks into the cache (``~/.cache/neurosim/fashion-mnist``, or
``$NEUROSIM_CACHE``). When none has them, the package is fetched from Debian's archive
(``apt-get download``, else the pool file over HTTP, checked against its SHA-256) and unpacked
without root (the ``.deb`` is an ``ar`` archive holding ``data.tar.xz``; no ``dpkg`` needed).
Every file's size and header are checked; the arrays are cached as ``fashion-mnist.npz``.

**CIFAR-10** (Krizhevsky 2009): the standard ``cifar-10-batches-py`` folder
(``data_batch_1`` ... ``data_batch_5``, ``test_batch``: pickled dicts of ``data`` (N, 3072)
uint8 rows, red, green then blue planes of 32x32, and ``labels``), used when a user has it
(``data_dir`` or ``$NEUROSIM_CIFAR10``); it is never downloaded.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import NamedTuple

import numpy as np


class Split(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class DatasetUnavailableError(RuntimeError):
    """The data set is not on this machine and could not be fetched."""


IDX_FILES = {
    "x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
}
FASHION_PACKAGE = "dataset-fashion-mnist"
FASHION_DEB = "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb"
FASHION_DEB_SHA256 = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"
FASHION_POOL_URL = ("http://deb.debian.org/debian/pool/main/d/dataset-fashion-mnist/"
                    + FASHION_DEB)
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_IN_DEB = "usr/share/datasets/fashion-mnist"
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
FASHION_HOW = (
    "Fashion-MNIST is not available. Any of these works: `sudo apt-get install "
    f"{FASHION_PACKAGE}` (Debian/Ubuntu); `apt-get download {FASHION_PACKAGE} && dpkg-deb -x "
    f"{FASHION_PACKAGE}_*.deb DIR` then pass DIR/{FASHION_IN_DEB} as data_dir (--data) or set "
    "NEUROSIM_FASHION_MNIST to it; or put the four IDX files (train-images-idx3-ubyte.gz ...) "
    "from https://github.com/zalandoresearch/fashion-mnist in a folder and point there.")
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck")


def cache_dir() -> Path:
    return Path(os.environ.get("NEUROSIM_CACHE", Path.home() / ".cache" / "neurosim"))


def read_idx(path: Path) -> np.ndarray:
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


def split_from_idx(folder: Path, name: str = "MNIST",
                   sizes: tuple[int, int] | None = None) -> Split | None:
    """The four IDX files of an MNIST-format data set in ``folder`` (plain or ``.gz``), scaled
    to [0, 1] and flattened to 784; None when a file is missing. ``sizes``: the expected
    (train, test) image counts, checked."""
    arrays = {}
    for key, stem in IDX_FILES.items():
        found = [p for p in (folder / stem, folder / f"{stem}.gz") if p.exists()]
        if not found:
            return None
        arrays[key] = read_idx(found[0])
    for part, size in zip(("train", "test"), sizes or (None, None)):
        images, labels = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1:
            raise ValueError(f"{name} {part} files in {folder}: images must be (N, 28, 28) and "
                             f"labels (N,), got {images.shape} and {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{name} {part} files in {folder}: {len(images)} images but "
                             f"{len(labels)} labels")
        if size is not None and len(images) != size:
            raise ValueError(f"{name} {part} files in {folder} hold {len(images)} images; "
                             f"the data set has {size}")
        if labels.size and labels.max() > 9:
            raise ValueError(f"{name} {part} labels in {folder} go up to {labels.max()} (> 9)")
    return Split(arrays["x_train"].reshape(-1, 784).astype(np.float32) / 255.0,
                 arrays["y_train"].astype(np.int64),
                 arrays["x_test"].reshape(-1, 784).astype(np.float32) / 255.0,
                 arrays["y_test"].astype(np.int64))


def _cached(name: str) -> Split | None:
    path = cache_dir() / f"{name}.npz"
    if not path.exists():
        return None
    with np.load(path) as f:
        return Split(f["x_train"], f["y_train"], f["x_test"], f["y_test"])


def _store(name: str, split: Split) -> Split:
    cache_dir().mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache_dir() / f"{name}.npz", **split._asdict())
    return split


def fashion_mnist(data_dir: str | Path | None = None, *, fetch: bool = True) -> Split:
    """Fashion-MNIST's 60,000/10,000 split (see the module docstring for where it is found)."""
    sizes = (60000, 10000)
    if data_dir is not None:
        split = split_from_idx(Path(data_dir), "Fashion-MNIST", sizes)
        if split is None:
            raise DatasetUnavailableError(f"no Fashion-MNIST IDX files in {data_dir}. "
                                          + FASHION_HOW)
        return split
    env = os.environ.get("NEUROSIM_FASHION_MNIST")
    if env:
        split = split_from_idx(Path(env), "Fashion-MNIST", sizes)
        if split is None:
            raise DatasetUnavailableError(f"NEUROSIM_FASHION_MNIST={env} holds no "
                                          "Fashion-MNIST IDX files. " + FASHION_HOW)
        return split
    cached = _cached("fashion-mnist")
    if cached is not None:
        return cached
    unpacked = cache_dir() / "fashion-mnist" / FASHION_IN_DEB
    for folder in (FASHION_SYSTEM_DIR, unpacked):
        split = split_from_idx(folder, "Fashion-MNIST", sizes)
        if split is not None:
            return _store("fashion-mnist", split)
    if not fetch:
        raise DatasetUnavailableError(FASHION_HOW)
    split = split_from_idx(fetch_fashion_mnist(), "Fashion-MNIST", sizes)
    if split is None:  # the package's layout changed
        raise DatasetUnavailableError(f"{FASHION_DEB} did not hold the IDX files. " + FASHION_HOW)
    return _store("fashion-mnist", split)


def fetch_fashion_mnist(dest: str | Path | None = None) -> Path:
    """Fetch Debian's ``dataset-fashion-mnist`` and unpack it into ``dest`` (default: the
    cache); returns the folder holding the IDX files."""
    dest = Path(dest) if dest is not None else cache_dir() / "fashion-mnist"
    with tempfile.TemporaryDirectory() as tmp:
        deb, errors = None, []
        if shutil.which("apt-get"):
            proc = subprocess.run(["apt-get", "download", "-q", FASHION_PACKAGE], cwd=tmp,
                                  capture_output=True, text=True, timeout=600)
            found = sorted(Path(tmp).glob(f"{FASHION_PACKAGE}_*.deb"))
            if proc.returncode == 0 and found:
                deb = found[0]
            else:
                errors.append(f"apt-get download: {proc.stderr.strip()[-200:]}")
        if deb is None:
            deb = Path(tmp) / FASHION_DEB
            try:
                with urllib.request.urlopen(FASHION_POOL_URL, timeout=120) as response:  # noqa: S310
                    deb.write_bytes(response.read())
            except OSError as exc:
                errors.append(f"{FASHION_POOL_URL}: {exc}")
                raise DatasetUnavailableError(FASHION_HOW + " Fetching failed: "
                                              + "; ".join(errors)) from exc
            digest = hashlib.sha256(deb.read_bytes()).hexdigest()
            if digest != FASHION_DEB_SHA256:
                raise DatasetUnavailableError(f"{FASHION_POOL_URL} has SHA-256 {digest}, "
                                              f"expected {FASHION_DEB_SHA256}")
        unpack_deb(deb, dest)
    return dest / FASHION_IN_DEB


def unpack_deb(deb: Path, dest: Path) -> None:
    """Unpack a Debian package's files into ``dest`` (what ``dpkg-deb -x`` does): the ``.deb``
    is an ``ar`` archive whose ``data.tar.*`` member holds them."""
    blob = Path(deb).read_bytes()
    if not blob.startswith(b"!<arch>\n"):
        raise ValueError(f"{deb} is not a Debian package (no ar header)")
    pos = 8
    while pos + 60 <= len(blob):
        header = blob[pos:pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = blob[pos + 60:pos + 60 + size]
        if name.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tar:
                members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
                tar.extractall(dest, members=members, filter="data")
            return
        pos += 60 + size + (size % 2)
    raise ValueError(f"{deb} holds no data.tar member")


def cifar10(data_dir: str | Path | None = None) -> Split:
    """CIFAR-10 from its python-pickle batches: images (N, 3, 32, 32) in [0, 1], float32."""
    folder = data_dir or os.environ.get("NEUROSIM_CIFAR10")
    if folder is None:
        raise DatasetUnavailableError(
            "CIFAR-10 is not shipped by any package registry neurosim can use: download "
            "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, unpack "
            "it, and pass the cifar-10-batches-py folder as data_dir (--data) or set "
            "NEUROSIM_CIFAR10")
    folder = Path(folder)
    train_files = sorted(folder.glob("data_batch_*"))
    if not train_files or not (folder / "test_batch").exists():
        raise DatasetUnavailableError(f"no CIFAR-10 batches (data_batch_1..5, test_batch) in "
                                      f"{folder}")
    parts = [read_cifar_batch(p) for p in train_files]
    x_test, y_test = read_cifar_batch(folder / "test_batch")
    return Split(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                 x_test, y_test)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch, checked: ``data`` (N, 3072) uint8 and N labels in 0..9."""
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")  # noqa: S301 - the user's own data file
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ValueError(f"cannot read CIFAR-10 batch {path}: {exc}") from exc
    if not isinstance(batch, dict):
        raise ValueError(f"{path} is not a CIFAR-10 batch (a pickled dict)")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path} is not a CIFAR-10 batch (needs 'data' and 'labels')")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: 'data' must be uint8 rows of 3072 values, got "
                         f"{data.dtype} {data.shape}")
    if labels.shape != (len(data),) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise ValueError(f"{path}: 'labels' must be {len(data)} classes in 0..9")
    return data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0, labels
