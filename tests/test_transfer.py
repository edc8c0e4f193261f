import numpy as np

from neurosim.studies import transfer


def test_few_shot_draws_k_per_class_by_seed():
    _, y, _, _ = transfer.digits_28()
    idx = transfer.few_shot(y, 3, seed=1)
    assert np.array_equal(np.bincount(y[idx].numpy(), minlength=10), np.full(10, 3))
    assert np.array_equal(idx, transfer.few_shot(y, 3, seed=1))
    assert not np.array_equal(idx, transfer.few_shot(y, 3, seed=2))
    assert len(transfer.few_shot(y, None, seed=0)) == len(y)


def test_head_only_training_leaves_the_features_unchanged():
    source = transfer.zoo.load_pretrained("mnist_cnn")
    model = transfer.build_model("head", source, seed=0)
    x, y, _, _ = transfer.digits_28()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    transfer.train(model, x[:40], y[:40], epochs=2, seed=0, frozen_features=True)
    after = model.state_dict()
    changed = {k for k in before if not np.array_equal(before[k].numpy(), after[k].numpy())}
    last = str(len(model) - 1)
    assert changed == {f"{last}.weight", f"{last}.bias"}  # BatchNorm statistics included


def test_small_study_runs_and_transfer_beats_chance(tmp_path):
    study = transfer.run_transfer(seeds=(0,), shots=(5,), timesteps=(4, 16), epochs=5,
                                  progress=False)
    assert {e["strategy"] for e in study["table"]} == set(transfer.STRATEGIES)
    for entry in study["table"]:
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
    assert (tmp_path / "transfer.png").stat().st_size > 2000
