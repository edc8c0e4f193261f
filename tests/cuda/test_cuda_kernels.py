"""CUDA kernels must give the CPU kernels' results: identical spikes and binary states, float
states within 1e-6 relative. Run with NUMBA_ENABLE_CUDASIM=1 (make test-cuda) on machines without
a GPU; on a GPU machine the same tests run on the device."""

import warnings

import numpy as np
import pytest

import neurosim as ns
from neurosim.datasets import load

pytestmark = pytest.mark.cuda


def test_cuda_backend_is_usable():
    from neurosim.kernels import cuda as cuda_kernels

    assert ns.get_backend("cuda") is cuda_kernels


def test_mcculloch_pitts_cpu_equals_cuda():
    rng = np.random.default_rng(0)
    n_in, n, steps, batch = 4, 12, 5, 5  # 60 threads: four blocks of 16
    exc = rng.integers(0, 3, (n_in + n, n)).astype(float) * (rng.random((n_in + n, n)) < 0.4)
    inh = rng.random((n_in + n, n)) < 0.1
    thr = rng.integers(1, 3, n).astype(float)
    net = ns.MPNetwork(tuple(f"x{i}" for i in range(n_in)), tuple(f"u{j}" for j in range(n)),
                       exc, inh, thr, ("u0",))
    inputs = rng.random((steps, batch, n_in)) < 0.5
    state0 = rng.random((batch, n)) < 0.3
    cpu = net.run(inputs, initial_state=state0, backend="cpu")
    gpu = net.run(inputs, initial_state=state0, backend="cuda")
    assert np.array_equal(cpu, gpu) and cpu.any()


def test_gates_on_cuda():
    assert ns.gate_truth_tables(backend="cuda") == ns.gate_truth_tables(backend="cpu")


@pytest.mark.parametrize("rule", ["ovr", "multiclass"])
@pytest.mark.parametrize("average", [False, True])
def test_perceptron_cpu_equals_cuda(rule, average):
    d = load("digits")
    x, y = d.x_train[:60], d.y_train[:60]
    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ns.NotConvergedWarning)
        for backend in ("cpu", "cuda"):
            fits[backend] = ns.Perceptron(max_epochs=2, rule=rule, average=average, seed=1,
                                          backend=backend).fit(x, y)
    np.testing.assert_allclose(fits["cuda"].weights_, fits["cpu"].weights_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(fits["cuda"].bias_, fits["cpu"].bias_, rtol=1e-6, atol=1e-12)
    assert np.array_equal(fits["cuda"].errors_, fits["cpu"].errors_)
    assert np.array_equal(fits["cuda"].predict(x), fits["cpu"].predict(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", [
    ns.LIFParams(tau_m_s=0.01, t_ref_s=0.003),
    ns.IFParams(tau_m_s=0.02, v_th=1.0),
])
def test_lif_cpu_equals_cuda(dtype, params):
    rng = np.random.default_rng(3)
    currents = (rng.random((40, 2, 25)) * 4).astype(dtype)  # batch 2 x 25 neurons: 4 blocks
    cpu = ns.lif_run(currents, params, 1e-3, dtype=dtype, record_v=True, backend="cpu")
    gpu = ns.lif_run(currents, params, 1e-3, dtype=dtype, record_v=True, backend="cuda")
    assert cpu.spikes.any()
    assert np.array_equal(cpu.spikes, gpu.spikes)
    np.testing.assert_allclose(gpu.v, cpu.v, rtol=1e-6, atol=1e-7)
    assert np.array_equal(cpu.state.refractory, gpu.state.refractory)


def test_lif_constant_input_cpu_equals_cuda():
    params = ns.LIFParams(tau_m_s=0.01, t_ref_s=0.002)
    levels = np.linspace(0.5, 3.0, 40)
    cpu = ns.lif_run(levels, params, 1e-3, steps=60, backend="cpu")
    gpu = ns.lif_run(levels, params, 1e-3, steps=60, backend="cuda")
    assert cpu.spikes.any() and np.array_equal(cpu.spikes, gpu.spikes)
