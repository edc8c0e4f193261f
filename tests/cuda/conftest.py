import pytest

from neurosim import config


@pytest.fixture(autouse=True)
def small_cuda_blocks(monkeypatch):
    """Small blocks, so that even the tiny test sizes launch several blocks."""
    monkeypatch.setattr(config, "CUDA_THREADS_PER_BLOCK", 16)
