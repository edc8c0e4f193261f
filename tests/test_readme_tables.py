"""Every generated table in the README equals what its results file gives (issue 11): no
figure in the README can drift from ``benchmarks/results/``."""

from pathlib import Path

from tests.benchmark_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


def _make_tables():
    return load_script("make_tables.py")


def test_readme_tables_are_generated_from_results():
    assert _make_tables().main(["--check"]) == 0


def test_check_fails_on_a_hand_edited_table(tmp_path):
    mt = _make_tables()
    readme = (ROOT / "README.md").read_text()
    blocks = list(mt.BLOCK.finditer(readme))
    if not blocks:
        return
    body_start = blocks[0].start(5)
    edited = readme[:body_start] + "| 9.9x |\n" + readme[body_start:]
    path = tmp_path / "README.md"
    path.write_text(edited)
    assert mt.main(["--check", "--readme", str(path)]) == 1
