"""The conversion benchmark's peers compute what they claim: the native snnTorch model gives
neurosim's spike counts where the arithmetic is the same, SpikingJelly's conversion runs, the
benchmark script renders its table, and the CLI names a missing peer in one line."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neurosim import zoo
from neurosim.convert import convert
from neurosim.datasets import load
from neurosim.studies import convert_benchmarks as cb
from tests.benchmark_scripts import load_script

pytest.importorskip("snntorch")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits():
    return load("digits", flat=False)


def _converted(name, data):
    model = zoo.load_pretrained(name)
    return model, convert(model, torch.from_numpy(data.x_train[:300]))


def test_native_snntorch_mlp_gives_neurosims_spike_counts(digits):
    """No max-pool: every layer is the same arithmetic, so every count and prediction is
    neurosim's."""
    _, snn = _converted("digits_mlp", digits)
    net = cb.snntorch_sequential(snn)
    x = torch.from_numpy(digits.x_test[:24])
    check = cb.check_snntorch(snn, net, x, digits.y_test[:24], 16)
    assert check["equal_where_same_arithmetic"]
    for layer in check["layers"].values():
        assert layer["same_arithmetic"] and layer["mismatching_neurons"] == 0
        assert layer["neurosim_spikes"] == layer["snntorch_spikes"] > 0
    assert check["prediction_agreement"] == 1.0
    assert check["max_abs_output_membrane_diff"] < 1e-3


def test_native_snntorch_cnn_equal_before_the_first_maxpool(digits):
    _, snn = _converted("digits_cnn", digits)
    net = cb.snntorch_sequential(snn)
    kinds = [type(m).__name__ for m in net]
    assert kinds[:3] == ["Conv2d", "Leaky", "MaxPool2d"] and kinds[-1] == "Linear"
    x = torch.from_numpy(digits.x_test[:16])
    check = cb.check_snntorch(snn, net, x, digits.y_test[:16], 16)
    first = check["layers"][snn.neuron_layers[0]]
    assert first["same_arithmetic"] and first["mismatching_neurons"] == 0
    assert not check["layers"][snn.neuron_layers[-1]]["same_arithmetic"]
    assert check["prediction_agreement"] >= 0.8


def test_snntorch_starts_at_v_init_and_resets_between_batches(digits):
    _, snn = _converted("digits_mlp", digits)
    net = cb.snntorch_sequential(snn)
    x = torch.from_numpy(digits.x_test[:8])
    first, _ = cb.run_snntorch(net, x, 4)
    cb.run_snntorch(net, torch.from_numpy(digits.x_test[8:13]), 3)  # other batch size
    again, _ = cb.run_snntorch(net, x, 4)
    assert torch.equal(first, again)
    ours = snn.simulate(x, 4)["membrane"][-1]
    np.testing.assert_allclose(first.double().numpy(), ours, rtol=1e-5, atol=1e-4)


def test_unsupported_graphs_are_refused(digits):
    model = zoo.load_pretrained("digits_mlp")
    snn = convert(model, torch.from_numpy(digits.x_train[:100]), reset="value")
    with pytest.raises(ValueError, match="reset by subtraction"):
        cb.snntorch_sequential(snn)


def _script():
    return load_script("bench_convert.py")


def test_bench_timings_checks_and_render(digits):
    peers = ("snntorch", "spikingjelly") if cb.peer_available("spikingjelly") else \
        ("snntorch",)
    model = zoo.load_pretrained("digits_cnn")
    bench = cb.ConvertBench(model, torch.from_numpy(digits.x_train[:200]), peers)
    x = torch.from_numpy(digits.x_test[:6])
    run = bench.time(x, 3, 1)
    assert set(run["times"]) == {"neurosim", "ann", *peers}
    assert all(m["median_s"] > 0 for m in run["times"].values())
    run["threads"] = 1
    checks = bench.check(x, digits.y_test[:6], 3)
    result = {"timesteps": 3, "batch": 6, "dtype": "float32", "repeats": 1, "runs": [run],
              "checks": json.loads(json.dumps(checks))}
    table = _script().render(result)
    assert "| threads | neurosim | snnTorch" in table and "Check, snnTorch" in table
    if "spikingjelly" in peers:
        assert "Check, SpikingJelly" in table
        for recipe in checks["spikingjelly"]["recipes"].values():
            assert 0 <= recipe["accuracy"] <= 1


def test_cli_names_a_missing_peer_in_one_line(capsys, monkeypatch):
    from neurosim.cli import main

    monkeypatch.setattr(cb, "peer_available", lambda name: False)
    code = main(["bench", "convert", "--model", "digits_mlp", "--compare", "spikingjelly"])
    err = capsys.readouterr().err
    assert code == 2 and "spikingjelly is not installed" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("subtract", [True, False])
@pytest.mark.parametrize("constant", [True, False])
def test_fused_if_maxpool_path_equals_the_shared_rule_bit_for_bit(subtract, constant):
    """The CPU kernel's IF path (vectorising loops) against the rule the CUDA kernel runs,
    on 32-channel maps with ragged edges, over two calls that carry the state."""
    from numba import njit

    from neurosim.kernels import cpu

    @njit
    def rule(currents, inv, scale, kh, kw, v, gain, subtract, counts, best, fired, out, oc):
        batch, height, width, n_channels = v.shape
        out_h, out_w = out.shape[2], out.shape[3]
        dims = (height, width, out_h, out_w, kh, kw)
        pixels = batch * height * width
        fc = currents.reshape(currents.shape[0], pixels, n_channels)
        fo = out.reshape(out.shape[0], batch * out_h * out_w, n_channels)
        for item in range(batch * out_h):
            cpu._spiking_maxpool_row(item, dims, fc, inv, scale, v.reshape(pixels, n_channels),
                                     gain, gain, gain, False, subtract,
                                     counts.reshape(pixels, n_channels), best, fired, fo,
                                     oc.reshape(batch * out_h * out_w, n_channels))

    rng = np.random.default_rng(3)
    steps, b, h, w, c = 9, 3, 11, 9, 32
    scale = rng.uniform(0.5, 2.0, c).astype(np.float32)
    currents = (rng.uniform(-0.3, 1.2, (1 if constant else steps, b, h, w, c))
                * scale).astype(np.float32)
    ho, wo = h // 2, w // 2
    results = []
    for fn in (cpu.spiking_maxpool, None):
        v = np.full((b, h, w, c), 0.5, np.float32)
        counts = np.zeros((b, h, w, c), np.int32)
        out_counts = np.zeros((b, ho, wo, c), np.int32)
        outs = []
        for lo, hi in ((0, 4), (4, steps)):
            out = np.empty((hi - lo, b, ho, wo, c), np.float32)
            rows = currents if constant else np.ascontiguousarray(currents[lo:hi])
            best, fired = np.zeros((b * ho, c), np.int32), np.zeros((b * ho, c), np.uint8)
            args = (rows, np.float32(1) / scale, scale, np.int64(2), np.int64(2), v)
            if fn is None:
                rule(*args, np.float32(1), subtract, counts, best, fired, out, out_counts)
            else:
                fn(*args, np.float32(1), np.float32(1), np.float32(1), False, subtract, counts,
                   best, fired, out, out_counts)
            outs.append(out)
        results.append((np.concatenate(outs), v, counts, out_counts))
    assert 0 < (results[0][0] != 0).mean() < 0.9
    for new, reference in zip(*results):
        np.testing.assert_array_equal(new, reference)
