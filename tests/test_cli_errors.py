"""The CLI speaks one line (issue 12): usage mistakes exit 2, failures exit 1, no traceback
unless ``--debug``; paths that do not exist are errors naming them."""

import subprocess
import sys

import pytest

import neurosim.cli as cli
from neurosim.cli import main


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv, needle", [
    (["convert", "--model", "/nonexistent/digits_mlp.pt"], "/nonexistent/digits_mlp.pt"),
    (["convert", "--model", "digits_mlp", "--weights", "w.pt"], "'w.pt'"),
    (["simulate", "cuba", "--neurons", "-5"], "--neurons"),
    (["simulate", "cuba", "--neurons", "10000000000000"], "GiB"),
    (["simulate", "cuba", "--duration", "nan"], "--duration"),
    (["convert", "--timesteps", "4"], "--model"),
    (["no-such-command"], "invalid choice"),
    (["convert", "--model", "digits_mlp", "--bogus"], "unrecognized arguments"),
])
def test_usage_mistakes_are_one_line_exit_2(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert needle in err and "Traceback" not in err and "usage:" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_a_corrupt_checkpoint_is_named(capsys, tmp_path):
    bad = tmp_path / "digits_mlp.pt"
    bad.write_bytes(b"not a checkpoint")
    code, _, err = run(capsys, "convert", "--model", str(bad))
    assert code == 2 and str(bad) in err and len(err.strip().splitlines()) == 1


def test_a_checkpoint_of_a_shipped_name_is_read_from_the_path_given(capsys, tmp_path):
    import torch

    from neurosim import zoo

    model = zoo.build("digits_mlp")
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    path = tmp_path / "digits_mlp.pt"
    torch.save(model.state_dict(), path)
    loaded = zoo.load_model(str(path))
    assert all(float(p.abs().sum()) == 0 for p in loaded.parameters())  # not the shipped one
    wrong = tmp_path / "mnist_cnn.pt"
    torch.save(model.state_dict(), wrong)
    with pytest.raises(ValueError, match="does not hold the weights of mnist_cnn"):
        zoo.load_model(str(wrong))


def test_failures_exit_1_in_one_line_and_debug_shows_the_traceback(capsys, monkeypatch):
    def broken(args):
        raise RuntimeError("kernel exploded\nsecond line")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["info"].set_defaults(func=broken)
    code, _, err = run(capsys, "info")
    assert code == 1
    assert err.strip() == ("neurosim info: failed: RuntimeError: kernel exploded second line "
                           "(--debug shows the traceback)")
    with pytest.raises(RuntimeError):
        main(["--debug", "info"])


def test_the_installed_command_prints_no_traceback():
    out = subprocess.run([sys.executable, "-m", "neurosim", "convert", "--model",
                          "/nonexistent/x.pt"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
