"""The gallery against Brian2 at reduced size (issue 13, item 5): each model run in neurosim
and in Brian2's own formulation, statistics over two seeds per side judged within the issue's
tolerances (the full-size check is ``benchmarks/validate_gallery.py``), and the pieces of the
comparison (tolerances, verdicts, reports, argument checks) on hand-made numbers."""

import json
import math

import numpy as np
import pytest

from neurosim.studies import gallery_report
from neurosim.studies import gallery_validation as gv
from tests.benchmark_scripts import load_script

brian2 = pytest.mark.brian2
#: Brunel's network at a tenth of its size (N = 1,250, 100 excitatory inputs per neuron).
SCALE = 0.1


def summary(rates, synchrony=(0.2, 0.2), cv_isi=(0.5, 0.5)):
    rows = [{"seed": k, "rate_hz": r, "synchrony": s, "cv_isi": c}
            for k, (r, s, c) in enumerate(zip(rates, synchrony, cv_isi))]
    return gv._summary(rows)


# -- the comparison on hand-made numbers ---------------------------------------------------------

def test_tolerance_limits_and_descriptions():
    assert gv.Tolerance(relative=0.1).limit(-50.0) == pytest.approx(5.0)
    both = gv.Tolerance(0.1, 0.15)
    assert both.limit(0.4) == 0.1 and both.limit(2.0) == pytest.approx(0.3)
    assert both.describe() == "max(0.1, 15% of Brian2's)"
    assert gv.Tolerance(absolute=0.1).describe() == "0.1"
    assert gv.TOLERANCES["brunel2000_D"]["rate_hz"].relative == 0.15
    assert gv.TOLERANCES["brunel2000"]["rate_hz"].relative == 0.10
    assert set(gv.TOLERANCES["coba"]) == {"rate_hz"}


def test_summary_means_and_spread_over_seeds():
    s = summary([10.0, 14.0])
    assert s["mean"]["rate_hz"] == 12.0 and s["std"]["rate_hz"] == 2.0
    assert (s["min"]["rate_hz"], s["max"]["rate_hz"]) == (10.0, 14.0)
    assert len(s["per_seed"]) == 2


def test_compare_judges_seed_means():
    tol = gv.TOLERANCES["brunel2000"]
    ref = summary([100.0, 100.0], synchrony=(0.5, 0.5), cv_isi=(0.3, 0.3))
    # one seed of each pair is outside the tolerance, the means are inside
    inside = gv.compare(summary([107.0, 112.0], synchrony=(0.57, 0.61), cv_isi=(0.35, 0.43)),
                        ref, tol)
    assert all(c["passed"] for c in inside.values())
    assert inside["rate_hz"]["difference"] == pytest.approx(9.5)
    assert inside["rate_hz"]["relative_difference"] == pytest.approx(0.095)
    assert inside["rate_hz"]["limit"] == pytest.approx(10.0)
    assert inside["synchrony"]["limit"] == pytest.approx(0.1)  # max(0.1, 0.075)
    outside = gv.compare(summary([111.0, 111.0], synchrony=(0.7, 0.7), cv_isi=(0.45, 0.45)),
                         ref, tol)
    assert [c["passed"] for c in outside.values()] == [False, False, False]


def test_compare_nan_fails_and_unjudged_statistics_are_none():
    ref = summary([5.0], cv_isi=(0.4,))
    silent = gv.compare(summary([5.0], cv_isi=(math.nan,)), ref, gv.TOLERANCES["brunel2000"])
    assert silent["rate_hz"]["passed"] and silent["cv_isi"]["passed"] is False
    coba = gv.compare(summary([5.1]), summary([5.0]), gv.TOLERANCES["coba"])
    assert coba["rate_hz"]["passed"] and coba["synchrony"]["passed"] is None
    assert coba["synchrony"]["tolerance"] is None


@pytest.mark.parametrize("kwargs, error", [
    ({"regimes": "AE"}, ValueError), ({"regimes": "AA"}, ValueError),
    ({"regimes": ""}, ValueError), ({"seeds": (1, 1)}, ValueError), ({"seeds": ()}, ValueError),
    ({"seeds": (-1,)}, ValueError), ({"duration_s": 0.1, "transient_s": 0.1}, ValueError),
    ({"target": "cython"}, ValueError), ({"target": {"A": "numpy"}}, ValueError),
    ({"dtype": np.int32}, TypeError),
    ({"scale": 0.0}, ValueError),
])
def test_validate_brunel_checks_its_arguments_before_running(kwargs, error):
    with pytest.raises(error):
        gv.validate_brunel(**{"regimes": "C", "scale": SCALE, "duration_s": 0.2, **kwargs})


def test_validate_gallery_and_coba_check_their_choices():
    with pytest.raises(ValueError, match="model"):
        gv.validate_gallery(["nest"])
    with pytest.raises(ValueError, match="at least one"):
        gv.validate_gallery([])
    with pytest.raises(ValueError, match="network"):
        gv.validate_coba(100, network="mine")


# -- reduced-size validations against Brian2 -----------------------------------------------------

@pytest.fixture(scope="module")
def regime_d():
    """Regime D (slow synchronous irregular) at scale 0.1, 1 s with a 0.2 s transient, spikes
    kept for the reports."""
    pytest.importorskip("brian2")
    return gv.validate_brunel("D", scale=SCALE, duration_s=1.0, transient_s=0.2, seeds=(0, 1),
                              keep_spikes=True)


def check_entry(entry, n_neurons, seeds=(0, 1)):
    assert entry["n_neurons"] == n_neurons and entry["seeds"] == list(seeds)
    for side in ("neurosim", "brian2"):
        assert [row["seed"] for row in entry[side]["per_seed"]] == list(seeds)
        for stat in gv.STATS:
            low, mean, high = (entry[side][k][stat] for k in ("min", "mean", "max"))
            assert low <= mean <= high
    failed = {k: c for k, c in entry["criteria"].items() if c["passed"] is False}
    assert entry["passed"], f"{entry['label']}: {failed}"


@brian2
@pytest.mark.parametrize("regime", ["A", "B", "C"])
def test_brunel_regimes_match_brian2_at_reduced_scale(regime):
    """Regimes A-C at scale 0.1 (N = 1,250), 0.5 s, statistics after 0.1 s, 2 seeds a side:
    rate within 10 %, synchrony within max(0.1, 15 %), CV ISI within 0.1 of Brian2's."""
    pytest.importorskip("brian2")
    result = gv.validate_brunel(regime, scale=SCALE, duration_s=0.5, transient_s=0.1,
                                seeds=(0, 1))
    entry = result["regimes"][regime]
    check_entry(entry, 1250)
    assert result["passed"] and result["settings"]["dtype"] == "float64"
    assert result["settings"]["target"] == {regime: "numpy"} and entry["target"] == "numpy"
    assert (entry["g"], entry["nu_ratio"]) == gv_regimes()[regime]
    # the regime is what the paper says: A regular (CV ISI well below 1), all fast
    assert entry["brian2"]["mean"]["rate_hz"] > 30
    if regime == "A":
        assert entry["neurosim"]["mean"]["cv_isi"] < 0.3


def gv_regimes():
    from neurosim.gallery.brunel import REGIMES

    return REGIMES


@brian2
def test_brunel_regime_d_matches_brian2_at_reduced_scale(regime_d):
    """Regime D (g = 4.5, nu_ext = 0.9 nu_thr: a few Hz) at scale 0.1: 1 s runs after a 0.2 s
    transient, as 0.5 s leaves too few spikes (about 3 Hz x 0.4 s per neuron) for the 15 %
    rate tolerance; rate within 15 %, synchrony within max(0.1, 15 %), CV ISI within 0.1."""
    entry = regime_d["regimes"]["D"]
    check_entry(entry, 1250)
    assert entry["brian2"]["mean"]["rate_hz"] < 20  # the slow regime on both sides
    assert entry["neurosim"]["mean"]["synchrony"] > 0.3  # slow global oscillation


@brian2
def test_coba_on_a_shared_network_matches_brian2():
    """COBA at 2,000 neurons, 1 s: Brian's COBA.py on neurosim's network for each seed, rate
    within 5 %. Not on independent networks here: the rate depends on the network drawn (at
    2,000 neurons it spread 15.5-22.5 Hz over 6 seeds on each side, std about 2 Hz, steady
    over 3 s of a run), so a 5 % check of two-seed means of independent networks would fail
    by chance; the full-size benchmark reports the independent comparison."""
    pytest.importorskip("brian2")
    result = gv.validate_coba(2000, duration_s=1.0, transient_s=0.1, seeds=(0, 1),
                              network="shared")
    check_entry(result, 2000)
    assert result["settings"]["network"] == "shared" and result["label"].startswith("coba")
    assert 5 < result["brian2"]["mean"]["rate_hz"] < 40  # self-sustained activity


@brian2
def test_neurosim_on_brian2s_coba_network_gives_brian2s_spikes():
    """The network Brian2's COBA.py draws (coba_networks.brian2_draw, not simulated) is the one
    brian2_coba simulates for the seed: neurosim run on it fires Brian2's spikes, the same
    steps and neurons in the first 30 ms (float64, exponential Euler on both sides; later the
    chaotic network amplifies rounding), and Brian2's rate within 2 % over 0.5 s. At 2,000
    neurons Brian2 draws with its jump sampler (more than 1,000 targets), as at 4,000."""
    pytest.importorskip("brian2")
    from neurosim.studies import brian2_gallery, coba_networks

    ref = brian2_gallery.brian2_coba(2000, duration_s=0.5, seed=3)
    drawn = coba_networks.brian2_draw(2000, 3)
    assert drawn["exc_i"].max() < 1600 <= drawn["inh_i"].min()
    steps, indices, _ = coba_networks.neurosim_on(drawn, 0.5)
    early, ref_early = steps < 300, ref.steps < 300
    assert ref_early.sum() > 50
    assert np.array_equal(steps[early], ref.steps[ref_early])
    assert np.array_equal(indices[early], ref.indices[ref_early])
    assert steps.size == pytest.approx(ref.steps.size, rel=0.02)
    ours = coba_networks.neurosim_draw(2000, 3)  # neurosim's own draw: another network
    assert ours["exc_i"].size != drawn["exc_i"].size


@brian2
def test_coba_generators_entry_runs_both_draws_on_neurosim():
    pytest.importorskip("brian2")
    result = gv.validate_coba(1000, duration_s=0.3, transient_s=0.1, seeds=(0,),
                              network="generators")
    assert result["label"] == gv.COBA_NETWORKS["generators"]
    assert result["settings"]["network"] == "generators"
    ours, theirs = result["neurosim"]["per_seed"][0], result["brian2"]["per_seed"][0]
    assert ours["n_spikes"] != theirs["n_spikes"] and "build_s" not in theirs


def test_neurosim_on_a_network_checks_the_arrays():
    from neurosim.studies import coba_networks

    with pytest.raises(ValueError, match="lacks exc_i"):
        coba_networks.neurosim_on({"v0": np.zeros(3)}, 0.01)
    empty = {k: np.zeros(0) for k in coba_networks.NETWORK_KEYS}
    with pytest.raises(ValueError, match="non-empty 1-D"):
        coba_networks.neurosim_on(empty, 0.01)
    bad = {**{k: np.zeros(3) for k in coba_networks.NETWORK_KEYS},
           "exc_i": np.array([5]), "exc_j": np.array([0])}
    with pytest.raises(ValueError, match="pre_idx must be in"):
        coba_networks.neurosim_on(bad, 0.01)
    steps, indices, _ = coba_networks.neurosim_on(coba_networks.neurosim_draw(200, 1), 0.05)
    assert steps.shape == indices.shape and (indices < 200).all()


def test_report_cells_of_a_statistic_undefined_in_some_seeds():
    """A silent network has no inter-spike intervals: its CV ISI is NaN, so the seed mean is
    NaN; the table says so and gives the mean over the other seeds."""
    rows = [{"seed": s, "rate_hz": r, "synchrony": 0.2, "cv_isi": c}
            for s, r, c in ((0, 20.0, 1.4), (1, 0.0, math.nan), (2, 18.0, 1.6), (3, 19, 1.5))]
    summary = gv._summary(rows)
    assert math.isnan(summary["mean"]["cv_isi"])
    cell = gallery_report._cell(summary, "cv_isi")
    assert cell == "nan: undefined in 1 of 4 seeds; 1.5 (1.4-1.6) over the rest"
    assert gallery_report._cell(summary, "rate_hz") == "14.25 (0-20)"
    assert gallery_report._seeds(list(range(64))) == "0-63"
    assert gallery_report._seeds([0, 1]) == "0, 1" and gallery_report._seeds([0, 2, 3, 5]) \
        == "0, 2, 3, 5"


@brian2
def test_cuba_matches_brian2():
    """CUBA at 1,000 neurons, 0.5 s, 2 seeds: Brian2's CUBA example on neurosim's network,
    rate within 5 %."""
    pytest.importorskip("brian2")
    result = gv.validate_cuba(1000, duration_s=0.5, transient_s=0.1, seeds=(0, 1))
    check_entry(result, 1000)
    assert result["neurosim"]["mean"]["rate_hz"] > 1


# -- reports -------------------------------------------------------------------------------------

@brian2
def test_reports_of_a_validation(regime_d, tmp_path):
    plain = gv.without_spikes(regime_d)
    assert "spikes" not in plain["regimes"]["D"] and "spikes" in regime_d["regimes"]["D"]
    json.dumps(plain)  # JSON as it is
    text = gallery_report.to_markdown(plain)
    assert "**brunel2000 D** (g = 4.5, nu_ext/nu_thr = 0.9, N = 1,250, seeds 0, 1): PASS" in text
    assert text.count("| rate (Hz) |") == 1 and "15% of Brian2's" in text
    fig = gallery_report.raster_figure(regime_d, window_s=0.2)
    assert len(fig.axes) == 4  # raster and rate, neurosim and Brian2
    rec = regime_d["regimes"]["D"]["spikes"]["brian2"]
    assert rec.n_steps == 10_000 and rec.start_step == 2000
    fig.savefig(tmp_path / "d.png")
    assert (tmp_path / "d.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="keep_spikes"):
        gallery_report.raster_figure(plain)


@brian2
def test_cli_validate_gallery_writes_json_and_figure(tmp_path, capsys):
    pytest.importorskip("brian2")
    from neurosim.cli import main

    code = main(["validate", "gallery", "--models", "brunel2000", "--regimes", "C", "--scale",
                 "0.02", "--duration", "0.2", "--transient", "0.05", "--seeds", "1", "--out",
                 str(tmp_path), "--json"])
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((tmp_path / "validate_gallery.json").read_text())
    assert printed == written and code == (0 if printed["passed"] else 1)
    assert printed["brunel2000"]["regimes"]["C"]["n_neurons"] == 250
    assert (tmp_path / "validate_gallery.png").stat().st_size > 1000
    assert main(["validate", "gallery", "--models", "nest"]) == 2
    assert main(["validate", "gallery", "--duration", "0.1", "--transient", "0.2"]) == 2


@brian2
def test_benchmark_script_renders_its_result(regime_d):
    script = load_script("validate_gallery.py")
    result = {"environment": {"versions": {"brian2": "2.9.0"}},
              "brunel2000": gv.without_spikes(regime_d), "passed": True, "wall_s": 1.0}
    text = script.render(result)
    assert text.startswith("The gallery against Brian2 2.9.0 (numpy targets), float64")
    assert "Brunel at scale 0.1" in text and "Overall: PASS" in text
    assert "**brunel2000 D**" in text and "| CV ISI |" in text
