"""Song, Miller & Abbott (2000): the gallery's ``song_abbott`` and Brian2's STDP example
(``examples/synapses/STDP.py``, numpy target, a few simulated seconds) compared as
distributions, and the array functions of :mod:`neurosim.studies.stdp_validation` against
hand-computed values."""

import numpy as np
import pytest

from neurosim.studies import stdp_validation as sv

GMAX = 0.01
# a short run: the example's learning rate x 5 moves the weights far enough in 4 s for their
# distribution to differ from the initial uniform one and from a wrong rule's
SHORT = {"n_inputs": 1000, "rate_hz": 15.0, "gmax": GMAX, "a_pre": 0.05, "duration_s": 4.0}


def test_weight_summary_counts_the_bounds_and_the_bins():
    w = np.array([0.0, 0.05, 0.099, 0.12, 0.3, 0.5, 0.88, 0.95, 1.0]) * GMAX
    s = sv.weight_summary(w, GMAX, bins=4)
    assert s["n"] == 9 and s["histogram"] == [4, 1, 1, 3] and len(s["edges"]) == 5
    assert s["fraction_low"] == pytest.approx(3 / 9)
    assert s["fraction_high"] == pytest.approx(2 / 9)
    assert s["mean_over_w_max"] == pytest.approx(w.mean() / GMAX)
    with pytest.raises(ValueError, match="w_max"):
        sv.weight_summary(w, 0.0)
    with pytest.raises(ValueError, match="empty"):
        sv.weight_summary([], GMAX)


def test_rate_over_time_divides_by_each_bins_width():
    r = sv.rate_over_time([0, 5, 15, 25], n_steps=26, dt_s=0.1, bin_s=1.0)
    assert r["bin_s"] == pytest.approx(1.0) and r["t_s"] == pytest.approx([0, 1, 2])
    assert r["rate_hz"] == pytest.approx([2.0, 1.0, 1 / 0.6])  # the last bin is 0.6 s
    assert sv.rate_over_time([], 10, 0.1, 0.5)["rate_hz"] == [0.0, 0.0]
    with pytest.raises(ValueError, match="spike_steps"):
        sv.rate_over_time([10], n_steps=10, dt_s=0.1, bin_s=1.0)


def _side(low, high, rate):
    return {"weights": {"fraction_low": low, "fraction_high": high},
            "rate_second_half_hz": rate}


def test_compare_sides_judges_both_fractions_in_points():
    ok = sv.compare_sides(_side(0.30, 0.20, 11.0), _side(0.26, 0.22, 10.0))
    assert ok["passed"] and ok["points_low"] == pytest.approx(4.0)
    assert ok["points_high"] == pytest.approx(2.0)
    assert ok["rate_second_half_rel_diff"] == pytest.approx(0.1)
    bad = sv.compare_sides(_side(0.30, 0.20, 10.0), _side(0.30, 0.26, 10.0))
    assert not bad["passed"] and bad["points_high"] == pytest.approx(6.0)
    assert sv.compare_sides(_side(0.3, 0.2, 1.0), _side(0.3, 0.2, 0.0))[
        "rate_second_half_rel_diff"] is None


@pytest.mark.brian2
def test_brian2_example_weights_stay_in_bounds_and_runs_repeat():
    pytest.importorskip("brian2")
    from neurosim.studies.brian2_stdp import brian2_song_abbott

    frozen = brian2_song_abbott(200, a_pre=0.0, duration_s=0.2, seed=4)
    # no learning: the weights are the example's rand() * gmax draw
    assert frozen.weights.shape == (200,) and frozen.weights.dtype == np.float64
    assert 0 <= frozen.weights.min() and frozen.weights.max() <= GMAX
    assert 0.4 < frozen.weights.mean() / GMAX < 0.6
    assert frozen.n_steps == 2000 and frozen.output_steps.dtype == np.int64
    assert frozen.output_steps[0] == 0  # v starts at 0 V, above threshold
    learning = brian2_song_abbott(200, a_pre=0.05, duration_s=0.2, seed=4)
    again = brian2_song_abbott(200, a_pre=0.05, duration_s=0.2, seed=4)
    assert np.array_equal(learning.weights, again.weights)
    assert np.array_equal(learning.output_steps, again.output_steps)
    assert not np.array_equal(learning.weights, frozen.weights)
    assert 0 <= learning.weights.min() and learning.weights.max() <= GMAX
    given = np.linspace(0.0, GMAX, 200)  # instead of the example's draw: kept without learning
    kept = brian2_song_abbott(200, a_pre=0.0, duration_s=0.05, initial_weights=given)
    assert np.array_equal(kept.weights, given)
    with pytest.raises(ValueError, match="rate_hz"):
        brian2_song_abbott(10, rate_hz=2e4, duration_s=0.01)
    with pytest.raises(ValueError, match="gmax"):
        brian2_song_abbott(2, duration_s=0.01, initial_weights=[0.0, 2 * GMAX])


@pytest.fixture(scope="module")
def short_runs():
    pytest.importorskip("brian2")
    ours = sv.side_summary(sv.neurosim_song_abbott(**SHORT, seed=1), GMAX, bin_s=1.0)
    theirs = sv.side_summary(sv.brian2_side(**SHORT, seed=1), GMAX, bin_s=1.0)
    return ours, theirs


@pytest.mark.brian2
def test_song_abbott_matches_brian2_in_distribution(short_runs):
    ours, theirs = short_runs
    check = sv.compare_sides(ours, theirs)
    assert check["passed"], check
    # the weights have left the uniform start towards both bounds on both sides
    for side in (ours, theirs):
        w = side["weights"]
        assert w["fraction_low"] > 0.1 and w["fraction_high"] > 0.1
    mean_diff = abs(ours["weights"]["mean_over_w_max"] - theirs["weights"]["mean_over_w_max"])
    assert mean_diff < 0.05
    # output rates, 4 s of ~35 Hz: ~140 spikes a side, Poisson sd ~8.5 %
    assert ours["rate_hz"] == pytest.approx(theirs["rate_hz"], rel=0.25)


def test_gallery_builds_song_abbott():
    from neurosim import gallery

    assert "song_abbott" in gallery.MODELS
    model = gallery.build("song_abbott", n_inputs=50, seed=3)
    net = model.network
    assert model.name == "song_abbott" and len(model.populations) == 1
    assert model.populations[0].n == 1 and model.params["n_inputs"] == 50
    proj = net.projections[0]
    assert proj.plasticity.w_max == GMAX
    assert proj.plasticity.a_plus == pytest.approx(0.01 * GMAX)
    assert proj.plasticity.a_minus == pytest.approx(0.0105 * GMAX)
    w0 = net.weights_of(proj)
    assert w0.shape == (50,) and 0 <= w0.min() and w0.max() <= GMAX
    again = gallery.build("song_abbott", n_inputs=50, seed=3)
    assert np.array_equal(w0, again.network.weights_of(again.network.projections[0]))
    with pytest.raises(ValueError, match="gmax"):
        gallery.build("song_abbott", gmax=-1.0)


def test_pooled_summary_markdown_and_figure_from_synthetic_runs():
    rng = np.random.default_rng(0)

    def run(low_share):
        # bimodal weights: low_share of them at 0, the rest at gmax; 10 Hz for 4 s
        w = np.where(rng.random(500) < low_share, 0.0, GMAX)
        steps = np.sort(rng.choice(40_000, 40, replace=False))
        return sv.SongAbbottRun(w, steps, 40_000, 1e-4, 1.0, 0.5, {}, w)

    ours = sv.side_summary([run(0.6), run(0.6)], GMAX, bin_s=1.0)
    assert ours["runs"] == 2 and ours["weights"]["n"] == 1000
    assert ours["rate_hz"] == pytest.approx(10.0) and len(ours["per_run"]) == 2
    assert ours["weights"]["fraction_low"] == pytest.approx(
        np.mean([r["fraction_low"] for r in ours["per_run"]]))
    theirs = sv.side_summary(run(0.6), GMAX, bin_s=1.0)
    result = {"settings": {"n_inputs": 500, "rate_hz": 15.0, "duration_s": 4.0,
                           "dtype": "float64", "target": "numpy", "seeds": [0, 1]},
              "neurosim": ours, "brian2": theirs, "check": sv.compare_sides(ours, theirs)}
    result["passed"] = result["check"]["passed"]
    result["shared_start"] = {"seed": 0, "neurosim": theirs, "brian2": theirs,
                              "check": sv.compare_sides(theirs, theirs)}
    text = sv.to_markdown(result)
    assert "weights < 0.1 gmax" in text and "same initial weights" in text
    fig = sv.figure(result)
    assert len(fig.axes) == 4
    with pytest.raises(ValueError, match="same length"):
        sv.side_summary([run(0.5), run(0.5)._replace(n_steps=10)], GMAX)


def test_bench_stdp_times_fresh_models_and_renders_its_table():
    from tests.benchmark_scripts import load_script

    bench = load_script("bench_stdp.py")
    assert bench.brian2_openmp_threads(1) == 0 and bench.brian2_openmp_threads(2) == 2
    ours = bench.neurosim_speed("float64", 1, 0.05, 0)
    run = ours["run"]
    assert ours["timing"]["repeats"] == 1 and len(ours["timing"]["times_s"]) == 1
    assert run.weights.shape == (1000,) and run.n_steps == 500  # one run, not warm-up + run
    summary = sv.side_summary(run, GMAX, bin_s=0.01)
    row = {"dtype": "float64", "threads": 1, "sides": {"neurosim": ours["timing"],
                                                       "brian2": ours["timing"]},
           "outputs": {"neurosim": summary, "brian2": summary},
           "check": sv.compare_sides(summary, summary), "ratio_brian2_over_neurosim": 1.0}
    text = bench.render({"duration_s": 0.05, "repeats": 1, "rows": [row],
                         "checks_passed": True})
    assert "| float64 | 1 |" in text and "1.00x" in text and "ok (0.0 <= 5 points)" in text
