"""COBA networks as plain arrays, drawn by either simulator, and neurosim run on any of them.

The COBA validation (:func:`neurosim.studies.gallery_validation.validate_coba`) compares
neurosim and Brian2 in three ways; two of them need a network drawn by one simulator and run
by the other (or by the same one):

- :func:`neurosim_draw`: the network neurosim's ``coba`` builds for a seed;
- :func:`brian2_draw`: the network Brian's classic ``COBA.py`` draws for a seed (its
  ``connect(p=...)`` and initial-state expressions on the numpy target, in the order
  :func:`~neurosim.studies.brian2_gallery.brian2_coba` calls them, so the same seed gives the
  network that ``brian2_coba`` simulates), without simulating it;
- :func:`neurosim_on`: neurosim's COBA neurons and synapses (the ``coba`` model's constants)
  on any such network.

A network is a dict: ``v0`` (mV), ``ge0`` and ``gi0`` (units of the leak), and the excitatory
and inhibitory synapses as global indices ``exc_i``, ``exc_j``, ``inh_i``, ``inh_j``
(excitatory neurons first).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from neurosim.checks import check_scalar

#: The arrays of a network (see the module docstring).
NETWORK_KEYS = ("v0", "ge0", "gi0", "exc_i", "exc_j", "inh_i", "inh_j")


def neurosim_draw(n: int, seed: int) -> dict[str, np.ndarray]:
    """The network neurosim's ``coba`` builds for ``seed``."""
    from neurosim.gallery import build

    model = build("coba", n=n, seed=seed, dtype=np.float64)
    exc, inh = model.populations
    offset = {id(exc): 0, id(inh): exc.n}
    out = {k: np.concatenate([getattr(p, k) for p in (exc, inh)]).astype(np.float64)
           for k in ("v0", "ge0", "gi0")}
    for target in ("exc", "inh"):
        projs = [p for p in model.network.projections if p.target == target]
        for end, attr in (("i", "pre"), ("j", "post")):
            out[f"{target}_{end}"] = np.concatenate([
                getattr(p, f"{attr}_idx").astype(np.int64) + offset[id(getattr(p, attr))]
                for p in projs])
    return out


def brian2_draw(n: int, seed: int) -> dict[str, np.ndarray]:
    """The network Brian's ``COBA.py`` draws for ``seed`` on the numpy target (Brian2's
    ``connect(p=min(1, 80/n))``, then ``v``, ``ge``, ``gi`` from ``rand``/``randn``)."""
    import brian2
    from brian2 import mV

    from neurosim.studies.brian2_gallery import _brian2_target, coba_network

    n = check_scalar("n", n, positive=True, integer=True)
    seed = check_scalar("seed", seed, nonnegative=True, integer=True)
    _quiet_unused_objects()
    with _brian2_target("numpy", np.float64):
        brian2.start_scope()
        brian2.seed(seed)  # (as brian2_coba: the same network for the seed)
        P, Ce, Ci = coba_network(n)
        return {"v0": np.asarray(P.v / mV, np.float64), "ge0": np.asarray(P.ge, np.float64),
                "gi0": np.asarray(P.gi, np.float64),
                "exc_i": np.asarray(Ce.i[:], np.int64), "exc_j": np.asarray(Ce.j[:], np.int64),
                "inh_i": np.asarray(Ci.i[:], np.int64) + len(Ce.source),
                "inh_j": np.asarray(Ci.j[:], np.int64)}


class _DrawnNotRun(logging.Filter):
    """Drops Brian2's warning that an object "is getting deleted, but was never included in a
    network" for the objects :func:`brian2_draw` makes (never run, by design), and only
    those: the warning quotes the line that created the object."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("in coba_network" in message or "in coba_group" in message)


def _quiet_unused_objects() -> None:
    warnings = logging.getLogger("brian2.core.base.unused_brian_object")
    if not any(isinstance(f, _DrawnNotRun) for f in warnings.filters):
        warnings.addFilter(_DrawnNotRun())


def neurosim_on(network: dict[str, np.ndarray], duration_s: float, *,
                dtype: Any = np.float64, dt_s: float = 1e-4) -> tuple[np.ndarray, np.ndarray,
                                                                       float]:
    """neurosim's COBA model (the ``coba`` gallery model's neurons and weights) run for
    ``duration_s`` on ``network``, one population of all the neurons: ``(spike steps, spike
    indices, run seconds)``."""
    import time

    from neurosim.gallery.coba import (
        COBA_PARAMS,
        E_EXC_MV,
        E_INH_MV,
        TAU_EXC_S,
        TAU_INH_S,
        W_EXC,
        W_INH,
    )
    from neurosim.network import Network, Population, SpikeMonitor, connect_explicit

    missing = sorted(set(NETWORK_KEYS) - set(network))
    if missing:
        raise ValueError(f"network lacks {', '.join(missing)} (needs {', '.join(NETWORK_KEYS)})")
    n = np.shape(network["v0"])[0] if np.ndim(network["v0"]) == 1 else -1
    if n < 1:
        raise ValueError("network['v0'] must be a non-empty 1-D array (one entry per neuron)")
    pop = Population(n, COBA_PARAMS, tau_exc_s=TAU_EXC_S, tau_inh_s=TAU_INH_S,
                     synapse_model="conductance", e_exc=E_EXC_MV, e_inh=E_INH_MV,
                     v0=network["v0"], ge0=network["ge0"], gi0=network["gi0"])
    exc = connect_explicit(pop, pop, network["exc_i"], network["exc_j"], W_EXC, target="exc")
    inh = connect_explicit(pop, pop, network["inh_i"], network["inh_j"], W_INH, target="inh")
    monitor = SpikeMonitor(pop)
    net = Network(dt_s, dtype=dtype).add(pop, exc, inh, monitor)
    start = time.perf_counter()
    net.run(duration_s, progress=False)
    return (np.asarray(monitor.steps, np.int64), np.asarray(monitor.indices, np.int64),
            time.perf_counter() - start)
