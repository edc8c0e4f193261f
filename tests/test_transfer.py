from pathlib import Path

import numpy as np
import pytest

from neurosim.studies import transfer
from neurosim.studies.transfer_tasks import TASKS, task_data


def digits_28():
    return task_data(TASKS["digits"], TASKS["digits"].quick)

MODELS = Path(__file__).resolve().parents[1] / "models"


def test_few_shot_draws_k_per_class_by_seed():
    _, y, _, _ = digits_28()
    idx = transfer.few_shot(y, 3, seed=1)
    assert np.array_equal(np.bincount(y[idx].numpy(), minlength=10), np.full(10, 3))
    assert np.array_equal(idx, transfer.few_shot(y, 3, seed=1))
    assert not np.array_equal(idx, transfer.few_shot(y, 3, seed=2))
    assert len(transfer.few_shot(y, None, seed=0)) == len(y)


def test_head_only_training_leaves_the_features_unchanged():
    source = transfer.zoo.load_pretrained("mnist_cnn")
    model = transfer.build_model("head", source, seed=0)
    x, y, _, _ = digits_28()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    transfer.train(model, x[:40], y[:40], epochs=2, seed=0, frozen_features=True)
    after = model.state_dict()
    changed = {k for k in before if not np.array_equal(before[k].numpy(), after[k].numpy())}
    last = str(len(model) - 1)
    assert changed == {f"{last}.weight", f"{last}.bias"}  # BatchNorm statistics included


def test_small_study_runs_and_transfer_beats_chance(tmp_path):
    study = transfer.run_transfer(seeds=(0,), shots=(5,), timesteps=(4, 16), epochs=5,
                                  progress=False, stdp_layer=MODELS / "diehl_cook_100.npz",
                                  min_steps=60)
    assert {e["strategy"] for e in study["table"]} == set(transfer.STRATEGIES)
    for entry in study["table"]:
        if entry["strategy"] == "stdp":  # spiking features + linear readout: no T, no ANN
            assert entry["stdp_mean"] > 0.3 and entry["spikes_mean"] > 0
            continue
        assert entry["snn_T16_mean"] > 0.3  # chance is 0.1
        if entry["strategy"] not in ("surrogate", "hybrid"):  # trained as SNNs: no ANN
            assert entry["ann_mean"] > 0.3
    finetune = next(e for e in study["table"] if e["strategy"] == "finetune")
    scratch = next(e for e in study["table"] if e["strategy"] == "scratch")
    assert finetune["ann_mean"] > scratch["ann_mean"]  # pretraining helps with 5 shots
    hybrid = next(e for e in study["table"] if e["strategy"] == "hybrid")
    # hybrid starts from the converted fine-tuned network of the same seed and shots
    assert hybrid["converted_T4_mean"] == finetune["snn_T4_mean"]
    assert hybrid["source_ann_mean"] == finetune["ann_mean"]
    transfer.write_report(study, tmp_path)
    text = (tmp_path / "transfer.md").read_text()
    assert "| finetune | 5 |" in text and "| surrogate | 5 | — |" in text
    assert "Hybrid conversion (fine-tuned at T=4" in text and "| hybrid | 5 | — |" in text
    assert "STDP features (Diehl & Cook layer of" in text
    assert (tmp_path / "transfer.png").stat().st_size > 2000


def test_stdp_layer_files_and_readout(tmp_path):
    from neurosim.studies import transfer_stdp

    with pytest.raises(FileNotFoundError, match="no STDP layer file"):
        transfer_stdp.find_layer(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, weights=np.zeros((10, 3)))
    with pytest.raises(ValueError, match="missing"):
        transfer_stdp.load_layer(bad)
    np.savez(bad, weights=np.zeros((10, 3)), theta=np.zeros(3))
    with pytest.raises(ValueError, match=r"\(784, n\)"):
        transfer_stdp.load_layer(bad)
    weights, theta, file = transfer_stdp.load_layer()  # the shipped layer
    assert weights.shape[0] == 784 and theta.shape == (weights.shape[1],)
    np.testing.assert_allclose(transfer_stdp.normalised([[1, 3], [0, 0]]), [[.25, .75], [0, 0]])
    # MNIST's framing: a full frame of ink becomes a 20x20 box with 4 blank pixels around it
    framed = transfer_stdp.mnist_frame(np.ones((2, 784))).reshape(2, 28, 28)
    assert framed[:, :4].sum() == 0 and framed[:, -4:].sum() == 0
    assert framed[:, :, :4].sum() == 0 and np.allclose(framed[:, 4:24, 4:24], 1.0)
    # a readout on separable counts is exact
    counts = np.repeat(np.eye(3, dtype=int) * 5, 4, axis=0)
    labels = np.repeat(np.arange(3), 4)
    result = transfer_stdp.readout_accuracy(counts, labels, counts, labels, seed=0)
    assert result["stdp_accuracy"] == 1.0 and result["spikes_per_image"] == 5.0


def test_fashion_study_with_layer_probes(tmp_path):
    """MNIST -> Fashion-MNIST, tiny: every strategy runs, the probe covers every layer of the
    frozen source network for ANN and SNN, and the report shows them."""
    study = transfer.run_transfer(task="mnist-fashion", seeds=(0,), shots=(2,),
                                  timesteps=(4, 16), epochs=2, test_per_class=6,
                                  strategies=("finetune", "head", "hybrid"), progress=False,
                                  min_steps=10)
    assert study["config"]["task"] == "mnist-fashion" and study["config"]["test_images"] == 60
    probe = study["probe"]["table"]
    assert [e["layer"].split()[0] for e in probe][0] == "input"
    assert len(probe) == 1 + 3  # pixels and the CNN's three ReLU layers
    for e in probe:
        assert 0.0 <= e["ann_mean"] <= 1.0 and 0.0 <= e["snn_mean"] <= 1.0
    assert probe[0]["ann_mean"] == probe[0]["snn_mean"]  # pixels are the same for both
    transfer.write_report(study, tmp_path)
    text = (tmp_path / "transfer.md").read_text()
    assert text.startswith("# Transfer: MNIST CNN -> Fashion-MNIST")
    assert "Which layers transfer" in text
    with pytest.raises(ValueError, match="unknown transfer task"):
        transfer.run_transfer(task="cifar", progress=False)
    with pytest.raises(ValueError, match="strategies must be among"):
        transfer.run_transfer(strategies=("magic",), progress=False)
