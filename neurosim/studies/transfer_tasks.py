"""The image tasks of the transfer study (``neurosim transfer --task``): what the network
pretrained on MNIST is moved to, and the settings of each mode, all fixed in advance.

``digits``: scikit-learn's 8x8 digits (seeded 80/20 split), upsampled to 28x28 (bilinear).
``mnist-fashion``: Fashion-MNIST's 60,000 training images and a test set; the spiking networks
are costly to simulate (about 22 ms per image at T = 64 for the MNIST CNN on this 2-core
machine), so each mode evaluates ANNs and SNNs alike on a fixed stratified subset of the
10,000 test images drawn with seed 0 (``test_per_class`` below; the full mode's 1,000 images
give a standard error of about 1.1 points at 85% accuracy, the spread over seeds is shown
beside it), and trains on the whole training set for 1 epoch (``epochs_all``) where ``shots``
is ``all`` (the STDP readout then uses ``stdp_all_per_class`` images per class). Nothing here
was chosen by looking at test accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from neurosim.datasets import load


@dataclass(frozen=True)
class TransferTask:
    name: str
    title: str                  # report heading
    target: str                 # what the accuracy is measured on (figure axis)
    quick: dict[str, Any]
    full: dict[str, Any]
    stdp_frame: bool            # the STDP layer sees the images in MNIST's 20x20 framing
    probe: bool = False         # per-layer linear probes of the frozen source network
    notes: tuple[str, ...] = field(default=())


TASKS = {
    "digits": TransferTask(
        "digits", "MNIST CNN -> digits", "digits",
        quick={"shots": (1, 10, None), "seeds": (0, 1, 2), "timesteps": (4, 8, 16, 32, 64),
               "epochs": 20, "test_per_class": None},
        full={"shots": (1, 5, 10, 50, None), "seeds": (0, 1, 2),
              "timesteps": (4, 8, 16, 32, 64), "epochs": 40, "test_per_class": None},
        stdp_frame=True),
    "mnist-fashion": TransferTask(
        "mnist-fashion", "MNIST CNN -> Fashion-MNIST", "Fashion-MNIST",
        quick={"shots": (1, 10), "seeds": (0, 1), "timesteps": (4, 8, 16, 32, 64),
               "epochs": 20, "epochs_all": 1, "test_per_class": 50, "probe_shots": 10,
               "stdp_all_per_class": 500},
        full={"shots": (1, 10, 100, None), "seeds": (0, 1, 2),
              "timesteps": (4, 8, 16, 32, 64), "epochs": 20, "epochs_all": 1,
              "test_per_class": 100, "probe_shots": 100, "stdp_all_per_class": 500},
        stdp_frame=False, probe=True,
        notes=("Fashion-MNIST (Xiao et al. 2017) from Debian's dataset-fashion-mnist.",)),
}


def get_task(name: str) -> TransferTask:
    if name not in TASKS:
        raise ValueError(f"unknown transfer task {name!r}; available: {', '.join(TASKS)} "
                         "(and 'text': neurosim.studies.transfer_text)")
    return TASKS[name]


def task_data(task: TransferTask, cfg: dict[str, Any], data_dir: str | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x_train, y_train, x_test, y_test)`` of the task as (N, 1, 28, 28) float32 tensors and
    int64 labels; the test set cut to ``test_per_class`` images per class when given."""
    if task.name == "digits":
        data = load("digits", flat=False)
        x_train, x_test = _up28(data.x_train), _up28(data.x_test)
    else:
        data = load("fashion-mnist", flat=False, data_dir=data_dir)
        x_train, x_test = torch.from_numpy(data.x_train), torch.from_numpy(data.x_test)
    y_train, y_test = torch.from_numpy(data.y_train), torch.from_numpy(data.y_test)
    if cfg.get("test_per_class"):
        keep = stratified_subset(data.y_test, cfg["test_per_class"], seed=0)
        x_test, y_test = x_test[keep], y_test[keep]
    return x_train, y_train, x_test, y_test


def stratified_subset(labels: np.ndarray, per_class: int, seed: int) -> torch.Tensor:
    """Indices of ``per_class`` items of every class (seeded draw), in ascending order."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
             for c in np.unique(labels)]
    return torch.from_numpy(np.sort(np.concatenate(picks)))


def _up28(x: np.ndarray) -> torch.Tensor:
    return F.interpolate(torch.from_numpy(x), size=(28, 28), mode="bilinear",
                         align_corners=False).clamp(0, 1)
