"""The model gallery: each model builds, runs and reports its statistics; the CLI drives it."""

import json

import numpy as np
import pytest

from neurosim import gallery
from neurosim.cli import main
from neurosim.gallery import brunel


def test_every_model_runs_small_and_reports_statistics():
    for name, params in (("cuba", {"n": 400}), ("coba", {"n": 400}),
                         ("brunel2000", {"scale": 0.02, "g": 5, "nu_ratio": 2})):
        run = gallery.simulate(name, duration_s=0.1, transient_s=0.02, **params)
        assert run.n_steps == 1000 and run.n_neurons == run.model.network.n_neurons
        assert run.stats["rate_hz"] > 0, name
        assert set(run.stats) >= {"rate_hz", "synchrony", "cv_isi", "fraction_active"}
        assert np.all(np.diff(run.steps) >= 0)  # sorted by step


def test_brunel_sizes_follow_brian2s_example():
    size = brunel.sizes(1.0)
    assert size == {"n_exc": 10_000, "n_inh": 2_500, "c_e": 1000.0, "c_ext": 1000}
    model = gallery.build("brunel2000", scale=0.02, g=4.5, nu_ratio=0.9)
    exc, inh = model.populations
    assert (exc.n, inh.n) == (200, 50)
    drives = model.network.drives
    assert [d.n for d in drives] == [20, 20] and drives[0].weight == 0.1
    # nu_thr = theta / (J C_E tau) = 20 / (0.1 * 20 * 0.02) = 500 Hz; nu_ext = 0.9 nu_thr
    assert drives[0].rate_hz == pytest.approx(450.0)
    delays = {int(np.unique(p.delay_steps)[0]) for p in model.network.projections}
    assert delays == {15}


def test_more_inhibition_lowers_the_rate():
    rates = [gallery.run_model("brunel2000", {"scale": 0.05, "g": g, "nu_ratio": 2},
                               duration_s=0.2, transient_s=0.05)["rate_hz"] for g in (3, 6)]
    assert rates[0] > rates[1] > 0


def test_indegree_connectivity_gives_every_neuron_c_e_inputs():
    model = gallery.build("brunel2000", scale=0.02, connectivity="indegree")
    exc_to_exc = model.network.projections[0]
    assert np.all(np.bincount(exc_to_exc.post_idx, minlength=200) == 20)


def test_unknown_model_and_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="model"):
        gallery.build("hodgkin")
    with pytest.raises(ValueError, match="transient_s"):
        gallery.simulate("cuba", duration_s=0.1, transient_s=0.1, n=100)
    with pytest.raises(ValueError, match="scale"):
        gallery.build("brunel2000", scale=1e-5)
    with pytest.raises(ValueError, match="g"):
        gallery.build("brunel2000", g=-1)


def test_cli_simulates_a_brunel_regime(capsys, tmp_path):
    code = main(["simulate", "brunel2000", "--regime", "D", "--scale", "0.02", "--duration",
                 "0.1", "--transient", "0.02", "--json", "--out", str(tmp_path)])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["params"]["g"] == 4.5 and result["params"]["nu_ratio"] == 0.9
    assert (tmp_path / "brunel2000_raster.png").exists()
    assert json.loads((tmp_path / "simulate.json").read_text())["neurons"] == 250


@pytest.mark.parametrize("argv, needle", [
    (["simulate", "cuba", "--set", "g=3"], "no parameter g"),
    (["simulate", "cuba", "--regime", "A"], "--regime"),
    (["simulate", "coba", "--set", "n"], "name=value"),
    (["simulate", "cuba", "--duration", "0.1", "--transient", "0.2"], "--transient"),
])
def test_cli_simulate_mistakes_are_one_line(capsys, argv, needle):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
