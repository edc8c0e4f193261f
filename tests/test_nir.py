"""NIR interchange (neurosim.interop.nir): round trips neurosim -> NIR -> neurosim (identical
spikes), neurosim -> NIR -> snnTorch and snnTorch -> NIR -> neurosim (same output spike counts),
a Sinabs file, the discretisation (forward Euler of dt_s) against a NumPy loop, what NIR cannot
say, and the CLI. Small models on the 8x8 digits, a few images: seconds, not minutes."""

import json

import numpy as np
import pytest
import torch
import torch.nn as nn

nir = pytest.importorskip("nir")

from neurosim.cli import main  # noqa: E402
from neurosim.convert import convert  # noqa: E402
from neurosim.datasets import load as load_data  # noqa: E402
from neurosim.interop import nir as nsnir  # noqa: E402

T = 16


@pytest.fixture(scope="module")
def digits():
    data = load_data("digits", flat=False)
    return torch.from_numpy(data.x_train[:300]), torch.from_numpy(data.y_train[:300]).long(), \
        data.x_test[:20]


def _train(model, x, y, steps=5):
    """A few steps: the round trips need spikes, not accuracy."""
    torch.manual_seed(0)
    x, y = x[:128], y[:128]
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def cnn(digits):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    return _train(model, *digits[:2])


def _convert(model, digits, **options):
    return convert(model, digits[0][:200], reset="value", v_init=0, **options)


def _counts(net, result, name):
    """Spikes per neuron of layer ``name`` (rates x T / amplitude)."""
    rates = result["rates"][name]
    return np.rint(rates * T / net.scale_view(name, rates.ndim).numpy()).astype(int)


# -- neurosim -> NIR -> neurosim ---------------------------------------------------------------
@pytest.mark.parametrize("neuron,scales", [("if", "nodes"), ("if", "fold"), ("lif", "fold")])
def test_round_trip_gives_identical_spikes(cnn, digits, tmp_path, neuron, scales):
    snn = _convert(cnn, digits, neuron=neuron, lif_tau_steps=20.0)
    path = nsnir.write(tmp_path / "cnn.nir", snn, scales=scales)
    back = nsnir.load(path)
    assert back.neuron_layers == snn.neuron_layers and back.options.neuron == neuron
    x = digits[2]
    ref = snn.simulate(x, T, record=tuple(snn.neuron_layers))
    got = back.simulate(x, T, record=tuple(back.neuron_layers))
    for name in snn.neuron_layers:
        assert np.array_equal(_counts(snn, ref, name), _counts(back, got, name)), name
    assert ref["spikes"] == got["spikes"] and sum(ref["spikes"].values()) > 1000
    np.testing.assert_array_equal(ref["membrane"], got["membrane"])


def test_count_decoding_exports_the_output_neurons(cnn, digits):
    snn = _convert(cnn, digits, decoding="count", granularity="layer")
    graph = nsnir.to_nir(snn)
    assert isinstance(graph.nodes["output_neurons"], nir.IF)
    back = nsnir.load(graph)
    counts = snn.simulate(digits[2], T)["counts"]
    np.testing.assert_array_equal(back.simulate(digits[2], T)["membrane"], counts)


def test_thresholds_fold_into_the_weights(cnn, digits):
    snn = _convert(cnn, digits)  # per-channel thresholds
    folded, kept = nsnir.to_nir(snn), nsnir.to_nir(snn, scales="nodes")
    neurons = [n for n in folded.nodes.values() if isinstance(n, nir.IF)]
    assert len(neurons) == 3 and all(np.all(n.v_threshold == 1) for n in neurons)
    assert not any(isinstance(n, nir.Scale) for n in folded.nodes.values())
    first = snn.graph.nodes[1].name
    lam = snn.scales["relu"]
    np.testing.assert_allclose(folded.nodes[first].weight,
                               snn.graph.nodes[1].params["weight"] / lam[:, None, None, None])
    assert np.array_equal(kept.nodes["relu"].v_threshold[:, 0, 0], lam)
    assert isinstance(kept.nodes["relu_amplitude"], nir.Scale)
    assert kept.metadata["neurosim_dt_s"] == 1e-4
    # the method on the network gives the same graph as the function
    method = snn.to_nir(scales="nodes")
    assert set(method.nodes) == set(kept.nodes) and set(method.edges) == set(kept.edges)
    np.testing.assert_array_equal(method.nodes[first].weight, kept.nodes[first].weight)
    with pytest.raises(ValueError, match="dt_s"):
        snn.to_nir(dt_s=-1.0)


def test_residual_sum_and_standalone_batchnorm(digits, tmp_path):
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 4, 3, padding=1)
            self.body = nn.Conv2d(4, 4, 3, padding=1)
            self.norm = nn.BatchNorm2d(4)
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            h = torch.relu(self.stem(x))
            h = torch.relu(self.body(h) + h)
            return self.head(nn.functional.avg_pool2d(self.norm(h), 2).flatten(1))

    model = _train(Residual(), *digits[:2], steps=2)
    snn = _convert(model, digits)
    assert any(n.op == "add" for n in snn.graph.nodes)
    back = nsnir.load(nsnir.write(tmp_path / "res.nir", snn))
    x = digits[2]
    ref = snn.simulate(x, T, record=tuple(snn.neuron_layers))
    got = back.simulate(x, T, record=tuple(back.neuron_layers))
    for name in snn.neuron_layers:  # the residual sum: two edges into one IF node
        assert np.array_equal(_counts(snn, ref, name), _counts(back, got, name)), name
    # the BatchNorm after a ReLU becomes a 1x1 convolution: the same sums up to rounding
    np.testing.assert_allclose(ref["membrane"], got["membrane"], rtol=1e-5, atol=1e-5)


# -- snnTorch ----------------------------------------------------------------------------------
def _snntorch_counts(net, images, steps):
    import snntorch

    counts = []
    with torch.no_grad():
        for image in images:
            for module in net.modules():
                if isinstance(module, snntorch.SpikingNeuron):
                    module.reset_mem()
            out = [net(torch.as_tensor(image)) for _ in range(steps)]
            counts.append(sum(o[0] if isinstance(o, tuple) else o for o in out).numpy())
    return np.array(counts)


@pytest.mark.parametrize("neuron", ["lif", "if"])
def test_neurosim_to_snntorch_same_output_counts(cnn, digits, neuron):
    pytest.importorskip("snntorch")
    from snntorch.import_nir import import_from_nir

    snn = _convert(cnn, digits, neuron=neuron, lif_tau_steps=20.0, decoding="count")
    expected = snn.simulate(digits[2], T)["counts"][-1]
    # snnTorch 1.0 reads NIR's IF as a leaky neuron: IF layers go as LIF without leak
    graph = nsnir.to_nir(snn, if_as_lif=neuron == "if")
    assert all(isinstance(graph.nodes[n], nir.LIF) for n in snn.neuron_layers)
    got = _snntorch_counts(import_from_nir(graph), digits[2], T)
    assert expected.sum() > 50
    np.testing.assert_array_equal(got, expected)
    back = nsnir.load(graph)  # and back: the leak-free LIF is read as an IF
    assert back.options.neuron == neuron
    np.testing.assert_array_equal(back.simulate(digits[2], T)["membrane"][-1], expected)


def test_snntorch_to_neurosim_same_output_counts(digits, tmp_path):
    snntorch = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    def leaky(*shape):  # per-neuron parameters: snnTorch's export needs them to type a CNN
        return snntorch.Leaky(beta=torch.full(shape, 0.9), threshold=torch.ones(shape),
                              init_hidden=True, reset_mechanism="zero")

    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), leaky(8, 8, 8), nn.AvgPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1), leaky(16, 4, 4), nn.AvgPool2d(2),
                        nn.Flatten(), nn.Linear(64, 10), leaky(10))
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.mul_(3.0)
    x = torch.from_numpy(digits[2])
    expected = _snntorch_counts(net, x[:, None], T)[:, 0]
    path = tmp_path / "snntorch.nir"
    nir.write(path, export_to_nir(net, x[:1], ignore_dims=[0]))
    back = nsnir.load(path)  # snnTorch's dt (1e-4 s) is the default
    assert back.options.neuron == "lif" and back.input_shape == (1, 8, 8)
    assert expected.sum() > 50
    np.testing.assert_array_equal(back.simulate(x, T)["membrane"][-1], expected)


def test_sinabs_file_loads_and_runs(digits, tmp_path):
    pytest.importorskip("sinabs")
    import sinabs.layers as sl
    from sinabs.activation import MembraneReset, SingleSpike
    from sinabs.nir import to_nir as sinabs_to_nir

    batch = len(digits[2])

    def iaf():
        return sl.IAFSqueeze(batch_size=batch, reset_fn=MembraneReset(), spike_fn=SingleSpike)

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), iaf(), sl.SumPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1), iaf(), sl.SumPool2d(2),
                        nn.Flatten(), nn.Linear(64, 10), iaf())
    x = torch.from_numpy(digits[2])
    over_time = x[:, None].expand(batch, T, 1, 8, 8).reshape(batch * T, 1, 8, 8)
    with torch.no_grad():
        expected = net(over_time).reshape(batch, T, 10).sum(1).numpy()
    graph = sinabs_to_nir(net, over_time[:batch])
    graph.infer_types()  # Sinabs leaves shapes empty, which nir.write cannot store
    path = tmp_path / "sinabs.nir"
    nir.write(path, graph)
    back = nsnir.load(path, dt_s=1.0)  # Sinabs steps its neurons with r = 1 per step
    assert expected.sum() > 20
    np.testing.assert_array_equal(back.simulate(x, T)["membrane"][-1], expected)


def test_norse_file_loads_and_runs(digits, tmp_path):
    norse = pytest.importorskip("norse.torch")

    def cell(n):  # per-neuron parameters: nir.write cannot store Norse's scalar ones
        return norse.LIFBoxCell(norse.LIFBoxParameters(
            tau_mem_inv=torch.full((n,), 100.0), v_leak=torch.zeros(n), v_th=torch.ones(n),
            v_reset=torch.zeros(n)))

    torch.manual_seed(0)
    model = norse.SequentialState(nn.Linear(64, 32), cell(32), nn.Linear(32, 10), cell(10))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.weight.mul_(6.0)
                module.bias.add_(1.5)
    x = torch.from_numpy(digits[2]).reshape(len(digits[2]), -1)
    with torch.no_grad():  # Norse's own run: forward Euler with dt = 1 ms
        state, expected = None, 0
        for _ in range(T):
            out, state = model(x, state)
            expected = expected + out
    # Norse 1.1.0 writes tau = dt / tau_mem_inv: dt=1 writes the time constant itself
    path = tmp_path / "norse.nir"
    nir.write(path, norse.to_nir(model, x[:1], dt=1.0))
    back = nsnir.load(path, dt_s=1e-3, input_shape=(64,))  # its Input keeps the batch dim
    assert expected.sum() > 50
    np.testing.assert_array_equal(back.simulate(x, T)["membrane"][-1], expected.numpy())


# -- the discretisation ------------------------------------------------------------------------
def _one_layer(neuron, n=5):
    return nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([n])),
                               "w": nir.Linear(weight=np.eye(n)), "neurons": neuron,
                               "output": nir.Output(output_type=np.array([n]))},
                        edges=[("input", "w"), ("w", "neurons"), ("neurons", "output")])


@pytest.mark.parametrize("kind", ["LIF", "IF"])
def test_neurons_are_forward_euler_steps_of_dt(kind):
    n, dt, steps = 5, 1e-3, 60
    tau, r, theta = 0.02, 1.5, np.array([0.02, 0.05, 0.1, 0.2, 0.4])
    if kind == "LIF":
        neuron = nir.LIF(tau=np.full(n, tau), r=np.full(n, r), v_leak=np.zeros(n),
                         v_threshold=theta, v_reset=np.zeros(n))
    else:
        r = 100.0
        neuron = nir.IF(r=np.full(n, r), v_threshold=theta, v_reset=np.zeros(n))
    current = np.array([[0.3, 0.5, 0.9, 1.0, 2.0]])
    net = nsnir.load(_one_layer(neuron, n), dt_s=dt)
    got = net.simulate(current, steps)["membrane"][-1, 0]
    v, count = np.zeros(n), np.zeros(n)  # NumPy reference: v += dt/tau (-v + r I) (or dt r I)
    for _ in range(steps):
        v = v + (dt / tau * (-v + r * current[0]) if kind == "LIF" else dt * r * current[0])
        fired = v > theta
        count += fired
        v[fired] = 0.0
    assert count.sum() > 10
    np.testing.assert_array_equal(got, count)


def test_dt_comes_from_the_graph_or_the_caller():
    neuron = nir.LIF(tau=np.full(2, 1e-3), r=np.ones(2), v_leak=np.zeros(2),
                     v_threshold=np.ones(2))
    graph = _one_layer(neuron, 2)
    assert nsnir.load(graph).dt_s == 1e-4
    graph.metadata = {"neurosim_dt_s": 5e-4}
    assert nsnir.load(graph).dt_s == 5e-4 and nsnir.load(graph, dt_s=2e-4).dt_s == 2e-4


# -- what NIR cannot say -----------------------------------------------------------------------
def test_export_errors_name_the_node_and_the_option(cnn, digits):
    subtract = convert(cnn, digits[0][:100], v_init=0)
    with pytest.raises(nsnir.NirExportError, match=r"subtraction.*'relu'.*reset='value'"):
        nsnir.to_nir(subtract)
    with pytest.raises(nsnir.NirExportError, match=r"initial membrane.*v_init=0"):
        nsnir.to_nir(convert(cnn, digits[0][:100], reset="value"))
    pooled = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                           nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(nsnir.NirExportError, match=r"max-pooling.*max_pool2d.*AvgPool2d"):
        nsnir.to_nir(_convert(pooled, digits))
    snn = _convert(cnn, digits)
    with pytest.raises(ValueError, match="scales"):
        nsnir.to_nir(snn, scales="weights")
    with pytest.raises(ValueError, match="dt_s"):
        nsnir.to_nir(snn, dt_s=0.0)
    with pytest.raises(TypeError, match="network must be"):
        nsnir.to_nir(cnn)


def test_import_errors_name_the_node(tmp_path):
    cuba = nir.CubaLIF(tau_syn=np.ones(2), tau_mem=np.ones(2), r=np.ones(2),
                       v_leak=np.zeros(2), v_threshold=np.ones(2))
    with pytest.raises(nsnir.NirImportError, match="'neurons' is a CubaLIF"):
        nsnir.load(_one_layer(cuba, 2))
    leak = nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.ones(2), v_threshold=np.ones(2))
    with pytest.raises(nsnir.NirImportError, match="v_leak of node 'neurons'"):
        nsnir.load(_one_layer(leak, 2))
    loop = _one_layer(nir.IF(r=np.ones(2), v_threshold=np.ones(2)), 2)
    loop.edges.append(("neurons", "w"))
    with pytest.raises(nsnir.NirImportError, match="cycle"):
        nsnir.load(loop)
    with pytest.raises(FileNotFoundError):
        nsnir.load(tmp_path / "missing.nir")
    (tmp_path / "junk.nir").write_text("not hdf5")
    with pytest.raises(nsnir.NirImportError, match="not a readable NIR file"):
        nsnir.load(tmp_path / "junk.nir")
    with pytest.raises(TypeError, match="source"):
        nsnir.load(3)
    with pytest.raises(TypeError, match="path"):
        nsnir.read(3)
    with pytest.raises(ValueError, match="dt_s"):
        nsnir.load(loop, dt_s=-1.0)


# -- CLI ---------------------------------------------------------------------------------------
def test_cli_convert_exports_and_simulate_runs_the_file(capsys, tmp_path):
    path = tmp_path / "mlp.nir"
    code = main(["convert", "--model", "digits_mlp", "--reset", "value", "--v-init", "0",
                 "--timesteps", "8", "--samples", "20", "--calibration", "200",
                 "--export-nir", str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and path.stat().st_size > 1000 and report["options"]["v_init"] == 0
    code = main(["simulate", "--nir", str(path), "--samples", "30", "--timesteps", "16",
                 "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["samples"] == 30 and result["accuracy"] > 0.5


@pytest.mark.parametrize("argv,message", [
    (["convert", "--model", "digits_mlp", "--export-nir", "x.nir"], "--reset value"),
    (["convert", "--model", "digits_mlp", "--reset", "value", "--export-nir", "x.nir"],
     "--v-init 0"),
    (["simulate", "--nir", "missing.nir"], "no NIR file"),
    (["simulate", "cuba", "--nir", "missing.nir"], "not both"),
    (["simulate"], "--nir FILE"),
])
def test_cli_nir_errors_are_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


# -- networks built with the network API -------------------------------------------------------
def _network():
    import neurosim.network as nw
    from neurosim.neurons.lif import LIFParams

    net = nw.Network(dt_s=1e-4, dtype=np.float64)
    biased = nw.Population(5, LIFParams(tau_m_s=0.02, v_rest=-0.5, v_reset=-0.5, v_th=1.0),
                           i_bias=np.array([1.6, 1.8, 2.0, 2.5, 3.0]), name="biased")
    source = nw.SpikeSource(3, [0, 1, 2], [0.001, 0.002, 0.003], name="source")
    post = nw.Population(4, LIFParams(), name="post")
    cuba = nw.Population(6, LIFParams(), tau_exc_s=0.005, tau_inh_s=0.005, name="cuba")
    noise = nw.PoissonGroup(10, 50.0, name="noise")
    net.add(biased, source, post, cuba, noise,
            nw.connect_dense(source, post, np.full((3, 4), 0.5), target="v"),
            nw.connect_fixed_probability(noise, cuba, 0.3, weight=0.2, target="exc"),
            nw.connect_fixed_probability(post, cuba, 0.5, weight=-0.1, target="inh"))
    return net


def test_network_exports_populations_and_dense_projections(tmp_path):
    net = _network()
    graph = nsnir.read(nsnir.write(tmp_path / "net.nir", net))
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    assert kinds["biased"] == "LIF" and kinds["cuba"] == "CubaLIF"
    assert kinds["source"] == kinds["noise"] == "Input" and kinds["post.output"] == "Output"
    proj = net.projections[1]  # sparse -> dense, post x pre
    dense = np.zeros((6, 10))
    dense[proj.post_idx, proj.pre_idx] = proj.weight
    np.testing.assert_array_equal(graph.nodes["noise->cuba"].weight, dense)
    assert graph.metadata["neurosim_dt_s"] == 1e-4


def test_network_lif_is_neurosims_step_under_forward_euler():
    """The exported LIF (potentials shifted to start at 0, bias in v_leak), stepped by forward
    Euler with the network's dt, spikes on the same steps as neurosim's LIF step of the
    population (:func:`~neurosim.neurons.lif.lif_run`: the rules the network kernel is made of;
    a network run would compile the network kernels, half a minute)."""
    from neurosim.neurons.lif import LIFState, lif_run

    net = _network()
    biased = net.populations[0]
    lif = nsnir.to_nir(net).nodes["biased"]
    start = LIFState.initial(5, biased.params, np.float64, v0=biased.v0)
    run = lif_run(biased.i_bias, biased.params, 1e-4, start, steps=2000)
    v, spikes = np.zeros(5), np.zeros((2000, 5), bool)
    for step in range(2000):
        v = v + 1e-4 / lif.tau * (lif.v_leak - v)
        spikes[step] = v > lif.v_threshold
        v[spikes[step]] = lif.v_reset[spikes[step]]
    assert spikes.sum() > 20
    np.testing.assert_array_equal(spikes, run.spikes)


def test_network_export_errors():
    import neurosim.network as nw
    from neurosim.neurons.lif import LIFParams

    net = _network()
    with pytest.raises(nsnir.NirExportError, match=r"'noise' -> 'cuba'.*sparse.*6 x 10 = 60"):
        nsnir.to_nir(net, max_weights=20)
    with pytest.raises(ValueError, match="own time step"):
        nsnir.to_nir(net, dt_s=1e-3)
    refractory = nw.Network().add(nw.Population(2, LIFParams(t_ref_s=0.002), name="r"))
    with pytest.raises(nsnir.NirExportError, match="refractory period: population 'r'"):
        nsnir.to_nir(refractory)
    subtract = nw.Network().add(nw.Population(2, LIFParams(reset="subtract"), name="s"))
    with pytest.raises(nsnir.NirExportError, match="subtraction.*'s'.*reset='value'"):
        nsnir.to_nir(subtract)
