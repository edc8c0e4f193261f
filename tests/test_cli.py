import json

import pytest

from neurosim.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "info", "simulate", "convert", "bench", "validate"):
        assert command in text


@pytest.mark.parametrize("command", ["info", "demo", "simulate", "convert", "bench",
                                     "transfer", "validate"])
def test_every_command_has_examples_json_and_quiet(capsys, command):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    text = capsys.readouterr().out
    assert info.value.code == 0
    assert "example" in text and f"neurosim {command}" in text
    assert "--json" in text and "--quiet" in text


def test_info_json(capsys):
    code, out, _ = run(capsys, "info", "--json")
    report = json.loads(out)
    assert code == 0 and report["backends"]["cpu"] is True and report["threads"] >= 1


def test_convert_digits_json(capsys, tmp_path):
    code, out, _ = run(capsys, "convert", "--model", "digits_mlp", "--timesteps", "16,32",
                       "--samples", "120", "--json", "--out", str(tmp_path))
    report = json.loads(out)
    assert code == 0
    assert set(report["snn_accuracy"]) == {"16", "32"}
    assert abs(report["snn_accuracy"]["32"] - report["ann_accuracy"]) <= 0.05
    assert report["synops"] > 0 and report["ann_macs"] > 0
    assert (tmp_path / "accuracy_vs_timesteps.png").stat().st_size > 1000
    assert (tmp_path / "layer_rates.png").exists()


def test_convert_with_hybrid_finetuning(capsys):
    code, out, _ = run(capsys, "convert", "--model", "digits_mlp", "--timesteps", "1,4",
                       "--granularity", "layer", "--normalization", "99.99",  # lossy at T=1
                       "--samples", "200", "--hybrid-steps", "1",
                       "--hybrid-epochs", "2", "--hybrid-lr", "3e-4", "--json")
    report = json.loads(out)
    hybrid = report["hybrid"]
    assert code == 0 and hybrid["timesteps"] == 1 and len(hybrid["losses"]) == 2
    assert hybrid["train_images"] == 1437 and set(hybrid["snn_accuracy"]) == {"1", "4"}
    # one step after conversion is poor; fine-tuned at one step it comes back
    assert hybrid["snn_accuracy"]["1"] > report["snn_accuracy"]["1"] + 0.2
    code, out, _ = run(capsys, "convert", "--model", "digits_mlp", "--timesteps", "4",
                       "--samples", "50", "--hybrid-steps", "2")
    assert code == 0 and "Hybrid fine-tuning at T = 2" in out


def test_simulate_cuba_small(capsys, tmp_path):
    code, out, _ = run(capsys, "simulate", "cuba", "--neurons", "500", "--duration", "0.1",
                       "--json", "--out", str(tmp_path))
    assert code == 0 and json.loads(out)["rate_hz"] > 0
    assert (tmp_path / "cuba_raster.png").exists()


def test_bench_cuba_without_peer(capsys, tmp_path):
    code, out, _ = run(capsys, "bench", "cuba", "--neurons", "400", "--duration", "0.05",
                       "--compare", "none", "--json", "--out", str(tmp_path))
    result = json.loads(out)
    assert code == 0 and result["neurons"] == 400 and result["neurosim_s"] > 0
    assert json.loads((tmp_path / "bench_cuba.json").read_text()) == result


@pytest.mark.parametrize("argv, needle", [
    (["convert", "--model", "missing.pt"], "no model"),
    (["convert", "--model", "digits_mlp", "--timesteps", "x"], "--timesteps"),
    (["convert", "--model", "digits_mlp", "--normalization", "high"], "--normalization"),
    (["simulate", "hodgkin"], "unknown model"),
    (["bench", "mystery"], "unknown benchmark"),
    (["bench", "convert"], "needs --model"),
    (["validate", "nest"], "unknown reference"),
    (["convert", "--model", "os:path", "--dataset", "digits"], "needs --weights"),
])
def test_user_mistakes_print_one_line_and_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_option_values_are_argparse_errors(capsys):
    with pytest.raises(SystemExit) as info:
        main(["simulate", "cuba", "--neurons", "-5"])
    assert info.value.code == 2


def test_transfer_tasks_reach_their_studies(capsys, tmp_path, monkeypatch):
    """`neurosim transfer --task`: each task's study gets the mode, seeds and data folder, and
    the command that makes the results again is recorded (the studies themselves are tested in
    tests/test_transfer.py and tests/test_transfer_text.py)."""
    from neurosim.studies import transfer, transfer_text

    calls = {}

    def fake(name):
        def run(**kwargs):
            calls[name] = kwargs
            return {"config": {}, "rows": [], "table": [{"fake": name}], "seconds": 0.0}
        return run

    monkeypatch.setattr(transfer_text, "run_text_transfer", fake("text"))
    monkeypatch.setattr(transfer_text, "write_text_report",
                        lambda study, out: calls.setdefault("text_out", (study, out)))
    monkeypatch.setattr(transfer, "run_transfer", fake("image"))
    assert main(["transfer", "--task", "text", "--full", "--seeds", "2", "--seed", "5",
                 "--data", str(tmp_path), "--out", str(tmp_path / "t"), "--json"]) == 0
    assert calls["text"]["quick"] is False and calls["text"]["seeds"] == (5, 6)
    assert calls["text"]["data_dir"] == str(tmp_path)
    study, out = calls["text_out"]
    assert out == str(tmp_path / "t")
    assert study["config"]["command"].startswith("neurosim transfer --task text --full")
    assert json.loads(capsys.readouterr().out) == [{"fake": "text"}]
    assert main(["transfer", "--task", "mnist-fashion", "--json"]) == 0
    assert calls["image"]["task"] == "mnist-fashion" and calls["image"]["quick"] is True
    assert calls["image"]["seeds"] is None  # the mode's own seeds
    with pytest.raises(SystemExit) as exc:
        main(["transfer", "--task", "cifar"])
    assert exc.value.code == 2
