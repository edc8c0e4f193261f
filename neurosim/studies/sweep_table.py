"""The table of a parameter sweep (:mod:`neurosim.studies.sweep`): one CSV row per point,
keyed by ``key`` (model, sorted parameters, duration and transient), written so that an
interrupted sweep keeps every finished row.

Columns, in order: ``key``; the model parameters (sorted); ``duration_s``, ``transient_s``; the
statistics of :func:`neurosim.gallery.run_model`; ``task_s`` (wall time of the task, seconds),
``worker`` (host:pid) and ``error`` (empty when the point succeeded).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

KEY, ERROR = "key", "error"
#: Columns between the parameters and the statistics, and after the statistics.
RUN_COLUMNS = ("duration_s", "transient_s")
TASK_COLUMNS = ("task_s", "worker", ERROR)
RESERVED = (KEY, *RUN_COLUMNS, *TASK_COLUMNS)


def value_text(value: Any) -> str:
    """A parameter value as it appears in a key: whole numbers without a decimal point (so
    ``2`` and ``2.0`` are the same point), other floats exactly (``repr``), strings quoted."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2.0**53:
        return str(int(value))
    return repr(value)


def point_key(model: str, params: dict, duration_s: float, transient_s: float) -> str:
    """The identity of a point in a table: model, sorted parameters, duration, transient."""
    items = [f"{name}={value_text(params[name])}" for name in sorted(params)]
    items += [f"duration_s={value_text(float(duration_s))}",
              f"transient_s={value_text(float(transient_s))}"]
    return " ".join([model, *items])


def _parse(text: str | None) -> Any:
    """A table cell back to a value: int, float, bool, str, or None when empty."""
    if text is None or text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


class SweepTable:
    """The CSV table of a sweep, kept in memory (key -> row) and on disk: a new row is
    appended (one line, file closed after it), a changed header or a replaced row (a retried
    failure) rewrites the file through a temporary file."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.rows: dict[str, dict] = {}
        self.params: list[str] = []
        self.stats: list[str] = []
        if self.path.exists():
            self._load()

    def header(self) -> list[str]:
        return [KEY, *sorted(self.params), *RUN_COLUMNS, *self.stats, *TASK_COLUMNS]

    def _load(self) -> None:
        with self.path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            if not set(RESERVED) <= set(columns):
                raise ValueError(f"{self.path} is not a sweep table (its columns: "
                                 f"{', '.join(columns) or 'none'})")
            self.params = columns[1:columns.index(RUN_COLUMNS[0])]
            self.stats = columns[columns.index(RUN_COLUMNS[-1]) + 1:columns.index(
                TASK_COLUMNS[0])]
            for row in reader:
                if row.get(ERROR) is None or not row.get(KEY):
                    continue  # a line cut short by an interruption
                parsed = {k: _parse(v) for k, v in row.items() if k is not None}
                parsed[KEY], parsed[ERROR] = row[KEY], row[ERROR]
                self.rows[row[KEY]] = parsed

    def done(self, key: str) -> bool:
        return key in self.rows and not self.rows[key][ERROR]

    def add(self, row: dict, params: Sequence[str], stats: Sequence[str]) -> None:
        new_columns = ([p for p in params if p not in self.params]
                       + [s for s in stats if s not in self.stats])
        self.params += [p for p in params if p not in self.params]
        self.stats += [s for s in stats if s not in self.stats]
        replaced = row[KEY] in self.rows
        self.rows[row[KEY]] = row
        if new_columns or replaced or not self.path.exists():
            self.write()
            return
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, self.header()).writerow(row)

    def write(self, order: Sequence[str] = ()) -> None:
        """The whole table, rows of ``order`` first (in that order), then the others."""
        keys = [k for k in order if k in self.rows]
        keys += [k for k in self.rows if k not in set(keys)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, self.header())
            writer.writeheader()
            writer.writerows(self.rows[k] for k in keys)
        os.replace(tmp, self.path)


def read_table(path: str | os.PathLike) -> list[dict]:
    """The rows of a sweep table (values parsed back to int, float, bool or str)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep table at {path}")
    return list(SweepTable(path).rows.values())
