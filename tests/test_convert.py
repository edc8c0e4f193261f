"""ANN-to-SNN conversion: every supported operation, every unsupported one, convergence to the
ANN as T grows, single steps == layer-at-a-time, and the user's model left untouched."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import neurosim.convert.simulate as simulation
from neurosim.convert import ConversionError, convert
from neurosim.convert.ann import ann_forward
from neurosim.convert.layers import fused_pool
from tests import naive

torch.manual_seed(0)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        y = F.relu(self.conv1(x))
        y = torch.relu(self.conv2(y) + y)  # skip connection
        return self.head(torch.flatten(y, 1))


class ShapeChecked(nn.Module):
    """A forward with a Python shape check: plain torch.fx symbolic tracing fails on it."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        if x.shape[-1] != 12:
            raise ValueError("expected 12 features")
        return self.fc2(self.fc1(x.view(x.shape[0], -1)).relu())


class MeanPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 5, 3)
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x)).mean(dim=(2, 3)))


def _bn(module):
    """BatchNorm with non-trivial statistics (so that folding is really tested)."""
    module.running_mean.uniform_(-0.5, 0.5)
    module.running_var.uniform_(0.5, 2.0)
    module.weight.data.uniform_(0.5, 1.5)
    module.bias.data.uniform_(-0.2, 0.2)
    return module


MODELS = {
    "linear_relu_module": (lambda: nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3)),
                           (10,)),
    "linear_no_bias_identity": (lambda: nn.Sequential(nn.Linear(10, 16, bias=False), nn.ReLU(),
                                                      nn.Identity(), nn.Linear(16, 3)), (10,)),
    "batchnorm1d_dropout": (lambda: nn.Sequential(nn.Linear(10, 16), _bn(nn.BatchNorm1d(16)),
                                                  nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3)),
                            (10,)),
    "conv1d": (lambda: nn.Sequential(nn.Conv1d(2, 4, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Flatten(), nn.Linear(4 * 8, 3)), (2, 16)),
    "conv2d_stride_pad_dilation_groups": (
        lambda: nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=2, dilation=2, groups=2,
                                        bias=False), nn.ReLU(), nn.Flatten(),
                              nn.Linear(4 * 4 * 4, 3)), (2, 8, 8)),
    "conv2d_batchnorm_maxpool": (
        lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), _bn(nn.BatchNorm2d(4)), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)),
        (1, 8, 8)),
    "maxpool_before_relu": (
        lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
                              nn.Flatten(), nn.Linear(4 * 4 * 4, 3)), (1, 8, 8)),
    "avgpool_adaptive": (
        lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                              nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                              nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(24, 3)),
        (1, 8, 8)),
    "conv_of_spikes": (  # convs and a linear reading spikes: run event-driven
        lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 5, (3, 2)),
                              nn.ReLU(), nn.Flatten(), nn.Linear(5 * 2 * 3, 3)), (1, 8, 8)),
    "residual_functional_relu": (Residual, (1, 6, 6)),
    "shape_checked_forward_view_dot_relu": (ShapeChecked, (12,)),
    "mean_over_hw": (MeanPool, (2, 6, 6)),
    "reshape_method": (lambda: _Reshape(), (1, 4, 4)),
    "flatten_method": (lambda: _FlattenMethod(), (1, 4, 4)),
}


class _Reshape(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.fc = nn.Linear(48, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).reshape(x.shape[0], 48))


class _FlattenMethod(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.fc = nn.Linear(48, 3)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x)).flatten(1))


def _data(shape, n=64, seed=0):
    return torch.rand((n,) + shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_supported_operation_converts_and_converges(name):
    build, shape = MODELS[name]
    model = build().eval()
    x = _data(shape)
    snn = convert(model, x, normalization="max")
    with torch.no_grad():
        expected = model(x)
    np.testing.assert_allclose(snn.ann_logits(x).numpy(), expected.numpy(), rtol=1e-4,
                               atol=1e-5)  # the captured graph computes the model
    span = float(expected.max() - expected.min())
    errors = {}
    for steps in (16, 512):
        rate = snn.simulate(x[:16], steps)["membrane"][-1] / steps
        errors[steps] = float(np.abs(rate - expected[:16].numpy()).mean()) / span
    assert errors[512] < 0.03, errors
    assert errors[512] < errors[16], errors


def test_hidden_rates_approach_ann_activations():
    model = MODELS["conv2d_batchnorm_maxpool"][0]().eval()
    x = _data((1, 8, 8))
    snn = convert(model, x, normalization="max")
    relu = snn.neuron_layers[0]
    _, acts = ann_forward(snn.graph, x[:8], record={relu})
    errs = [float(np.abs(snn.simulate(x[:8], t, record=(relu,))["rates"][relu]
                         - acts[relu].numpy()).mean()) for t in (8, 64, 512)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.01 * float(acts[relu].max())


@pytest.mark.parametrize("name", ["conv2d_batchnorm_maxpool", "residual_functional_relu"])
@pytest.mark.parametrize("encoding", ["constant", "poisson"])
def test_single_steps_equal_layer_at_a_time(name, encoding):
    build, shape = MODELS[name]
    model = build().eval()
    x = _data(shape, n=12)
    snn = convert(model, x, encoding=encoding, seed=3)
    whole = snn.simulate(x, 20)["membrane"]
    stepped = snn.simulate_stepwise(x, 20)
    np.testing.assert_allclose(stepped, whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make, needle", [
    (lambda: nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2)), "sigmoid"),
    (lambda: nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)), "tanh"),
    (lambda: nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2)), "layer_norm"),
    (lambda: nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 2)), "gelu"),
    (lambda: nn.Sequential(nn.Linear(4, 4), nn.Softmax(dim=1)), "softmax"),
])
def test_unsupported_operations_raise_naming_the_operation_and_module(make, needle):
    with pytest.raises(ConversionError) as info:
        convert(make(), torch.rand(8, 4))
    message = str(info.value).lower()
    assert needle in message
    assert "(" in message and "supported:" in message  # module path and the supported list
    assert "1 (" in message or "0 (" in message  # the module's position in the Sequential


def test_unsupported_multiplication_and_transposed_conv():
    class Scaled(nn.Module):
        def forward(self, x):
            return x * 2.0

    with pytest.raises(ConversionError, match="mul"):
        convert(Scaled(), torch.rand(4, 3))
    with pytest.raises(ConversionError, match="(?i)transpose|convolution"):
        convert(nn.Sequential(nn.ConvTranspose2d(1, 2, 3)), torch.rand(2, 1, 5, 5))


def test_maxpool_of_signed_values_is_refused():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 2))
    with pytest.raises(ConversionError, match="max-pooling"):
        convert(model, torch.rand(4, 1, 6, 6))


def test_user_model_is_not_modified():
    model = MODELS["batchnorm1d_dropout"][0]()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    convert(model, torch.rand(32, 10))
    assert model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_maxpool_gate_kernel_matches_naive():
    from neurosim.kernels import cpu

    rng = np.random.default_rng(0)
    spikes = (rng.random((30, 6, 7, 9)) < 0.3).astype(np.float32) * 1.5
    for kernel, stride, padding, dilation in [((2, 2), (2, 2), (0, 0), (1, 1)),
                                              ((3, 3), (2, 1), (1, 1), (1, 1)),
                                              ((2, 3), (1, 2), (0, 1), (2, 1))]:
        expected = naive.maxpool_gate(spikes, kernel, stride, padding, dilation)
        out = np.empty(expected.shape, np.float32)
        counts = np.zeros(spikes.shape[1:], np.int32)
        out_counts = np.zeros(expected.shape[1:], np.int32)
        half = 13  # two calls: the state carries over
        for lo, hi in ((0, half), (half, len(spikes))):
            part = np.empty((hi - lo,) + expected.shape[1:], np.float32)
            cpu.maxpool_gate(np.ascontiguousarray(spikes[lo:hi]),
                             *(np.array(a, np.int64) for a in (kernel, stride, padding,
                                                               dilation)),
                             counts, part, out_counts)
            out[lo:hi] = part
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(out_counts, (expected != 0).sum(axis=0))



SPARSE_CONV_CASES = [  # (N, H, W, C, O, KH, KW, pad_h, pad_w): padding, none, ragged, 1x1
    (3, 14, 14, 32, 64, 3, 3, 1, 1), (2, 7, 9, 5, 7, 3, 2, 0, 1), (2, 6, 5, 3, 4, 5, 5, 2, 2),
    (2, 4, 4, 6, 3, 1, 1, 0, 0), (1, 5, 5, 9, 17, 3, 3, 0, 0)]


def sparse_conv_case(case, seed=0):
    """Spikes of per-channel amplitudes at 20% density, and float32 weights and bias."""
    n, h, w, c, o, kh, kw, _, _ = case
    rng = np.random.default_rng(seed)
    x = ((rng.random((n, h, w, c)) < 0.2) * rng.uniform(0.5, 2.0, c)).astype(np.float32)
    return (x, rng.standard_normal((o, c, kh, kw)).astype(np.float32),
            rng.standard_normal(o).astype(np.float32))


@pytest.mark.parametrize("case", SPARSE_CONV_CASES)
def test_event_driven_convolution_matches_naive_and_pytorch(case):
    """The CPU kernel against its NumPy twin (the same sum, bit for bit) and against PyTorch's
    dense convolution (the same currents up to the order of the sum)."""
    from neurosim.kernels import cpu

    x, weight, bias = sparse_conv_case(case)
    pad = case[7:]
    out = cpu.sparse_conv2d(x, weight, bias, *pad)
    np.testing.assert_array_equal(out, naive.sparse_conv2d(x, weight, bias, pad))
    dense = F.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(weight),
                     torch.from_numpy(bias), padding=pad).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(out, dense, rtol=1e-5, atol=1e-5)


def test_layers_reading_spikes_run_event_driven(monkeypatch):
    """Convolutions and fully connected layers that read spikes: both ways of simulating run
    them on the event-driven kernel (so both sum the same way), and the network's results
    match those of PyTorch's dense ops up to summation order."""
    from neurosim.convert.layers import KernelLayers, reads_spikes

    torch.manual_seed(1)
    build, shape = MODELS["conv_of_spikes"]
    model = build()
    x = _data(shape, n=9)
    snn = convert(model.eval(), x)
    convs = [n for n in snn.graph.nodes if reads_spikes(snn.graph, n)]
    # a conv reads pooled spikes, one a neuron layer's spikes; the linear reads them flattened
    assert [n.op for n in convs] == ["conv", "conv", "linear"]
    calls = []
    original = KernelLayers.event_driven

    def counting(self, node, spikes):
        calls.append(node.name)
        return original(self, node, spikes)

    monkeypatch.setattr(KernelLayers, "event_driven", counting)
    batched = snn.simulate(x, 16)
    assert set(calls) == {n.name for n in convs}
    calls.clear()
    stepped = snn.simulate_stepwise(x, 16)
    assert len(calls) == 16 * len(convs)
    np.testing.assert_allclose(stepped, batched["membrane"], rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(simulation, "reads_spikes", lambda graph, node: False)
    dense = snn.simulate(x, 16)
    np.testing.assert_allclose(dense["membrane"], batched["membrane"], rtol=1e-4, atol=1e-4)


def _fused_case(module, constant, kernel, seed=0):
    """Run the fused IF + max-pool kernel of ``module`` (channels-last) on random currents (B=2,
    C=3, 7x9 maps: ragged edges) in two calls that carry the state. Returns its pooled spikes,
    neuron counts and pooled counts (NCHW order) and the naive twin's spikes and counts."""
    rng = np.random.default_rng(seed)
    n_steps, b, c, h, w = 11, 2, 3, 7, 9
    scale = np.array([0.5, 1.0, 2.0], np.float32)
    currents = (rng.uniform(-0.4, 0.9, (1 if constant else n_steps, b, c, h, w))
                * scale.reshape(1, 1, c, 1, 1)).astype(np.float32)
    expected, neuron_counts = naive.spiking_maxpool(
        np.broadcast_to(currents, (n_steps, b, c, h, w)), scale, kernel)
    ho, wo = h // kernel[0], w // kernel[1]
    v = np.full((b, h, w, c), 0.5, np.float32)
    counts = np.zeros((b, h, w, c), np.int32)
    best, fired = np.zeros((b * ho, c), np.int32), np.zeros((b * ho, c), np.uint8)
    out = np.empty((n_steps, b, ho, wo, c), np.float32)
    out_counts = np.zeros((b, ho, wo, c), np.int32)
    nhwc = np.ascontiguousarray(currents.transpose(0, 1, 3, 4, 2))
    for lo, hi in ((0, 4), (4, n_steps)):
        part = np.empty((hi - lo, b, ho, wo, c), np.float32)
        rows = nhwc if constant else np.ascontiguousarray(nhwc[lo:hi])
        module.spiking_maxpool(rows, np.float32(1) / scale, scale, np.int64(kernel[0]),
                               np.int64(kernel[1]), v, np.float32(1), np.float32(1),
                               np.float32(1), False, True, counts, best, fired, part, out_counts)
        out[lo:hi] = part
    return (out.transpose(0, 1, 4, 2, 3), counts.transpose(0, 3, 1, 2),
            out_counts.transpose(0, 3, 1, 2), expected, neuron_counts)


@pytest.mark.parametrize("constant", [True, False])
@pytest.mark.parametrize("kernel", [(2, 2), (3, 2)])
def test_fused_spiking_maxpool_kernel_matches_naive(constant, kernel):
    from neurosim.kernels import cpu

    out, counts, out_counts, expected, neuron_counts = _fused_case(cpu, constant, kernel)
    assert 0 < (expected != 0).mean() < 0.9  # a real mix of spikes and silence
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(counts, neuron_counts)
    np.testing.assert_array_equal(out_counts, (expected != 0).sum(axis=0))


def test_fused_layer_and_pool_equal_the_separate_kernels(monkeypatch):
    """The fused path of the simulation (ReLU layer + tiled max-pool in one kernel) against the
    same network run through the separate kernels (fusion disabled)."""
    build, shape = MODELS["conv2d_batchnorm_maxpool"]
    x = _data(shape, n=9)
    snn = convert(build().eval(), x)
    assert any(fused_pool(snn.graph, n) is not None for n in snn.graph.nodes if n.op == "relu")
    fused = snn.simulate(x, 20)
    monkeypatch.setattr(simulation, "fused_pool", lambda graph, node: None)
    separate = snn.simulate(x, 20)
    np.testing.assert_array_equal(fused["membrane"], separate["membrane"])
    assert fused["spikes"] == separate["spikes"] and fused["synops"] == separate["synops"]


@pytest.mark.parametrize("options", [
    {"granularity": "channel"}, {"neuron": "lif", "lif_tau_steps": 500.0}, {"reset": "value"},
    {"decoding": "count"}, {"encoding": "poisson"}, {"normalization": 99.0},
])
def test_options_keep_predictions_close_to_the_ann(options):
    torch.manual_seed(0)  # the model's initial weights, whatever ran before
    model = MODELS["conv2d_batchnorm_maxpool"][0]().eval()
    x = _data((1, 8, 8), n=200)
    snn = convert(model, x, **options)
    ann = snn.ann_logits(x).argmax(1).numpy()
    result = snn.evaluate(x, ann, timesteps=[64, 256])
    assert result["snn_accuracy"][256] >= 0.8, (options, result["snn_accuracy"])


@pytest.mark.parametrize("options, err", [
    ({"normalization": 101}, ValueError), ({"normalization": "median"}, TypeError),
    ({"neuron": "izhikevich"}, ValueError), ({"encoding": "latency"}, ValueError),
    ({"decoding": "first"}, ValueError), ({"backend": "tpu"}, ValueError),
    ({"unknown_option": 1}, TypeError),
])
def test_bad_options(options, err):
    with pytest.raises(err):
        convert(nn.Sequential(nn.Linear(3, 2)), torch.rand(4, 3), **options)


def test_bad_inputs():
    snn = convert(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), torch.rand(8, 3))
    with pytest.raises(ValueError, match="shape"):
        snn.predict(torch.rand(5, 4), timesteps=8)
    with pytest.raises(ValueError, match="finite"):
        snn.predict(torch.full((2, 3), float("nan")), timesteps=8)
    with pytest.raises(ValueError, match="timesteps"):
        snn.evaluate(torch.rand(5, 3), [0] * 5, timesteps=[0])
    with pytest.raises(TypeError, match="Module"):
        convert(lambda x: x, torch.rand(2, 3))
    with pytest.raises(ValueError, match="empty"):
        convert(nn.Linear(3, 2), torch.zeros(0, 3))


@pytest.mark.parametrize("name", ["conv2d_batchnorm_maxpool", "residual_functional_relu",
                                  "avgpool_adaptive"])
def test_snntorch_export_gives_the_same_spike_counts(name):
    from neurosim.interop.snntorch import to_snntorch

    build, shape = MODELS[name]
    model = build().eval()
    x = _data(shape, n=10)
    snn = convert(model, x)
    steps = 24
    ours = snn.simulate(x, steps)
    exported = to_snntorch(snn)
    with torch.no_grad():
        membrane = exported(x, steps)
    for layer, counts in exported.spike_counts.items():
        assert float(counts.sum()) == ours["spikes"][layer], layer
    np.testing.assert_allclose(membrane.numpy(), ours["membrane"][-1], rtol=1e-4, atol=1e-4)
