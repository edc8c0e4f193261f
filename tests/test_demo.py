import re

from neurosim.studies.demo import run_demo


def test_demo_writes_report_with_every_figure(tmp_path):
    results = run_demo(tmp_path, quiet=True, transfer=False)
    report = (tmp_path / "report.md").read_text()
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(figures) == 6  # (+1 with the transfer section)
    for figure in figures:
        assert (tmp_path / figure).stat().st_size > 2000, figure
    assert results["mcculloch_pitts"]["truth_tables"]["XOR"][3] == [[1, 1], 0]
    assert results["perceptron"]["xor_two_layer_accuracy"] == 1.0
    assert abs(results["cuba"]["rate_hz"] - results["cuba"]["brian2_rate_hz"]) < 0.5
    assert results["conversion"]["snn_accuracy"][32] > 0.97
    assert (tmp_path / "demo.json").exists()
