import pytest

import neurosim as ns
from neurosim import backends


def test_cpu_backend_and_auto_without_gpu():
    from neurosim.kernels import cpu

    assert ns.get_backend("cpu") is cpu
    if not backends.cuda_status()[0]:
        assert ns.get_backend("auto") is cpu


def test_unknown_backend_is_a_value_error():
    with pytest.raises(ValueError, match="backend must be one of"):
        ns.get_backend("tpu")


def test_cuda_without_gpu_raises_a_clear_error():
    if backends.cuda_status()[0]:
        pytest.skip("a CUDA device (or the simulator) is usable here")
    with pytest.raises(ns.BackendUnavailableError, match="CUDA is not usable"):
        ns.get_backend("cuda")
    with pytest.raises(ns.BackendUnavailableError):
        ns.lif_run([[1.0]], ns.LIFParams(), 1e-4, backend="cuda")
