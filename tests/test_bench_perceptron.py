"""benchmarks/bench_perceptron.py in a tiny run: both sides, both algorithms, the checks and the
README table (render)."""

import json

from tests.benchmark_scripts import load_script


def _module():
    return load_script("bench_perceptron.py")


def test_quick_run_writes_checks_and_renders(tmp_path, monkeypatch):
    bench = _module()
    monkeypatch.setitem(bench.EPOCHS, "digits", 2)
    monkeypatch.setitem(bench.ACCURACY_SEEDS, "digits", 3)
    out = tmp_path / "perceptron.json"
    bench.main(["--quick", "--problems", "digits", "--repeats", "1", "--threads", "1",
                "--dtype", "float32", "--out", str(out)])
    result = json.loads(out.read_text())
    assert [r["algorithm"] for r in result["rows"]] == ["plain", "averaged"]
    for row in result["rows"]:
        assert row["check"]["same_dtype"] and row["check"]["weights_dtype"]["sklearn"] == "float32"
        assert row["neurosim"]["repeats"] == 1 and row["ratio"] > 0
        assert 0.8 < row["accuracy"]["neurosim_mean"] <= 1
        assert len(row["accuracy"]["sklearn"]) == 1 + 3  # the timed fit and 3 more
    table = bench.render(result)
    assert table.count("\n| digits") == 2 and "scikit-learn" in table


def test_settings_are_the_same_algorithm():
    bench = _module()
    sk = bench.sklearn_model("averaged", 7, 2, 3)
    assert (sk.loss, sk.learning_rate, sk.eta0, sk.alpha, sk.penalty, sk.average, sk.max_iter,
            sk.tol, sk.shuffle, sk.early_stopping, sk.n_jobs) == (
        "perceptron", "constant", 1.0, 0.0, None, True, 7, None, True, False, 2)
    plain = bench.sklearn_model("plain", 7, 1, 3)
    assert plain.max_iter == 7 and plain.tol is None and plain.penalty is None
    ours = bench.neurosim_model("averaged", 7, "float32", 3)
    assert (ours.max_epochs, ours.average, ours.rule, ours.lr, ours.stop_on_convergence) == (
        7, True, "ovr", 1.0, False)
