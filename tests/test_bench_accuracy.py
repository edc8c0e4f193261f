"""benchmarks/bench_accuracy.py: the Wilson interval, the selection rule (ties, and that it
never reads test data) and a quick run on the digits whose JSON renders."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.benchmark_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    return load_script("bench_accuracy.py")


bench = _bench()


def test_wilson_interval_known_values():
    # 81 of 263 (scipy.stats.binomtest(81, 263).proportion_ci(method="wilson"))
    low, high = bench.wilson(81, 263)
    assert low == pytest.approx(0.2552885198782742, rel=1e-12)
    assert high == pytest.approx(0.36620957698280004, rel=1e-12)
    # no successes: the lower end is 0 and the upper end is z^2 / (n + z^2)
    z2 = bench.Z95 ** 2
    assert bench.wilson(0, 10) == pytest.approx((0.0, z2 / (10 + z2)), abs=1e-15)
    assert bench.wilson(10, 10) == pytest.approx((10 / (10 + z2), 1.0), abs=1e-15)
    low, high = bench.wilson(9950, 10000)
    assert low < 0.995 < high and (low, high) == pytest.approx((0.99341474, 0.99620510),
                                                                abs=1e-8)
    with pytest.raises(ValueError):
        bench.wilson(11, 10)


def test_choice_rule_prefers_the_simpler_option_on_ties():
    rows = [{"options": o, "correct": c} for o, c in zip(bench.grid(), [5, 7, 7, 3] + [7] * 6)]
    assert bench.choose(rows)["options"] == bench.grid()[1]
    assert bench.grid()[0] == {"normalization": "max", "granularity": "layer"}
    rows[4]["correct"] = 8
    assert bench.choose(rows)["options"] == bench.grid()[4]


class _Poison:
    """Stands for the test arrays: any use fails the test."""

    def _fail(self, *args, **kwargs):
        raise AssertionError("the selection read test data")

    __getitem__ = __len__ = __iter__ = __array__ = _fail

    def __getattr__(self, name):
        self._fail()


def test_selection_never_reads_the_test_set():
    from neurosim import datasets

    def load(dataset, model_name):
        split = datasets.load(dataset, flat=model_name.endswith("mlp"))
        return datasets.Split(split.x_train, split.y_train, _Poison(), _Poison())

    candidates = bench.grid(("max", 99.9), ("layer",))
    sel = bench.select_defaults(["digits_mlp"], val_images=80, seed=1, candidates=candidates,
                                steps=(4,), load=load)
    model = sel["models"]["digits_mlp"]
    assert model["validation_samples"] == 80
    first, last = model["validation_indices_from"]
    assert model["calibration_indices"][1] < first  # held out from calibration
    assert sel["chosen"] in candidates
    assert [row["key"] for row in sel["table"]] == ["max/layer", "99.9/layer"]
    for row in sel["table"]:
        assert row["total"] == 80 and 0 <= row["correct"] <= 80


def test_quick_run_writes_json_that_renders(tmp_path):
    out = tmp_path / "accuracy.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["checks"]["graph_equals_torch"]
    assert result["checks"]["test_set_used_in_selection"] is False
    for name in ("digits_mlp", "digits_cnn"):
        r = result["test"][name]
        assert r["samples"] == 360
        assert r["ann"]["value"] == pytest.approx(r["ann_torch_accuracy"])
        for key in ("snn", "agreement"):
            for p in r[key].values():
                low, high = p["ci95"]
                assert low <= p["value"] <= high
                assert p["value"] == pytest.approx(p["successes"] / p["n"])
        assert math.isfinite(r["synops_per_image"]) and r["ann_macs"] > 0
    text = bench.render(result)
    assert "`digits_cnn`" in text and "**chosen**" in text and "quick run" in text
    assert np.isclose(result["test"]["digits_cnn"]["ann"]["value"], 0.99444, atol=1e-4)
