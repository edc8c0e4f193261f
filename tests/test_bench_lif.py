"""benchmarks/bench_lif.py in a tiny quick mode: the three sides compute the same spikes
(neuron by neuron, float32 and float64), chunking the input does not change neurosim's
spikes, and render() turns the results file into the README table."""

import json

import numpy as np
import pytest

import neurosim as ns
from tests.benchmark_scripts import load_script

pytest.importorskip("snntorch")


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_lif.py")


@pytest.mark.parametrize("model", ["if", "lif", "lif_ref"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sides_agree_neuron_by_neuron(bench, model, dtype):
    n, steps, k = 500, 200, 20
    block = bench.make_block(model, n, k, np.dtype(dtype))
    counts = {}
    totals = {}
    sides = {"neurosim": bench.neurosim_side(model, block, steps),
             "numpy": bench.numpy_side(model, block, steps)}
    if model != "lif_ref":
        sides["snntorch"], leaky = bench.snntorch_side(model, block, steps)
    for name, run in sides.items():
        counts[name] = np.zeros(n, np.int64)
        totals[name] = run(counts[name])
        assert run() == totals[name]  # repeat calls start from the initial state
    if model != "lif_ref":
        bench.release_snntorch(leaky)
    assert totals["neurosim"] > 0 and (counts["neurosim"] > 1).any()  # resets exercised
    assert (counts["neurosim"] == 0).any()  # not every neuron fires
    assert counts["neurosim"].sum() == totals["neurosim"]
    np.testing.assert_array_equal(counts["numpy"], counts["neurosim"])
    if model == "if":  # identical arithmetic: identical spikes
        np.testing.assert_array_equal(counts["snntorch"], counts["neurosim"])
    elif model == "lif":  # same equation, different rounding
        assert abs(totals["snntorch"] - totals["neurosim"]) <= bench.LIF_TOLERANCE * totals[
            "neurosim"] + 1


def test_blocks_cycled_chunk_by_chunk_equal_one_call(bench):
    """neurosim called once per block, continuing its state, gives the spikes of one call on
    the whole (T, N) input of the cycled block."""
    n, steps, k = 300, 40, 8
    for model in ("if", "lif_ref"):
        params = bench.model_params(model)
        block = bench.make_block(model, n, k, np.dtype(np.float32))
        whole = ns.lif_run(np.tile(block, (steps // k, 1)), params, bench.DT_S).spikes
        state, chunks = None, []
        for _ in range(steps // k):
            out = ns.lif_run(block, params, bench.DT_S, state, dtype=np.float32)
            state = out.state
            chunks.append(out.spikes)
        # whole ran in float64 (the default): compare against a float32 whole run too
        whole32 = ns.lif_run(np.tile(block, (steps // k, 1)), params, bench.DT_S,
                             dtype=np.float32).spikes
        np.testing.assert_array_equal(np.concatenate(chunks), whole32)
        assert whole.shape == whole32.shape


def test_snntorch_leaky_arithmetic_is_the_if_step(bench):
    """One snn.Leaky(beta=1, reset 'zero') step by hand: mem = (1 - reset) * mem + I."""
    import torch

    block = np.array([[0.6, 0.3], [0.6, 0.3], [0.2, 0.3]], np.float64)
    run, leaky = bench.snntorch_side("if", block, 3)
    counts = np.zeros(2, np.int64)
    assert run(counts) == 1  # neuron 0: 0.6, 1.2 (spike), then 0 + 0.2; neuron 1: 0.9 max
    assert counts.tolist() == [1, 0]
    assert leaky.mem.dtype == torch.float64
    np.testing.assert_allclose(leaky.mem.numpy(), [0.2, 0.9])
    bench.release_snntorch(leaky)


def test_block_steps_divides_and_bounds(bench):
    assert bench.block_steps(10_000, 1000, 2.5e7) == 1000
    assert bench.block_steps(1_000_000, 1000, 2.5e7) == 25
    assert bench.block_steps(10_000_000, 1000, 2.5e7) == 10  # at least 10 steps
    assert bench.block_steps(10_000_000, 1000, 2.5e7, min_steps=1) == 2
    assert bench.block_steps(30_000, 999, 1e5) == 27  # the smallest divisor >= 10
    assert bench.block_steps(30_000, 999, 1e5, min_steps=1) == 3
    assert bench.block_steps(30, 7, 1e5) == 7


def test_quick_run_and_render(bench, tmp_path):
    out = tmp_path / "lif.json"
    bench.main(["--quick", "--sizes", "300,3000", "--steps", "40", "--extra-size", "500",
                "--threads", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["checks_passed"]
    models = {(r["model"], r["dtype"]) for r in result["rows"]}
    assert models == {(m, d) for m in ("if", "lif", "lif_ref") for d in ("float32", "float64")}
    for row in result["rows"]:
        assert set(row["sides"]) >= {"neurosim", "numpy"}
        assert len(row["sides"]["neurosim"]["times_s"]) == 5
        assert row["firing"]["spike_fraction"] > 0
        assert row["spikes"]["neurosim"] == row["spikes"]["numpy"]
    table = bench.render(result)
    assert table.count("\n| if |") == 4 and "equal per neuron" in table
    assert "FAILED" not in table
