"""The transfer study's brain-like strategy, ``stdp``: features learned without labels by STDP
on MNIST (the Diehl & Cook layer of :mod:`neurosim.studies.diehl_cook`), frozen, with a linear
readout trained on the target task's few labelled images.

Each target image (the digits, upsampled to 28x28, then put in MNIST's framing: a 20x20 box
centred in 28x28, :func:`mnist_frame`) is shown to the frozen layer as Poisson spike trains
for 350 ms (learning off, thresholds restored after every image: the original's
test mode); the excitatory neurons' spike counts, divided by their sum, are the features. The
readout is a multinomial logistic regression (scikit-learn, ``C = 1``, fixed in advance; no
choice looks at the test images). Everything that runs as spikes is the layer; the readout
is a conventional linear classifier on its spike counts, as in the unsupervised-STDP
literature.

The layer comes from a trained model file: ``weights`` (784, n) and ``theta`` (n,) as
``neurosim learn diehl-cook`` writes them (``diehl_cook_weights.npz``). Looked up in this order:
an explicit path, ``$NEUROSIM_STDP_LAYER``, ``models/diehl_cook_400.npz``,
``models/diehl_cook_100.npz``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILES = ("models/diehl_cook_400.npz", "models/diehl_cook_100.npz")
READOUT_C = 1.0
#: The Poisson stream of the target images' presentations (distinct from training/test passes).
FEATURE_PASS_KEY = 2**41


def find_layer(path: str | Path | None = None) -> Path:
    """The model file of the STDP layer (see the module docstring for the search order)."""
    if path is not None:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no STDP layer file at {path}")
        return Path(path)
    root = Path(__file__).resolve().parents[2]
    candidates = []
    if os.environ.get("NEUROSIM_STDP_LAYER"):
        candidates.append(Path(os.environ["NEUROSIM_STDP_LAYER"]))
    candidates += [root / name for name in MODEL_FILES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "no trained STDP layer: run `neurosim learn diehl-cook --quick --out out/dc` and copy "
        "out/dc/diehl_cook_weights.npz to models/diehl_cook_100.npz (or set "
        "$NEUROSIM_STDP_LAYER to it)")


def load_layer(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, Path]:
    """``(weights (784, n), theta (n,), file)`` of the STDP layer."""
    file = find_layer(path)
    with np.load(file) as data:
        missing = {"weights", "theta"} - set(data.files)
        if missing:
            raise ValueError(f"{file} is not an STDP layer file (missing {sorted(missing)})")
        weights, theta = np.asarray(data["weights"]), np.asarray(data["theta"])
    if weights.ndim != 2 or weights.shape[0] != 784 or theta.shape != (weights.shape[1],):
        raise ValueError(f"{file}: weights must be (784, n) and theta (n,), got "
                         f"{weights.shape} and {theta.shape}")
    return weights, theta, file


def stdp_features(images: np.ndarray, weights: np.ndarray, theta: np.ndarray, *,
                  seed: int = 0, progress: bool = False, frame: bool = True) -> np.ndarray:
    """Spike counts (len(images), n) of the frozen layer for images (N, 784) in [0, 1]; with
    ``frame``, images that fill their frame are shown in MNIST's framing
    (:func:`mnist_frame`; Fashion-MNIST's items already sit in a 28x28 frame as MNIST's digits
    do and are shown as they are)."""
    from neurosim.studies.diehl_cook import DiehlCookConfig, respond

    config = DiehlCookConfig(n_exc=weights.shape[1], seed=seed)
    shown = mnist_frame(images) if frame else np.asarray(images, np.float32).reshape(-1, 784)
    return respond(config, weights, theta, shown,
                   seed_key=FEATURE_PASS_KEY, progress=progress, desc="STDP features")


def mnist_frame(images: np.ndarray) -> np.ndarray:
    """Images (N, 28, 28) or (N, 784) that fill their frame, in MNIST's format: scaled to a
    20x20 box (bilinear) and centred in 28x28 with 4 blank pixels on each side, as MNIST's
    digits are (LeCun et al.). The layer's neurons are templates of MNIST digits where they
    sit in the frame (a convolutional network is tolerant of the difference, they are not):
    the 8x8 digits upsampled to the whole 28x28 frame put ink where MNIST has none. Fixed in
    advance from MNIST's documented format, not chosen by any accuracy."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(np.asarray(images, np.float32).reshape(-1, 1, 28, 28))
    box = F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)
    return F.pad(box, (4, 4, 4, 4)).clamp(0, 1).reshape(len(x), 784).numpy()


def normalised(counts: np.ndarray) -> np.ndarray:
    """Spike counts divided by each image's total (an image without spikes stays 0)."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)


def readout_accuracy(train_counts: np.ndarray, train_labels: np.ndarray,
                     test_counts: np.ndarray, test_labels: np.ndarray, seed: int
                     ) -> dict[str, Any]:
    """Train the linear readout on the labelled images' counts; its test accuracy."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=READOUT_C, max_iter=5000, random_state=seed)
    model.fit(normalised(train_counts), np.asarray(train_labels))
    predicted = model.predict(normalised(test_counts))
    return {"stdp_accuracy": float(np.mean(predicted == np.asarray(test_labels))),
            "spikes_per_image": float(np.asarray(test_counts).sum(axis=1).mean())}
