"""Parameter sweeps (neurosim.studies.sweep, ``neurosim sweep``): the table, reruns that compute
only what is missing, failed points, equality with ``run_model``, one real LocalCluster, the
phase diagram and the command line. Points are the CUBA network at 200-250 neurons for 50 ms."""

import csv
import math

import pytest

from neurosim.cli import main
from neurosim.cli.sweep_command import parse_grid
from neurosim.gallery import run_model
from neurosim.studies.sweep import grid_points, phase_diagram, read_table, sweep

GRID = {"seed": [0, 1], "scale": [0.05, 0.0625]}
RUN = {"duration_s": 0.05, "progress": False}


def same_stats(row: dict, stats: dict) -> bool:
    """``row`` has the values of ``stats`` (NaN equal to NaN), leaving out timings."""
    for name, value in stats.items():
        if name in ("run_s", "task_s", "worker"):
            continue
        got = row[name]
        nans = isinstance(got, float) and isinstance(value, float) and math.isnan(got) \
            and math.isnan(value)
        if not (got == value or nans):
            return False
    return True


def test_four_points_then_a_rerun_that_computes_nothing(tmp_path):
    out = tmp_path / "sweep.csv"
    first = sweep("cuba", GRID, out=out, scheduler="synchronous", **RUN)
    assert (first.done_before, first.computed, first.failed) == (0, 4, 0)
    with out.open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 4 and len({row["key"] for row in table}) == 4
    assert [(row["seed"], row["scale"]) for row in table] == [
        ("0", "0.05"), ("0", "0.0625"), ("1", "0.05"), ("1", "0.0625")]
    assert all(row["error"] == "" and float(row["rate_hz"]) > 0 for row in table)

    again = sweep("cuba", GRID, out=out, scheduler="synchronous", **RUN)
    assert (again.done_before, again.computed, again.failed) == (4, 0, 0)
    for read, computed in zip(again.rows, first.rows):  # read back from the file
        assert read.keys() == computed.keys() and same_stats(read, computed)
    assert out.read_text().count("\n") == 5


def test_rows_equal_run_model_called_directly(tmp_path):
    result = sweep("cuba", {"seed": [3]}, fixed={"scale": 0.05}, out=tmp_path / "s.csv",
                   scheduler="synchronous", transient_s=0.01, **RUN)
    direct = run_model("cuba", {"seed": 3, "scale": 0.05}, duration_s=0.05, transient_s=0.01)
    (row,) = read_table(tmp_path / "s.csv")
    assert row["seed"] == 3 and row["scale"] == 0.05 and row["transient_s"] == 0.01
    assert same_stats(row, direct) and same_stats(result.rows[0], direct)


def test_a_failing_point_is_recorded_and_retried_without_stopping_the_others(tmp_path):
    out = tmp_path / "sweep.csv"
    grid = {"dt_s": [1e-4, -1.0], "seed": [0, 1]}
    result = sweep("cuba", grid, fixed={"scale": 0.05}, out=out, scheduler="synchronous",
                   **RUN)
    assert (result.computed, result.failed) == (4, 2)
    bad = [row for row in read_table(out) if row["error"]]
    assert len(bad) == 2 and all(row["dt_s"] == -1.0 for row in bad)
    assert all("dt_s must be > 0" in row["error"] and row["rate_hz"] is None for row in bad)
    assert sorted(result.failures) == sorted(row["key"] for row in bad)
    assert "2 failed" in result.summary()
    # a rerun retries only the failed points; the table keeps one row per point
    rerun = sweep("cuba", grid, fixed={"scale": 0.05}, out=out, scheduler="synchronous", **RUN)
    assert (rerun.done_before, rerun.computed, rerun.failed) == (2, 2, 2)
    assert len(read_table(out)) == 4


def test_a_larger_grid_computes_only_the_missing_points(tmp_path):
    out = tmp_path / "sweep.csv"
    sweep("cuba", {"seed": [0], "scale": [0.05, 0.0625]}, out=out, scheduler="synchronous",
          **RUN)
    grown = sweep("cuba", GRID, out=out, scheduler="synchronous", **RUN)
    assert (grown.done_before, grown.computed) == (2, 2)
    assert [row["seed"] for row in grown.rows] == [0, 0, 1, 1]


def test_a_table_cut_short_keeps_its_whole_rows(tmp_path):
    out = tmp_path / "sweep.csv"
    sweep("cuba", GRID, out=out, scheduler="synchronous", **RUN)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:25])  # interrupted while writing row 3
    result = sweep("cuba", GRID, out=out, scheduler="synchronous", **RUN)
    assert (result.done_before, result.computed) == (2, 2)
    assert len(read_table(out)) == 4


def test_a_local_cluster_of_two_workers_gives_the_same_rows(tmp_path):
    pytest.importorskip("distributed")
    cluster = sweep("cuba", GRID, out=tmp_path / "c.csv", n_workers=2, **RUN)
    local = sweep("cuba", GRID, out=tmp_path / "l.csv", scheduler="synchronous", **RUN)
    assert (cluster.computed, cluster.failed) == (4, 0)
    assert cluster.warmup_s is not None and len(cluster.completed) == 4
    assert {row["worker"] for row in cluster.rows}.isdisjoint(
        {row["worker"] for row in local.rows})  # other processes
    for a, b in zip(cluster.rows, local.rows):
        assert a.keys() == b.keys() and same_stats(a, b)
    times = cluster.task_times()
    assert 1 <= len(times["first"]) <= 2 and len(times["first"]) + len(times["later"]) == 4


@pytest.mark.parametrize("model, grid, kwargs, error, needle", [
    ("hodgkin", {"seed": [0]}, {}, ValueError, "model must be one of"),
    ("cuba", {}, {}, ValueError, "non-empty"),
    ("cuba", {"seed": 1}, {}, TypeError, "must be a list"),
    ("cuba", {"seed": "01"}, {}, TypeError, "must be a list"),
    ("cuba", {"seed": []}, {}, ValueError, "is empty"),
    ("cuba", {"seed": [0, 0.0]}, {}, ValueError, "repeats"),
    ("cuba", {"seed": [[0]]}, {}, TypeError, "must be a list"),
    ("cuba", {"seed": [float("nan")]}, {}, ValueError, "finite"),
    ("cuba", {"gee": [1, 2]}, {}, ValueError, "unknown parameter(s) 'gee'"),
    ("cuba", {"seed": [0]}, {"fixed": {"seed": 1}}, ValueError, "both in grid and fixed"),
    ("cuba", {"seed": [0]}, {"fixed": {"error": 1}}, ValueError, "unknown parameter"),
    ("cuba", {"seed": [0]}, {"transient_s": 1.0}, ValueError, "shorter than"),
    ("cuba", {"seed": [0]}, {"n_workers": 0}, ValueError, "n_workers"),
])
def test_bad_input_is_refused_before_anything_runs(tmp_path, model, grid, kwargs, error, needle):
    out = tmp_path / "sweep.csv"
    with pytest.raises(error, match=needle.replace("(", r"\(").replace(")", r"\)")):
        sweep(model, grid, out=out, scheduler="synchronous", **{**RUN, **kwargs})
    assert not out.exists()


def test_a_file_that_is_not_a_sweep_table_is_refused(tmp_path):
    out = tmp_path / "other.csv"
    out.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a sweep table"):
        sweep("cuba", {"seed": [0]}, out=out, scheduler="synchronous", **RUN)
    assert out.read_text() == "a,b\n1,2\n"


def test_keys_identify_points_whatever_the_order_and_number_type():
    a = grid_points("cuba", {"seed": [1], "scale": [0.05]}, {"dt_s": 1e-4})
    b = grid_points("cuba", {"scale": [0.05]}, {"dt_s": 0.0001, "seed": 1.0})
    c = grid_points("cuba", {"scale": [0.05]}, {"dt_s": 1e-4, "seed": 1}, duration_s=2.0)
    assert a[0].key == b[0].key != c[0].key


def test_phase_diagram_leaves_failed_and_missing_points_blank():
    rows = [{"g": g, "nu_ratio": nu, "rate_hz": 0.0 if g == 2 else 10.0 * g * nu,
             "synchrony": 0.1 * g, "cv_isi": 1.0, "error": ""}
            for g in (2, 4, 6) for nu in (0.5, 1, 2) if (g, nu) != (6, 2)]
    rows[1]["error"] = "ValueError: boom"  # (g=2, nu=1) failed
    fig = phase_diagram(rows)
    meshes = [ax.collections[0] for ax in fig.axes if ax.get_title()]
    assert len(meshes) == 3 and len(fig.axes) == 6  # three panels, a colour bar each
    rate = meshes[0].get_array().reshape(3, 3)  # rows: nu_ratio 0.5, 1, 2; columns: g
    assert rate.mask[1, 0] and rate.mask[2, 2] and rate.mask.sum() == 2
    assert type(meshes[0].norm).__name__ == "LogNorm" and meshes[0].norm.vmin == 20.0
    assert rate[0, 0] < 20.0 and rate[2, 0] < 20.0  # silent (g = 2): the "under" colour
    assert rate[2, 1] == pytest.approx(80.0)
    assert type(meshes[1].norm).__name__ == "Normalize"
    with pytest.raises(ValueError, match="no values of 'gee'"):
        phase_diagram(rows, x="gee")


def test_grid_options_parse_ranges_and_lists():
    assert parse_grid("g=2:8:7") == ("g", [2, 3, 4, 5, 6, 7, 8])
    assert parse_grid("g=2:8:3") == ("g", [2, 5, 8])
    assert parse_grid("x=0:1:3") == ("x", [0, 0.5, 1.0])
    assert isinstance(parse_grid("x=0:1:3")[1][1], float)
    assert parse_grid("nu_ratio=0.5,1,2") == ("nu_ratio", [0.5, 1, 2])
    assert [type(v) for v in parse_grid("nu_ratio=0.5,1")[1]] == [float, int]
    assert parse_grid("s=1:1:1") == ("s", [1])
    assert parse_grid("dtype=float32,float64") == ("dtype", ["float32", "float64"])


def test_the_command_writes_the_table_and_the_figure(tmp_path, capsys):
    import json

    out, figure = tmp_path / "sweep.csv", tmp_path / "phase.png"
    argv = ["sweep", "cuba", "--grid", "seed=0:1:2", "--grid", "scale=0.05,0.0625",
            "--duration", "0.05", "--transient", "0.01", "--out", str(out),
            "--scheduler", "synchronous", "--figure", str(figure)]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["points"], report["computed"], report["failed"]) == (4, 4, 0)
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and len(read_table(out)) == 4
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "4 done before, 0 computed now" in text and str(out) in text


@pytest.mark.parametrize("args, needle", [
    (["--grid", "g"], "expected NAME=VALUES"),
    (["--grid", "seed=1:2"], "START:STOP:COUNT"),
    (["--grid", "seed=1:2:0"], "COUNT"),
    (["--grid", "seed=1,,2"], "empty value"),
    (["--grid", "seed=1,2/3"], "not a number"),
    (["--grid", "seed=0,1", "--grid", "seed=2"], "given twice"),
    (["--grid", "seed=0,1", "--set", "seed=2"], "already given"),
    (["--grid", "gee=0,1"], "unknown parameter(s) 'gee'"),
    (["--grid", "seed=0,1", "--figure", "p.png"], "two --grid"),
    (["--grid", "seed=0", "--transient", "2"], "shorter than"),
    (["--grid", "seed=0", "--workers", "2"], "n_workers is for the local cluster"),
])
def test_bad_command_lines_exit_2_with_one_line(tmp_path, capsys, args, needle):
    argv = ["sweep", "cuba", *args, "--out", str(tmp_path / "s.csv"), "--scheduler",
            "synchronous", "--duration", "0.05"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and err.startswith("neurosim sweep: error")
    assert not (tmp_path / "s.csv").exists()


def test_an_unknown_model_on_the_command_line(tmp_path, capsys):
    assert main(["sweep", "nope", "--grid", "seed=0", "--out", str(tmp_path / "s.csv")]) == 2
    assert "model must be one of" in capsys.readouterr().err


def test_no_grid_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["sweep", "cuba", "--out", "s.csv"])
    assert info.value.code == 2 and "--grid" in capsys.readouterr().err


def test_a_running_cluster_by_its_address_records_failures_too(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {"dt_s": [1e-4, -1.0], "seed": [0, 1]}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = sweep("cuba", grid, fixed={"scale": 0.05}, out=tmp_path / "r.csv",
                       scheduler=cluster.scheduler_address, **RUN)
    local = sweep("cuba", grid, fixed={"scale": 0.05}, out=tmp_path / "l.csv",
                  scheduler="synchronous", **RUN)
    assert (remote.computed, remote.failed) == (4, 2) and remote.failures == local.failures
    for a, b in zip(remote.rows, local.rows):
        assert a.keys() == b.keys() and same_stats(a, b)
