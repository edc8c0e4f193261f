"""Data sets that work offline. ``digits``: scikit-learn's 8x8 handwritten digits (1,797
images, shipped inside scikit-learn), the embedded default."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from neurosim.validation import check_scalar


class Split(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


DATASETS = ("digits",)


def load(name: str = "digits", *, test_fraction: float = 0.2, seed: int = 0,
         flat: bool = True) -> Split:
    """Load a data set as a seeded stratified train/test split, pixels scaled to [0, 1].

    ``flat=False`` gives images (N, 1, H, W) for convolutional networks.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    check_scalar("test_fraction", test_fraction, positive=True)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    if not flat:
        x = x.reshape(-1, 1, 8, 8)
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                              stratify=y)
    return Split(x_tr, y_tr, x_te, y_te)
