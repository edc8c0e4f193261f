"""``cuba``: the current-based balanced network of Vogels & Abbott (2005), benchmark 2 of
Brette et al. (2007), in the formulation of Brian2's ``CUBA`` example (see
:mod:`neurosim.network.cuba` for the equations and parameters)."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim.gallery import Model
from neurosim.network.cuba import build_cuba


def build(n: int = 4000, *, seed: int = 0, dtype: Any = np.float32, backend: str = "cpu",
          dt_s: float = 1e-4, scale: float | None = None) -> Model:
    """The CUBA network of ``n`` neurons (``scale`` multiplies 4,000 instead), 80%
    excitatory; activity is self-sustained (no external input)."""
    if scale is not None:
        n = max(10, int(round(4000 * float(scale))))
    net, mons = build_cuba(n, seed=seed, dtype=dtype, backend=backend, dt_s=dt_s)
    return Model("cuba", net, [mons["exc"], mons["inh"]],
                 [mons["spikes_exc"], mons["spikes_inh"]],
                 {"n": n, "seed": seed, "dtype": np.dtype(dtype).name, "backend": backend,
                  "dt_s": dt_s}, __doc__.splitlines()[0])
