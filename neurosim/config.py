"""Every JIT switch of neurosim in one place (read by the kernel modules at import time).

``FASTMATH`` is off on purpose: fast-math lets LLVM reorder sums and contract multiply-adds,
which can move a membrane potential that lands exactly on threshold to the other side and
flip a spike between the CPU and CUDA backends, or between runs with different thread counts.

Environment overrides (read once, at import):

``NEUROSIM_PARALLEL=0``   compile CPU kernels without ``parallel=True``
``NEUROSIM_JIT_CACHE=0``  do not cache compiled CPU kernels on disk (``NEUROSIM_CACHE`` is the
                         data cache folder of :mod:`neurosim.datasets`, not a JIT switch)
``NEUROSIM_CUDA_TPB=64``  CUDA threads per block (tests use small blocks so several run)

The on-disk cache lives in a folder named after a hash of the kernel sources
(:func:`kernel_cache_dir`): Numba checks only the timestamp of the file that defines a cached
function, not of the rules it compiles in from :mod:`neurosim.kernels.scalar`, so an edited rule
would otherwise run from a stale cache. Processes that share the sources (Dask workers of a
sweep) share the compiled kernels.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

FASTMATH: bool = False
PARALLEL: bool = os.environ.get("NEUROSIM_PARALLEL", "1") != "0"
CACHE: bool = os.environ.get("NEUROSIM_JIT_CACHE", "1") != "0"
#: Neurons per work item of the CPU kernels whose time loop runs inside a neuron block: the
#: block's state stays in L1/L2 cache across all time steps.
CPU_NEURON_BLOCK: int = 2048
#: CUDA threads per block; read at every launch, so it may be changed at run time.
CUDA_THREADS_PER_BLOCK: int = int(os.environ.get("NEUROSIM_CUDA_TPB", "128"))



def kernel_cache_dir() -> str:
    """``$NUMBA_CACHE_DIR`` (or ``~/.cache/neurosim/numba``) / a hash of the kernel sources."""
    digest = hashlib.sha256()
    for source in sorted((Path(__file__).parent / "kernels").glob("*.py")):
        digest.update(source.name.encode() + source.read_bytes())
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "neurosim", "numba")
    return os.path.join(base, digest.hexdigest()[:16])


if CACHE:
    import numba

    numba.config.CACHE_DIR = kernel_cache_dir()

NJIT_OPTIONS = {"cache": CACHE, "fastmath": FASTMATH, "nogil": True}
NJIT_PARALLEL_OPTIONS = {**NJIT_OPTIONS, "parallel": PARALLEL}


def cuda_simulator_enabled() -> bool:
    """Whether Numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1``, read by Numba at
    import): CUDA kernels then run as Python on the CPU."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"
