"""Memory estimates, checked before anything large is allocated."""

from __future__ import annotations

import os

BYTES_PER_SYNAPSE = 8  # int32 postsynaptic index + float32 weight
_HEADROOM = 0.8  # never plan to use more than this share of the available memory
ALWAYS_FITS = 1 << 24  # 16 MiB: not worth asking the system


class NetworkTooLargeError(ValueError):
    """The network would not fit in this machine's memory."""


def available_bytes() -> int:
    """Memory available to this process (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def check_fits(n_bytes: float, what: str,
               advice: str = "use fewer neurons or synapses") -> None:
    """Raise :class:`NetworkTooLargeError` when ``n_bytes`` will not fit in memory (below
    :data:`ALWAYS_FITS` bytes nothing is asked of the system: a short run, called once per
    stimulus, should not read ``/proc/meminfo`` every time)."""
    if n_bytes < ALWAYS_FITS:
        return
    limit = available_bytes() * _HEADROOM
    if n_bytes > limit:
        raise NetworkTooLargeError(
            f"{what} needs about {n_bytes / 2**30:.1f} GiB but only {limit / 2**30:.1f} GiB of "
            f"memory is available: {advice}")


def synapse_bytes(n_synapses: float, n_sources: int = 0, n_groups: int = 1) -> float:
    """8 bytes per synapse plus the CSR row pointers (int64) of every delay group."""
    return n_synapses * BYTES_PER_SYNAPSE + n_groups * (n_sources + 1) * 8
