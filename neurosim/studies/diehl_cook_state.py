"""The pure parts of the Diehl & Cook study (:mod:`neurosim.studies.diehl_cook`): input rates,
label assignment, classification, and the training checkpoint on disk."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from neurosim.checks import check_array, check_scalar

CHECKPOINT_NAME = "diehl_cook_checkpoint.npz"
UNASSIGNED = -1


def input_rates(pixels: Any, max_rate_hz: float) -> np.ndarray:
    """Poisson rates (Hz) of the input neurons: ``pixels * max_rate_hz``, pixels in [0, 1]
    (the original's ``pixel / 8 * intensity`` for pixels in 0..255 is ``max_rate_hz =
    255 / 8 * intensity``, 63.75 Hz at intensity 2)."""
    pixels = check_array("pixels", pixels, ndim=1, dtype=np.float64)
    if pixels.min() < 0 or pixels.max() > 1:
        raise ValueError(f"pixels must be in [0, 1], got values from {pixels.min()} to "
                         f"{pixels.max()}")
    return pixels * check_scalar("max_rate_hz", max_rate_hz, nonnegative=True)


def _counts_and_labels(counts: Any, labels: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    counts = check_array("counts", counts, ndim=2, dtype=np.float64)
    labels = check_array("labels", labels, ndim=1, kind="iu", dtype=np.int64)
    if len(labels) != len(counts):
        raise ValueError(f"counts has {len(counts)} rows (images) but labels has "
                         f"{len(labels)} entries")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must be in [0, {n_classes}), got values from {labels.min()} "
                         f"to {labels.max()}")
    if counts.min() < 0:
        raise ValueError("counts must be >= 0 (spike counts)")
    return counts, labels


def class_responses(counts: Any, labels: Any, n_classes: int = 10) -> np.ndarray:
    """(n_classes, n_neurons): each neuron's mean spike count over the images of each class
    (0 for a class without images)."""
    counts, labels = _counts_and_labels(counts, labels, n_classes)
    sums = np.zeros((n_classes, counts.shape[1]))
    np.add.at(sums, labels, counts)
    images = np.bincount(labels, minlength=n_classes)[:, None]
    return np.divide(sums, images, out=np.zeros_like(sums), where=images > 0)


def assign_labels(counts: Any, labels: Any, n_classes: int = 10) -> np.ndarray:
    """Each neuron's class: the one whose images it answers with the highest mean spike count
    (``counts`` (n_images, n_neurons), ``labels`` (n_images,)). A tie goes to the lower class;
    a neuron that never fired is ``-1`` (unassigned), as in the original evaluation script."""
    responses = class_responses(counts, labels, n_classes)
    assignments = responses.argmax(axis=0)
    assignments[responses.max(axis=0) <= 0] = UNASSIGNED
    return assignments


def predict(assignments: Any, counts: Any, n_classes: int = 10) -> np.ndarray:
    """The class of each image (``counts`` (n_images, n_neurons)): the class whose assigned
    neurons fired most on average; a class without neurons scores 0, a tie goes to the lower
    class (so an image with no spike at all is class 0)."""
    assignments = check_array("assignments", assignments, ndim=1, kind="iu", dtype=np.int64)
    counts = check_array("counts", counts, ndim=2, dtype=np.float64, allow_empty=True)
    if counts.shape[1] != len(assignments):
        raise ValueError(f"counts has {counts.shape[1]} neurons (columns) but assignments has "
                         f"{len(assignments)}")
    if assignments.min() < UNASSIGNED or assignments.max() >= n_classes:
        raise ValueError(f"assignments must be in [-1, {n_classes})")
    member = assignments[:, None] == np.arange(n_classes)[None, :]  # (neurons, classes)
    sizes = member.sum(axis=0)
    scores = counts @ member / np.maximum(sizes, 1)
    return scores.argmax(axis=1)


class Evaluation(NamedTuple):
    accuracy: float
    n_images: int
    n_silent: int  # images that drew no excitatory spike
    per_class: list  # accuracy of each class (NaN for a class without images)
    predictions: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "n_images": self.n_images, "n_silent": self.n_silent,
                "per_class_accuracy": [None if np.isnan(a) else a for a in self.per_class]}


def evaluate(assignments: Any, counts: Any, labels: Any, n_classes: int = 10) -> Evaluation:
    """Classification accuracy of the spike counts ``counts`` (n_images, n_neurons) of images
    with true ``labels``, given each neuron's class (:func:`assign_labels`)."""
    counts, labels = _counts_and_labels(counts, labels, n_classes)
    predictions = predict(assignments, counts, n_classes)
    correct = predictions == labels
    per_class = [float(correct[labels == c].mean()) if (labels == c).any() else float("nan")
                 for c in range(n_classes)]
    return Evaluation(float(correct.mean()), len(labels), int((counts.sum(axis=1) == 0).sum()),
                      per_class, predictions)


class Checkpoint(NamedTuple):
    """A training run between two images: everything it needs to go on."""

    weights: np.ndarray  # (784, n_exc) float32
    theta: np.ndarray  # (n_exc,) float64, mV
    next_image: int  # index of the next training image
    label_counts: np.ndarray  # (n_label, n_exc) int32, rows of images seen so far filled
    presentations: int  # showings so far, repeats included


def checkpoint_path(checkpoint_dir: str | Path) -> Path:
    folder = Path(checkpoint_dir)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"checkpoint directory {folder} is a file")
    return folder / CHECKPOINT_NAME


def save_checkpoint(path: str | Path, state: Checkpoint, config: Any) -> None:
    """Write ``state`` and ``config.training_fields()`` to ``path`` atomically: a temporary
    file in the same folder, flushed to disk, then renamed over the old checkpoint (an
    interruption leaves either the old or the new one, never half of one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, weights=state.weights, theta=state.theta,
                     next_image=np.int64(state.next_image), label_counts=state.label_counts,
                     presentations=np.int64(state.presentations),
                     config=np.array(json.dumps(config.training_fields(), sort_keys=True)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path, config: Any) -> Checkpoint:
    """The checkpoint at ``path``; ``ValueError`` when it was written for other training
    settings than ``config``'s or is not a checkpoint of this study."""
    try:
        with np.load(path, allow_pickle=False) as data:
            saved = json.loads(str(data["config"]))
            state = Checkpoint(data["weights"], data["theta"], int(data["next_image"]),
                               data["label_counts"], int(data["presentations"]))
    except (OSError, KeyError, ValueError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable Diehl & Cook checkpoint ({exc}); delete it "
                         "or choose another checkpoint directory") from exc
    now = json.loads(json.dumps(config.training_fields(), sort_keys=True))
    differ = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if differ:
        what = ", ".join(f"{k} = {saved.get(k)!r} there, {now.get(k)!r} now" for k in differ)
        raise ValueError(f"the checkpoint {path} was written for other settings ({what}); "
                         "use another checkpoint directory or the same settings")
    n_exc, n_label = now["n_exc"], now["n_label"]
    if (state.weights.shape != (784, n_exc) or state.theta.shape != (n_exc,)
            or state.label_counts.shape != (n_label, n_exc)
            or not 0 <= state.next_image <= now["n_train"]):
        raise ValueError(f"the checkpoint {path} holds arrays of the wrong shape")
    return state
