"""Poisson drives (:class:`~neurosim.network.populations.PoissonInput`) as the kernels' record
(:class:`~neurosim.kernels.records.Drives`): keys of the counter-based generator and the
binomial tables that :func:`neurosim.kernels.scalar_network.binomial_count` inverts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neurosim.kernels.records import Drives
from neurosim.kernels.scalar_network import BINOMIAL_EXACT_MEAN, BINOMIAL_UNROLL
from neurosim.network.projections import TARGETS


def binomial_cdf_table(n, p):
    """The cumulative probabilities of Binomial(n, p) for k = 0 .. last (host side, float64):
    ``(table, last)`` with ``last`` where the tail beyond is below 1e-20 (or ``n``), and
    ``table[last] = 1`` (the tail lumped into ``last``, so a search over the table ends
    there). For means above :data:`BINOMIAL_EXACT_MEAN` the table is not used."""
    mean = n * p
    if p >= 1.0 or mean > BINOMIAL_EXACT_MEAN:
        return [1.0], 0
    last = min(n, int(mean + 12.0 * math.sqrt(mean) + 12))
    pk = (1.0 - p) ** n
    ratio = p / (1.0 - p)
    table = [pk]
    for k in range(last):
        pk = pk * (n - k) / (k + 1) * ratio
        table.append(table[-1] + pk)
    table[last] = 1.0
    return table, last


def binomial_thresholds(n, p):
    """:func:`binomial_cdf_table` as the integers :func:`binomial_count` compares the
    uniform's 53 bits ``m`` with: ``m * 2**-53 > c`` exactly when ``m > floor(c * 2**53)``;
    the last entry (and padding) is 2**53, above every ``m``. At least
    :data:`BINOMIAL_UNROLL` entries."""
    table, last = binomial_cdf_table(n, p)
    thresholds = [int(math.floor(c * 9007199254740992.0)) for c in table]
    thresholds[last] = 9007199254740992
    return thresholds + [9007199254740992] * max(0, BINOMIAL_UNROLL - len(thresholds))


def _mix_key(seed: int, position: int) -> int:
    """The generator key of the ``position``-th Poisson drive (SplitMix64 of the pair)."""
    mask = (1 << 64) - 1
    x = (seed + (position + 1) * 0x9E3779B97F4A7C15) & mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def build_drives(net: Any, offsets: dict[int, int]) -> Drives:
    """One row per :class:`~neurosim.network.populations.PoissonInput`."""
    rows: dict[str, list] = {name: [] for name in Drives._fields}
    rows_of = {id(p): k for k, p in enumerate(net.populations)}
    for k, drive in enumerate(net.drives):
        p = drive.rate_hz * net.dt_s
        if p > 1:
            raise ValueError(f"a PoissonInput rate of {drive.rate_hz:g} Hz exceeds 1/dt_s")
        lo = offsets[id(drive.target)]
        values = {"population": rows_of[id(drive.target)], "lo": lo, "hi": lo + drive.target.n,
                  "n": drive.n, "p": p, "thresholds": binomial_thresholds(drive.n, p),
                  "weight": drive.weight, "target": TARGETS.index(drive.var),
                  "key": _mix_key(drive.seed, k), "key2": _mix_key(_mix_key(drive.seed, k), 0)}
        for name, value in values.items():
            rows[name].append(value)
    width = max([len(t) for t in rows["thresholds"]] + [BINOMIAL_UNROLL])
    thresholds = np.full((len(net.drives), width), 2**53, np.uint64)
    for k, table in enumerate(rows["thresholds"]):
        thresholds[k, :len(table)] = table
    kinds = {"p": np.float64, "weight": np.float64, "key": np.uint64, "key2": np.uint64}
    return Drives(**{name: thresholds if name == "thresholds"
                     else np.array(rows[name], kinds.get(name, np.int64))
                     for name in Drives._fields})
