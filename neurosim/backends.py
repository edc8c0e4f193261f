"""Backend registry: ``"cpu"``, ``"cuda"`` and ``"auto"``.

A backend is a kernel module (:mod:`neurosim.kernels.cpu` or :mod:`neurosim.kernels.cuda`);
both expose the same functions with the same signatures. ``"auto"`` picks CUDA when a real GPU
is usable and the CPU otherwise, and says which once in the log.
"""

from __future__ import annotations

import logging
from functools import cache
from types import ModuleType

log = logging.getLogger("neurosim")

BACKENDS = ("cpu", "cuda", "auto")


class BackendUnavailableError(RuntimeError):
    """The backend asked for cannot run on this machine."""


from neurosim.config import cuda_simulator_enabled  # noqa: E402,F401  (re-exported)


def cuda_status() -> tuple[bool, str]:
    """``(usable, reason)``: whether the CUDA backend can run here, and why (not)."""
    try:
        from numba import cuda
    except Exception as exc:  # numba built without CUDA support, broken driver bindings
        return False, f"numba.cuda cannot be imported ({exc})"
    try:
        if cuda.is_available():
            if cuda_simulator_enabled():
                return True, "Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1, runs on the CPU)"
            return True, f"GPU {cuda.get_current_device().name!s}"
    except Exception as exc:
        return False, f"CUDA driver error ({exc})"
    return False, "no CUDA GPU or driver found (install the 'cuda' extra: numba-cuda)"


@cache
def _auto_choice() -> str:
    usable, reason = cuda_status()
    choice = "cuda" if usable and not cuda_simulator_enabled() else "cpu"
    log.info("backend 'auto' chose %s (%s)", choice, reason if choice == "cuda" else "no GPU")
    return choice


def resolve_backend_name(name: str) -> str:
    """Validate a backend name and resolve ``"auto"``."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}; got {name!r}")
    return _auto_choice() if name == "auto" else name


def get_backend(name: str = "cpu") -> ModuleType:
    """Return the kernel module of a backend.

    Raises
    ------
    ValueError
        ``name`` is not a known backend.
    BackendUnavailableError
        ``"cuda"`` was asked for and no usable GPU (or simulator) is present.
    """
    name = resolve_backend_name(name)
    if name == "cpu":
        from neurosim.kernels import cpu

        return cpu
    usable, reason = cuda_status()
    if not usable:
        raise BackendUnavailableError(
            f"backend 'cuda' was requested but CUDA is not usable: {reason}. "
            "Use backend='cpu' or 'auto'."
        )
    from neurosim.kernels import cuda as cuda_kernels

    return cuda_kernels
