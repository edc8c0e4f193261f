"""Networks against Brian2 (numpy target, no compiler): the checks of `neurosim validate`."""

import pytest

from neurosim.studies import brian2_crosscheck

pytest.importorskip("brian2")
pytestmark = pytest.mark.brian2


def test_lif_population_spike_for_spike():
    result = brian2_crosscheck.check_lif_population(n=100, steps=2000)
    assert result["neurosim_spikes"] > 500
    assert result["passed"], result


def test_feedforward_network_same_spikes():
    result = brian2_crosscheck.check_feedforward(n=1000, duration_s=0.5)
    assert result["neurosim_spikes"] > 1000
    assert result["matched_fraction"] >= 0.999, result


def test_cuba_rate_and_isi_cv_match():
    result = brian2_crosscheck.check_cuba(n=4000, duration_s=1.0)
    assert result["rate_rel_diff"] <= 0.05, result
    assert result["cv_rel_diff"] <= 0.10, result
