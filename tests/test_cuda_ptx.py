"""Every CUDA kernel compiles to PTX for a real GPU (sm_90, the H100/H200 generation).

The CUDA simulator runs kernels as Python, so it cannot see code that a real GPU's compiler
rejects (an unsupported construct, a record type the CUDA target cannot lower). This test
compiles each kernel with NVVM, without a GPU, for the argument types the host drivers pass.
It needs libnvvm (a CUDA toolkit); without one it is skipped.
"""

import glob
import os
from types import SimpleNamespace

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("compiles real PTX: not under the simulator", allow_module_level=True)

CUDA_HOMES = [os.environ.get("CUDA_HOME", ""), *sorted(glob.glob("/usr/local/cuda*"))]
CUDA_HOME = next((h for h in CUDA_HOMES if h and glob.glob(f"{h}/**/libnvvm.so*",
                                                                 recursive=True)), None)
pytestmark = pytest.mark.skipif(CUDA_HOME is None, reason="no libnvvm (CUDA toolkit) found")

CC = (9, 0)


@pytest.fixture(scope="module")
def compile_ptx():
    os.environ.setdefault("CUDA_HOME", CUDA_HOME)
    import numba.cuda.dispatcher as dispatcher
    from numba import cuda, typeof

    # device functions ask the current device for its compute capability: there is none here
    real = dispatcher.get_current_device
    dispatcher.get_current_device = lambda: SimpleNamespace(compute_capability=CC)

    def compile_kernel(kernel, *args):
        signature = tuple(typeof(a) for a in args)
        ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=CC)
        assert ".entry" in ptx
        return ptx

    yield compile_kernel
    dispatcher.get_current_device = real


@pytest.mark.parametrize("dtype, accumulate", [(np.float32, "float"), (np.float64, "exact")])
def test_network_kernel_compiles(compile_ptx, dtype, accumulate):
    from neurosim.kernels import cuda_network
    from neurosim.kernels.records import Clock
    from tests.test_network import _rich_network

    net = _rich_network(dtype)[0]
    net.accumulate = accumulate
    records = net.build().records
    compile_ptx(cuda_network._network_kernel, Clock(0, 10), *records)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plastic_network_kernel_compiles(compile_ptx, dtype):
    """STDP phases (float64 weights and traces into a float32 or float64 ring) and the
    weight normalisation kernel."""
    from neurosim.kernels import cuda_network, cuda_plasticity
    from neurosim.kernels.records import Clock
    from tests.test_plasticity import RULES, _network

    net = _network(RULES["triplet"], seed=0, theta=True)[0]
    net.dtype = np.dtype(dtype)
    records = net.build().records
    compile_ptx(cuda_network._network_kernel, Clock(0, 10), *records)
    compile_ptx(cuda_plasticity._normalize_kernel, records.plasticity, 0, 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_neuron_and_conversion_kernels_compile(compile_ptx, dtype):
    from neurosim.kernels import cuda
    from neurosim.neurons.lif import LIFParams

    f, i32, u8 = np.zeros((2, 3), dtype), np.zeros(3, np.int32), np.zeros((2, 3), np.uint8)
    compile_ptx(cuda._lif_run_kernel, f[0], i32, f, LIFParams().constants(1e-4, dtype), u8, f,
                True)
    one, yes = dtype(1), True
    compile_ptx(cuda._spiking_layer_kernel, f.astype(np.float32), f[0], f[0], 3, f[0], one, one,
                one, yes, yes, f, i32)
    rows = np.zeros((4, 3), dtype)
    compile_ptx(cuda._spiking_maxpool_kernel, np.zeros(6, np.int64),
                np.zeros((2, 4, 3), np.float32), rows[0], rows[0], rows, one, one, one, yes, yes,
                rows.astype(np.int32), rows.astype(np.int32), rows.astype(np.uint8),
                np.zeros((2, 4, 3), dtype), rows.astype(np.int32))
    maps = np.zeros((2, 5, 5, 3), dtype)
    compile_ptx(cuda._sparse_conv2d_kernel, maps, np.zeros((3, 3, 3, 4), dtype),
                np.zeros(4, dtype), 1, 1, np.zeros((2, 5, 5, 4), dtype))
    pair = np.zeros(2, np.int64)
    compile_ptx(cuda._maxpool_gate_kernel, np.zeros((2, 3, 4, 4), dtype), pair, pair, pair, pair,
                np.zeros((3, 4, 4), np.int32), np.zeros((2, 3, 2, 2), dtype),
                np.zeros((3, 2, 2), np.int32))


def test_perceptron_and_mcculloch_pitts_kernels_compile(compile_ptx):
    from neurosim.kernels import cuda

    x, w = np.zeros((5, 4)), np.zeros((3, 4))
    b, i64 = np.zeros(3), np.zeros((5, 3), np.int64)
    order, errors = np.zeros((2, 5), np.int64), np.zeros((2, 3), np.int64)
    compile_ptx(cuda._scores_kernel, x, w, b, np.zeros((5, 3)))
    compile_ptx(cuda._ovr_kernel, x, i64, w, b, w, b, order, 1.0, errors, b)
    compile_ptx(cuda._multiclass_kernel, x, np.zeros(5, np.int64), w, b, w, b, order, 1.0,
                errors, b, b)
    u8 = np.zeros((2, 3), np.uint8)
    compile_ptx(cuda._mp_step_kernel, u8, u8, np.zeros((4, 2)), np.zeros((4, 2), np.uint8),
                np.zeros(2), u8[:, :2])
