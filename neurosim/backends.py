"""The backend registry: one table of backends, and ``"auto"``.

A backend is a kernel module (:mod:`neurosim.kernels.cpu`, :mod:`neurosim.kernels.cuda`) with
the same functions and signatures, plus a probe that says whether it can run here and why
(not). ``"auto"`` takes the usable backend with the highest preference and logs its reason
once. Adding a backend is one :func:`register` call (and its kernel module); no other module
tests backend names.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from neurosim.config import cuda_simulator_enabled

log = logging.getLogger("neurosim")


class BackendUnavailableError(RuntimeError):
    """The backend asked for cannot run on this machine."""


@dataclass(frozen=True)
class Probe:
    """What a backend's probe found: can it run, may ``auto`` pick it, and why."""

    usable: bool
    reason: str
    auto: bool = True  # False: usable when asked for by name only (e.g. the CUDA simulator)


@dataclass(frozen=True)
class Backend:
    """One row of the registry."""

    name: str
    module: str  # the kernel module, imported on first use
    preference: int  # ``auto`` picks the usable backend with the highest preference
    probe: Callable[[], Probe]
    hint: str = ""  # what to do when it is not usable


def _probe_cpu() -> Probe:
    return Probe(True, "Numba CPU kernels (always available)")


def _probe_cuda() -> Probe:
    try:
        from numba import cuda
    except Exception as exc:  # numba built without CUDA support, broken driver bindings
        return Probe(False, f"numba.cuda cannot be imported ({exc})")
    try:
        if cuda.is_available():
            if cuda_simulator_enabled():
                return Probe(True, "Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1, runs on the "
                             "CPU)", auto=False)
            return Probe(True, f"GPU {cuda.get_current_device().name!s}")
    except Exception as exc:
        return Probe(False, f"CUDA driver error ({exc})")
    return Probe(False, "no CUDA GPU or driver found (install the 'cuda' extra: numba-cuda)")


REGISTRY: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Add a backend to the table (names are unique; ``"auto"`` is reserved)."""
    if backend.name == "auto" or backend.name in REGISTRY:
        raise ValueError(f"backend name {backend.name!r} is reserved or taken")
    REGISTRY[backend.name] = backend
    _auto_choice.cache_clear()
    return backend


def backend_names() -> tuple[str, ...]:
    """Every name a user may pass: the registered backends and ``"auto"``."""
    return (*REGISTRY, "auto")


def probe(name: str) -> Probe:
    """Whether backend ``name`` can run here, and why (not)."""
    return REGISTRY[name].probe()


def cuda_status() -> tuple[bool, str]:
    """``(usable, reason)`` for the CUDA backend."""
    found = probe("cuda")
    return found.usable, found.reason


@cache
def _auto_choice() -> str:
    found = {name: probe(name) for name in REGISTRY}
    eligible = [name for name, p in found.items() if p.usable and p.auto]
    choice = max(eligible, key=lambda name: REGISTRY[name].preference)
    passed = "; ".join(f"{name}: {p.reason}" for name, p in found.items() if name != choice)
    log.info("backend 'auto' chose %s (%s)%s", choice, found[choice].reason,
             f"; not chosen: {passed}" if passed else "")
    return choice


def resolve_backend_name(name: str) -> str:
    """Validate a backend name and resolve ``"auto"``."""
    if not isinstance(name, str) or name not in backend_names():
        raise ValueError(f"backend must be one of {', '.join(map(repr, backend_names()))}; got "
                         f"{name!r}")
    return _auto_choice() if name == "auto" else name


def get_backend(name: str = "cpu") -> ModuleType:
    """Return the kernel module of a backend.

    Raises
    ------
    ValueError
        ``name`` is not a known backend.
    BackendUnavailableError
        The backend cannot run here (e.g. ``"cuda"`` without a GPU or the simulator).
    """
    name = resolve_backend_name(name)
    backend = REGISTRY[name]
    found = backend.probe()
    if not found.usable:
        raise BackendUnavailableError(
            f"backend {name!r} was requested but {name.upper()} is not usable: {found.reason}. "
            f"{backend.hint}".rstrip())
    return importlib.import_module(backend.module)


register(Backend("cpu", "neurosim.kernels.cpu", 0, _probe_cpu))
register(Backend("cuda", "neurosim.kernels.cuda", 10, _probe_cuda,
                 hint="Use backend='cpu' or 'auto'."))
