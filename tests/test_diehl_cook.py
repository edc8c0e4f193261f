"""Diehl & Cook (2015) on MNIST (issue 14): label assignment and evaluation against the
original's loops, the checkpoint (round trip, atomic, a resumed training equal to an
uninterrupted one), the presentation rule, the CLI's one-line errors, and a tiny end-to-end
run on synthetic images."""

import json

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.datasets import Split
from neurosim.studies import diehl_cook as dc
from neurosim.studies.diehl_cook_report import (
    receptive_field_mosaic,
    receptive_fields_figure,
    run_study,
    summary,
)
from neurosim.studies.diehl_cook_state import (
    Checkpoint,
    assign_labels,
    checkpoint_path,
    evaluate,
    input_rates,
    load_checkpoint,
    predict,
    save_checkpoint,
)


# -- the original's loops (Diehl&Cook_MNIST_evaluation.py), the reference -----------------------
def original_assignments(result_monitor, input_numbers, n_e):
    assignments = np.ones(n_e) * -1
    maximum_rate = [0] * n_e
    for j in range(10):
        num_inputs = len(np.where(input_numbers == j)[0])
        if num_inputs > 0:
            rate = np.sum(result_monitor[input_numbers == j], axis=0) / num_inputs
        for i in range(n_e):
            if rate[i] > maximum_rate[i]:
                maximum_rate[i] = rate[i]
                assignments[i] = j
    return assignments


def original_prediction(assignments, spike_rates):
    summed_rates = [0] * 10
    for i in range(10):
        num = len(np.where(assignments == i)[0])
        if num > 0:
            summed_rates[i] = np.sum(spike_rates[assignments == i]) / num
    return np.argsort(summed_rates)[::-1][0]


def test_input_rates_are_pixels_times_the_maximum_rate():
    pixels = np.array([0.0, 0.5, 1.0])
    assert np.array_equal(input_rates(pixels, 63.75), [0.0, 31.875, 63.75])
    assert input_rates(np.array([255.0]) / 255, 63.75)[0] == 255 / 8 * 2  # original's pixel/4
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        input_rates(np.array([0.0, 2.0]), 63.75)


def test_label_assignment_equals_the_original_loop():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 300)
    counts = rng.poisson(rng.uniform(0, 3, (1, 50)), (300, 50)) * (rng.random(50) > 0.1)
    ours = assign_labels(counts, labels)
    assert np.array_equal(ours, original_assignments(counts, labels, 50))
    assert (ours == -1).sum() == (counts.sum(axis=0) == 0).sum() > 0  # silent: unassigned


def test_label_assignment_ties_and_missing_classes():
    counts = np.array([[2, 0], [2, 0], [0, 0]])
    assert assign_labels(counts, [3, 5, 7]).tolist() == [3, -1]  # tie 3/5 -> lower class
    with pytest.raises(ValueError, match="labels"):
        assign_labels(counts, [0, 10, 1])
    with pytest.raises(ValueError, match="rows"):
        assign_labels(counts, [0, 1])


def test_prediction_equals_the_original_ranking():
    rng = np.random.default_rng(2)
    assignments = rng.integers(-1, 10, 60)
    counts = rng.random((200, 60)) * 5  # continuous: no ties
    expected = [original_prediction(assignments, row) for row in counts]
    assert np.array_equal(predict(assignments, counts), expected)


def test_evaluation_counts_correct_images_per_class():
    assignments = np.array([0, 0, 1, 2])
    counts = np.array([[3, 1, 0, 0],   # class 0 (mean 2)
                       [0, 0, 4, 1],   # class 1
                       [0, 0, 0, 0],   # silent: class 0
                       [1, 1, 0, 3]])  # class 2 (3 > 1)
    result = evaluate(assignments, counts, [0, 1, 2, 1])
    assert result.predictions.tolist() == [0, 1, 0, 2]
    assert result.accuracy == 0.5 and result.n_silent == 1 and result.n_images == 4
    assert result.per_class[:3] == [1.0, 0.5, 0.0] and np.isnan(result.per_class[3])
    assert json.dumps(result.as_dict())  # NaN becomes null


def test_config_checks_and_quick_preset():
    quick = dc.DiehlCookConfig.quick()
    assert (quick.n_exc, quick.n_train, quick.label_pass) == (100, 10_000, "training")
    assert dc.DiehlCookConfig().highest_rate_hz == 63.75 + 19 * 31.875
    with pytest.raises(ValueError, match="n_label"):
        dc.DiehlCookConfig(n_train=100, n_label=200)
    with pytest.raises(ValueError, match="1/dt_s"):
        dc.DiehlCookConfig(max_presentations=100)
    with pytest.raises(ValueError, match="label_pass"):
        dc.DiehlCookConfig(label_pass="test")


def tiny_config(**overrides):
    settings = {"n_exc": 10, "n_train": 20, "n_test": 10, "n_label": 8,
                "label_pass": "training", "checkpoint_every": 5, **overrides}
    return dc.DiehlCookConfig(**settings)


def synthetic_digits(n, seed=0, classes=3):
    """Images of ``classes`` non-overlapping bars (class k: rows 8k+2 .. 8k+6), noisy."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    images = rng.uniform(0, 0.05, (n, 28, 28))
    for k, label in enumerate(labels):
        images[k, 8 * label + 2:8 * label + 7, 4:24] = rng.uniform(0.7, 1.0, (5, 20))
    return images.reshape(n, 784).astype(np.float32), labels


def test_checkpoint_round_trip_is_atomic_and_refuses_other_settings(tmp_path):
    config = tiny_config()
    rng = np.random.default_rng(0)
    state = Checkpoint(rng.random((784, 10)).astype(np.float32), rng.random(10), 15,
                       rng.integers(0, 9, (8, 10)).astype(np.int32), 17)
    path = checkpoint_path(tmp_path)
    save_checkpoint(path, state, config)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    loaded = load_checkpoint(path, config)
    for a, b in zip(loaded, state):
        assert np.array_equal(a, b)
    assert load_checkpoint(path, tiny_config(n_test=3, label_pass="frozen")).next_image == 15
    with pytest.raises(ValueError, match="seed = 0 there, 1 now"):
        load_checkpoint(path, tiny_config(seed=1))
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable"):
        load_checkpoint(path, config)


def test_a_resumed_training_equals_an_uninterrupted_one(tmp_path, monkeypatch):
    images, labels = synthetic_digits(20)
    config = tiny_config()
    whole = dc.train(config, images, labels, tmp_path / "whole", progress=False)
    segment = dc._train_segment
    calls = []

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return segment(*args)

    monkeypatch.setattr(dc, "_train_segment", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dc.train(config, images, labels, tmp_path / "parts", progress=False)
    monkeypatch.setattr(dc, "_train_segment", segment)
    assert load_checkpoint(checkpoint_path(tmp_path / "parts"), config).next_image == 10
    resumed = dc.train(config, images, labels, tmp_path / "parts", progress=True)
    assert resumed.resumed_from == 10 and resumed.images_trained == 10
    assert np.array_equal(resumed.weights, whole.weights)
    assert np.array_equal(resumed.theta, whole.theta)
    assert np.array_equal(resumed.label_counts, whole.label_counts)
    assert resumed.presentations == whole.presentations
    assert whole.theta.max() > 0 and not np.array_equal(whole.weights, dc.initial_weights(config))
    again = dc.train(config, images, labels, tmp_path / "parts", progress=False)
    assert again.images_trained == 0 and np.array_equal(again.weights, whole.weights)


def test_presentation_repeats_silent_images_with_more_rate():
    config = tiny_config(max_presentations=3)
    model = dc.build_network(config)
    counts, shown = dc.present(model, np.zeros(784), config)
    assert shown == 3 and counts.sum() == 0
    bright, _ = synthetic_digits(1)
    counts, shown = dc.present(model, bright[0], config)
    assert shown == 1 and counts.sum() >= config.min_spikes


def test_a_frozen_network_keeps_weights_and_thresholds():
    config = tiny_config()
    images, _ = synthetic_digits(3)
    theta = np.full(10, 1.5)
    model = dc.build_network(config, theta=theta, plastic=False)
    before = model.net.weights_of(model.input_proj)
    for image in images:
        dc.present(model, image, config)
    assert np.array_equal(model.net.weights_of(model.input_proj), before)
    first = dc.respond(config, before.reshape(784, 10), theta, images, seed_key=7)
    second = dc.respond(config, before.reshape(784, 10), theta, images, seed_key=7)
    assert first.shape == (3, 10) and first.sum() > 0 and np.array_equal(first, second)


def test_receptive_field_mosaic_places_each_neuron():
    weights = np.arange(784 * 5, dtype=float).reshape(784, 5)
    mosaic = receptive_field_mosaic(weights)
    assert mosaic.shape == (2 * 28 + 1, 3 * 28 + 2)  # 3 columns, 2 rows, 1-pixel gaps
    assert np.array_equal(mosaic[29:57, 29:57], weights[:, 4].reshape(28, 28))
    assert np.isnan(mosaic[28]).all() and np.isnan(mosaic[29:, 58:]).all()  # gap, empty tile
    with pytest.raises(ValueError, match="784"):
        receptive_field_mosaic(np.zeros((100, 3)))


def test_end_to_end_on_synthetic_bars(tmp_path):
    x_train, y_train = synthetic_digits(60, seed=1)
    x_test, y_test = synthetic_digits(20, seed=2)
    config = tiny_config(n_train=60, n_test=20, n_label=30, checkpoint_every=30,
                         label_pass="frozen")
    report = run_study(config, tmp_path, checkpoint_dir=tmp_path / "ckpt",
                       data=Split(x_train, y_train, x_test, y_test), progress=False)
    assert report["accuracy"] >= 0.9  # three bars, nothing shared: learnt without labels
    assert sum(report["neurons_per_class"]) + report["unassigned_neurons"] == 10
    assert f"test accuracy {report['accuracy']:.1%} on 20 images" in summary(report)
    saved = json.loads((tmp_path / "diehl_cook.json").read_text())
    assert saved["accuracy"] == report["accuracy"] and saved["config"]["n_exc"] == 10
    assert (tmp_path / "receptive_fields.png").stat().st_size > 1000
    with np.load(tmp_path / "diehl_cook_weights.npz") as data:
        assert data["weights"].shape == (784, 10)


def run_cli(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv, needle", [
    (["--images", "70000"], "60,000 training images"),
    (["--test-images", "20000"], "10,000 test images"),
    (["--images", "100", "--labels", "200"], "--labels 200"),
    (["--neurons", "0"], "--neurons"),
    (["--images", "ten"], "--images"),
    (["--data", "/nonexistent/mnist"], "/nonexistent/mnist"),
])
def test_cli_mistakes_are_one_line(capsys, argv, needle):
    code, _, err = run_cli(capsys, "learn", "diehl-cook", *argv)
    assert code == 2, err
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_cli_names_an_unknown_study_and_a_file_as_out(capsys, tmp_path):
    code, _, err = run_cli(capsys, "learn", "hopfield")
    assert code == 2 and "invalid choice" in err
    afile = tmp_path / "out"
    afile.write_text("")
    code, _, err = run_cli(capsys, "learn", "diehl-cook", "--out", str(afile))
    assert code == 2 and "is a file" in err


def test_figure_is_written(tmp_path):
    fig = receptive_fields_figure(np.random.default_rng(0).random((784, 4)),
                                  tmp_path / "rf.png")
    assert (tmp_path / "rf.png").exists() and len(fig.axes) == 2
