import os

import pytest


# CUDA tests must run in their own process with NUMBA_ENABLE_CUDASIM=1 set before numba loads
# (make test does this); in a plain process they are skipped rather than run on a missing GPU.
def pytest_collection_modifyitems(config, items):
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return
    skip = pytest.mark.skip(reason="CUDA tests run under NUMBA_ENABLE_CUDASIM=1 (make test-cuda)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
