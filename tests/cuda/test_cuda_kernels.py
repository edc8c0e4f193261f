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


def _small_network(backend):
    """Weights that are multiples of 1/8, so that sums are exact in any order (CUDA delivers
    spikes with atomics)."""
    from neurosim import network as nw

    rng = np.random.default_rng(2)
    exc = nw.Population(24, ns.LIFParams(tau_m_s=0.01, v_rest=-65.0, v_reset=-65.0, v_th=-50.0,
                                         t_ref_s=0.0005), tau_exc_s=0.004, tau_inh_s=0.006,
                        v0=np.round(rng.uniform(-65, -50, 24)), i_bias=14.0)
    ifp = nw.Population(6, ns.IFParams(tau_m_s=0.002, v_th=1.0), tau_exc_s=0.003)
    src = nw.PoissonGroup(10, 400.0, seed=3)
    times = nw.SpikeSource(2, [0, 1, 0], [0.0003, 0.0011, 0.002])
    projections = [
        nw.connect_fixed_probability(src, exc, 0.3, 2.5, delay_steps=2, seed=1),
        nw.connect_fixed_indegree(exc, exc, 3, -0.625, target="inh", seed=2),
        nw.connect_fixed_outdegree(exc, ifp, 2, 0.375, target="exc", delay_steps=1, seed=3),
        nw.connect_dense(times, exc, np.full((2, 24), 1.5), target="v"),
    ]
    current = nw.CurrentInput(ifp, np.tile(np.linspace(0, 2, 6), (10, 1)))
    mons = [nw.SpikeMonitor(exc), nw.SpikeMonitor(ifp), nw.RateMonitor(exc),
            nw.StateMonitor(exc, ("v", "ge"), indices=[1, 5], every=3)]
    net = nw.Network(1e-4, dtype=np.float32, backend=backend)
    net.add(exc, ifp, src, times, *projections, current, *mons)
    return net, mons


def test_network_cpu_equals_cuda():
    cpu_net, cpu_mons = _small_network("cpu")
    gpu_net, gpu_mons = _small_network("cuda")
    for net in (cpu_net, gpu_net):
        net.run(0.004, progress=False, chunk_steps=25)  # 40 steps in two chunks
    for c, g in zip(cpu_mons[:2], gpu_mons[:2]):
        assert np.array_equal(c.steps, g.steps) and np.array_equal(c.indices, g.indices)
    assert cpu_mons[0].steps.size > 5 and cpu_mons[1].steps.size > 0
    assert np.array_equal(cpu_mons[2].spike_counts, gpu_mons[2].spike_counts)
    np.testing.assert_allclose(gpu_mons[3].v, cpu_mons[3].v, rtol=1e-6)
    np.testing.assert_array_equal(gpu_mons[3].steps, cpu_mons[3].steps)
    for pop in cpu_net.populations:
        gpu_pop = gpu_net.populations[cpu_net.populations.index(pop)]
        np.testing.assert_allclose(gpu_net.state_of(gpu_pop)["v"], cpu_net.state_of(pop)["v"],
                                   rtol=1e-6)


def test_network_state_stays_on_the_device(monkeypatch):
    """Build uploads once; runs and chunks work on device arrays; only monitor read-outs and
    state a user asks for come back; results equal one CPU run of the same length."""
    from neurosim.kernels import cuda_network

    cpu_net, cpu_mons = _small_network("cpu")
    cpu_net.run(0.006, progress=False)
    gpu_net, gpu_mons = _small_network("cuda")
    uploads = []
    real_upload = cuda_network.network_upload
    monkeypatch.setattr(cuda_network, "network_upload",
                        lambda records: uploads.append(1) or real_upload(records))
    from neurosim.kernels import cuda as cuda_kernels

    monkeypatch.setattr(cuda_kernels, "network_upload", cuda_network.network_upload)
    gpu_net.run(0.002, progress=False, chunk_steps=7)  # three chunks and a part
    records = gpu_net.simulation.records
    for array in (records.neurons.v, records.synapses.weight, records.delivery.ring):
        assert not isinstance(array, np.ndarray) and hasattr(array, "copy_to_host")
    v_device = records.neurons.v
    gpu_net.run(0.004, progress=False, chunk_steps=7)  # a second run, same buffers
    assert gpu_net.simulation.records.neurons.v is v_device
    assert len(uploads) == 1 and gpu_net.steps_done == 60
    for c, g in zip(cpu_mons[:2], gpu_mons[:2]):
        assert np.array_equal(c.steps, g.steps) and np.array_equal(c.indices, g.indices)
    np.testing.assert_array_equal(cpu_mons[2].spike_counts, gpu_mons[2].spike_counts)
    np.testing.assert_array_equal(gpu_mons[3].steps, cpu_mons[3].steps)
    state = gpu_net.state_of(gpu_net.populations[0])
    assert isinstance(state["v"], np.ndarray)
    np.testing.assert_allclose(state["v"], cpu_net.state_of(cpu_net.populations[0])["v"],
                               rtol=1e-6)


def test_exact_accumulation_cpu_equals_cuda_bit_for_bit():
    """Weights that are not binary fractions: with integer accumulation the order of CUDA's
    atomic adds does not matter, so spikes and state equal the CPU's exactly."""
    from tests.test_network import _converging_network

    runs = {}
    for backend in ("cpu", "cuda"):
        net, post, mon = _converging_network((0, 1, 2), "exact", backend=backend)
        net.run(0.01, progress=False, chunk_steps=60)
        runs[backend] = (mon.steps, mon.indices, *net.state_of(post).values())
    assert runs["cpu"][0].size > 5
    for a, b in zip(runs["cpu"], runs["cuda"]):
        assert np.array_equal(a, b)


def test_maxpool_gate_cpu_equals_cuda():
    from neurosim.kernels import cpu
    from neurosim.kernels import cuda as cuda_kernels

    rng = np.random.default_rng(1)
    spikes = (rng.random((6, 20, 5, 6)) < 0.4).astype(np.float32)  # 20 maps: 2 blocks of 16
    args = [np.array(a, np.int64) for a in ((2, 2), (2, 2), (1, 0), (1, 1))]
    outs = []
    for module in (cpu, cuda_kernels):
        out = np.empty((6, 20, 3, 3), np.float32)
        counts = np.zeros((20, 5, 6), np.int32)
        out_counts = np.zeros((20, 3, 3), np.int32)
        module.maxpool_gate(spikes, *args, counts, out, out_counts)
        outs.append((out, counts, out_counts))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    np.testing.assert_array_equal(outs[0][2], outs[1][2])


def test_fused_spiking_maxpool_cpu_equals_cuda():
    from neurosim.kernels import cpu
    from neurosim.kernels import cuda as cuda_kernels
    from tests.test_convert import _fused_case

    for constant in (True, False):
        cpu_out = _fused_case(cpu, constant, (2, 2))
        gpu_out = _fused_case(cuda_kernels, constant, (2, 2))
        np.testing.assert_array_equal(gpu_out[0], gpu_out[3])
        for ours, theirs in zip(cpu_out[:3], gpu_out[:3]):
            np.testing.assert_array_equal(ours, theirs)



def test_event_driven_convolution_cpu_equals_cuda():
    """The CUDA kernel (one thread per output pixel, the shared rule) and the CPU kernel
    (scattered by input pixel, four channels at a time) sum in the same order: same bits."""
    from neurosim.kernels import cpu
    from neurosim.kernels import cuda as cuda_kernels
    from tests.test_convert import SPARSE_CONV_CASES, sparse_conv_case

    for case in SPARSE_CONV_CASES[1:]:  # the small ones (the simulator runs Python)
        x, weight, bias = sparse_conv_case(case)
        np.testing.assert_array_equal(cuda_kernels.sparse_conv2d(x, weight, bias, *case[7:]),
                                      cpu.sparse_conv2d(x, weight, bias, *case[7:]))


def test_converted_network_cpu_equals_cuda():
    import torch

    from neurosim.convert import convert

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(2 * 3 * 3, 3)).eval()
    x = torch.rand(3, 1, 6, 6)
    results = [convert(model, x, backend=b).simulate(x, 6) for b in ("cpu", "cuda")]
    assert results[0]["spikes"] == results[1]["spikes"]
    np.testing.assert_allclose(results[1]["membrane"], results[0]["membrane"], rtol=1e-6)


@pytest.mark.parametrize("refractory_input", ["discard", "buffer"])
def test_models_network_cpu_equals_cuda(refractory_input):
    """Poisson drives (exact-inversion and normal branches), jumps onto v discarded or
    buffered during refractoriness, conductance-based synapses: the same spikes and state."""
    from tests.test_network_models import model_network

    runs = {}
    for backend in ("cpu", "cuda"):
        net, mons = model_network(backend, refractory_input=refractory_input)
        net.run(0.006, progress=False, chunk_steps=25)
        runs[backend] = (net, mons)
    (cpu_net, cpu_mons), (gpu_net, gpu_mons) = runs["cpu"], runs["cuda"]
    for c, g in zip(cpu_mons, gpu_mons):
        assert np.array_equal(c.steps, g.steps) and np.array_equal(c.indices, g.indices)
    assert sum(m.steps.size for m in cpu_mons) > 20
    for pop, gpu_pop in zip(cpu_net.populations, gpu_net.populations):
        for var in ("v", "ge", "gi"):
            np.testing.assert_allclose(gpu_net.state_of(gpu_pop)[var],
                                       cpu_net.state_of(pop)[var], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rule", ["pair additive", "triplet", "diehl-cook"])
def test_stdp_network_cpu_equals_cuda(rule):
    """Plastic projections with delays, adaptive thresholds: the same spikes and weights."""
    from neurosim.network import SpikeMonitor
    from tests.test_plasticity import RULES, _network

    runs = []
    for backend in ("cpu", "cuda"):
        net, pops, plastic = _network(RULES[rule], seed=2, theta=True, backend=backend)
        mon = SpikeMonitor(pops[0])
        net.add(mon)
        net.run(0.12, progress=False)
        net.normalize_weights(plastic[0], 5.0)
        net.set_learning(False, plastic[1])
        net.run(0.03, progress=False)
        runs.append((mon.as_raster(150), [net.weights_of(p) for p in plastic],
                     net.state_of(pops[0])["theta"]))
    (cpu_raster, cpu_w, cpu_theta), (gpu_raster, gpu_w, gpu_theta) = runs
    assert cpu_raster.sum() > 20
    np.testing.assert_array_equal(cpu_raster, gpu_raster)
    for a, b in zip(cpu_w, gpu_w):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cpu_theta, gpu_theta, rtol=0, atol=1e-12)
