"""The Diehl & Cook study from data to report (``neurosim learn diehl-cook``): train one epoch
(:func:`neurosim.studies.diehl_cook.train`), assign labels on training images, classify the
test images, and write ``diehl_cook.json``, the learned weights and a figure of the receptive
fields."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.studies.diehl_cook_state import assign_labels, evaluate

REPORT_NAME = "diehl_cook.json"
FIGURE_NAME = "receptive_fields.png"
WEIGHTS_NAME = "diehl_cook_weights.npz"
#: Keys of the label-assignment and test passes' Poisson streams (training segments use the
#: index of their first image, always below 2**32).
LABEL_PASS_KEY, TEST_PASS_KEY = 2**40, 2**40 + 1
#: Test accuracy the paper reports (Diehl & Cook 2015, Table 1) by number of excitatory neurons.
PAPER_ACCURACY = {100: 0.829, 400: 0.870, 1600: 0.919, 6400: 0.950}


def receptive_field_mosaic(weights: np.ndarray, side: int = 28, gap: int = 1) -> np.ndarray:
    """The columns of ``weights`` (n_pixels, n_neurons) as ``side`` x ``side`` tiles in a
    near-square grid (row by row), separated by ``gap`` pixels of NaN."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[0] != side * side:
        raise ValueError(f"weights must have shape ({side * side}, n_neurons), got "
                         f"{weights.shape}")
    n = weights.shape[1]
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    step = side + gap
    mosaic = np.full((rows * step - gap, cols * step - gap), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        mosaic[r * step:r * step + side, c * step:c * step + side] = \
            weights[:, k].reshape(side, side)
    return mosaic


def receptive_fields_figure(weights: np.ndarray, path: str | Path | None = None, *,
                            title: str | None = None):
    """The learned input weights of every excitatory neuron as a 28 x 28 map (the original's
    ``hot_r`` colour map, 0 to the largest weight); saved to ``path`` when given. Returns the
    matplotlib ``Figure``."""
    from neurosim import plot  # selects the headless Agg backend when none is chosen

    mosaic = receptive_field_mosaic(weights)
    size = min(8.0, 1.5 + mosaic.shape[1] / 90)
    fig, ax = plot.plt.subplots(figsize=(size + 1.2, size * mosaic.shape[0] / mosaic.shape[1]),
                                layout="constrained")
    image = ax.imshow(mosaic, cmap="hot_r", vmin=0.0, vmax=float(np.nanmax(mosaic)),
                      interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(image, ax=ax, shrink=0.8, label="weight")
    ax.set_title(title or f"receptive fields of {weights.shape[1]} excitatory neurons")
    if path is not None:
        _save_indexed_png(fig, path)
    return fig


def _save_indexed_png(fig, path: str | Path) -> None:
    """The figure as a 256-colour PNG: a third of the RGBA file, the weight maps being
    noise-like at the pixel level (a colour map has fewer than 256 colours anyway)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(256).save(path, optimize=True)


def environment() -> dict[str, Any]:
    """Where the numbers were measured."""
    import subprocess

    import numba

    try:
        folder = Path(__file__).resolve().parent
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=folder,
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"git": commit or None, "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "numpy": np.__version__, "numba": numba.__version__,
            "numba_threads": numba.get_num_threads()}


def run_study(config, out_dir: str | Path | None = None, *,
              checkpoint_dir: str | Path | None = None, data_dir: str | Path | None = None,
              data=None, progress: bool = True) -> dict[str, Any]:
    """Train, assign labels, test; returns the report (and writes it, the weights and the
    figure under ``out_dir`` when given). ``data``: a :class:`neurosim.datasets.Split` to use
    instead of MNIST (tests)."""
    from neurosim.studies.diehl_cook import N_INPUT, respond, train

    measured_on = environment()  # before training: the code that runs, not what is there later
    if data is None:
        from neurosim.datasets import load

        data = load("mnist", data_dir=data_dir)
    for part, needed, have in (("training", config.n_train, len(data.x_train)),
                               ("test", config.n_test, len(data.x_test))):
        if needed > have:
            raise ValueError(f"{needed:,} {part} images asked for, the data set has {have:,}")
    if data.x_train.shape[1] != N_INPUT:
        raise ValueError(f"images must have {N_INPUT} pixels, got {data.x_train.shape[1]}")
    training = train(config, data.x_train, data.y_train, checkpoint_dir, progress=progress)
    first_label = config.n_train - config.n_label
    label_s = 0.0
    if config.label_pass == "frozen":
        start = time.perf_counter()
        label_counts = respond(config, training.weights, training.theta,
                               data.x_train[first_label:config.n_train],
                               seed_key=LABEL_PASS_KEY, progress=progress, desc="labels")
        label_s = time.perf_counter() - start
    else:
        label_counts = training.label_counts
    label_y = data.y_train[first_label:config.n_train]
    assignments = assign_labels(label_counts, label_y)
    start = time.perf_counter()
    test_counts = respond(config, training.weights, training.theta,
                          data.x_test[:config.n_test], seed_key=TEST_PASS_KEY,
                          progress=progress, desc="testing")
    test_s = time.perf_counter() - start
    result = evaluate(assignments, test_counts, data.y_test[:config.n_test])
    trained = training.images_trained
    report = {
        "study": "Diehl & Cook (2015), unsupervised STDP on MNIST",
        **result.as_dict(),
        "label_accuracy": evaluate(assignments, label_counts, label_y).accuracy,
        "paper_accuracy": PAPER_ACCURACY.get(config.n_exc),
        "neurons_per_class": np.bincount(assignments[assignments >= 0], minlength=10).tolist(),
        "unassigned_neurons": int((assignments < 0).sum()),
        "training_s": training.seconds,
        "training_kernel_s": training.kernel_s,
        "images_trained": trained,
        "resumed_from": training.resumed_from,
        "training_images_per_s": trained / training.seconds if trained else None,
        "epoch_estimate_s": (60_000 * training.seconds / trained) if trained else None,
        "presentations": training.presentations,
        "label_s": label_s,
        "test_s": test_s,
        "test_images_per_s": config.n_test / test_s,
        "theta_mean_mv": float(np.mean(training.theta)),
        "config": config.as_dict(),
        "environment": measured_on,
    }
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        np.savez(out / WEIGHTS_NAME, weights=training.weights, theta=training.theta,
                 assignments=assignments)
        fig = receptive_fields_figure(training.weights, out / FIGURE_NAME, title=(
            f"Diehl & Cook, {config.n_exc} neurons after {config.n_train:,} images: "
            f"test accuracy {result.accuracy:.1%}"))
        from neurosim import plot

        plot.plt.close(fig)
        report["files"] = [REPORT_NAME, WEIGHTS_NAME, FIGURE_NAME]
        (out / REPORT_NAME).write_text(json.dumps(report, indent=2))
    return report


def summary(report: dict[str, Any]) -> str:
    """Two lines for the terminal."""
    cfg = report["config"]
    line = (f"Diehl & Cook, {cfg['n_exc']} excitatory neurons, {cfg['n_train']:,} training "
            f"images: test accuracy {report['accuracy']:.1%} on {report['n_images']:,} images")
    if report["paper_accuracy"]:
        line += (f" (paper, {cfg['n_exc']} neurons after one epoch of 60,000: "
                 f"{report['paper_accuracy']:.1%})")
    rate = report["training_images_per_s"]
    timing = (f"training {report['training_s']:.0f} s ({rate:.1f} images/s, "
              f"{report['presentations'] / cfg['n_train']:.2f} showings per image; an epoch of "
              f"60,000 at this size ~{report['epoch_estimate_s'] / 60:.0f} min)" if rate else
              "training resumed from a finished checkpoint")
    return f"{line}\n{timing}; labels {report['label_s']:.0f} s, test {report['test_s']:.0f} s"
