"""The README's study figures, regenerated: the demo's output, hybrid conversion on MNIST and
the transfer study. Each writes its results under ``benchmarks/results/`` and the README's
blocks are rendered from them by ``benchmarks/make_tables.py``.

    python benchmarks/studies.py demo       # neurosim demo; its output and demo.json
    python benchmarks/studies.py hybrid     # neurosim convert --hybrid-steps 4 on MNIST
    python benchmarks/studies.py transfer   # neurosim transfer (quick mode, 3 seeds)
    python benchmarks/studies.py transfer-fashion  # neurosim transfer --task mnist-fashion --full
                                                   # one process per seed, then merged
    python benchmarks/studies.py transfer-text     # neurosim transfer --task text --full

Every choice in these programs is fixed in advance or made on training data; the test sets are
used once, to report.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import RESULTS, environment  # noqa: E402

HYBRID_CMD = ["convert", "--model", "mnist_cnn", "--timesteps", "4,8,16,32", "--hybrid-steps",
              "4", "--hybrid-train", "10000"]


def _neurosim(*argv: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "neurosim", *argv]
    print("$ neurosim " + " ".join(argv), flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
    if out.returncode:
        raise SystemExit(f"neurosim {argv[0]} failed:\n{out.stderr}")
    return out


def run_demo() -> None:
    out_dir = RESULTS / "demo"
    out = _neurosim("demo", "--out", str(out_dir))
    demo = json.loads((out_dir / "demo.json").read_text())
    payload = {"environment": environment(command="neurosim demo"), "stdout": out.stdout,
               "demo": demo}
    (RESULTS / "demo.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(out.stdout)


def run_hybrid() -> None:
    out_dir = RESULTS / "hybrid_mnist"
    _neurosim(*HYBRID_CMD, "--out", str(out_dir), "--json")
    result = json.loads((out_dir / "convert.json").read_text())
    result["environment"] = environment(command="neurosim " + " ".join(HYBRID_CMD))
    (out_dir / "convert.json").write_text(json.dumps(result, indent=2) + "\n")


def run_transfer(task: str = "digits", full: bool = False) -> None:
    folder, name = {"digits": ("transfer", "transfer.json"),
                    "mnist-fashion": ("transfer/mnist-fashion", "transfer.json"),
                    "text": ("transfer_text", "transfer_text.json")}[task]
    out_dir = RESULTS / folder
    argv = ["transfer", "--task", task, "--quiet"] + (["--full"] if full else [])
    _neurosim(*argv, "--out", str(out_dir))
    add_environment(out_dir / name, "neurosim " + " ".join(argv) + f" --out {out_dir}")


def run_transfer_seeds(task: str, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """The full study one seed per process (``seed<N>/``; a seed already done is kept), then
    :func:`merge_seeds`: on this 2-core machine a seed of ``mnist-fashion`` takes about 45
    minutes, and a run cut short keeps the seeds it finished."""
    out_dir = RESULTS / "transfer" / task
    for seed in seeds:
        if (out_dir / f"seed{seed}" / "transfer.json").exists():
            continue
        argv = ["transfer", "--task", task, "--full", "--seeds", "1", "--seed", str(seed),
                "--quiet", "--out", str(out_dir / f"seed{seed}")]
        _neurosim(*argv)
    merge_seeds(out_dir)


def merge_seeds(out_dir: Path) -> None:
    """One study from the per-seed runs in ``out_dir/seed*/``: rows joined, the mean/std
    table and the layer probes summarised again, the report and figure written."""
    from neurosim.studies.transfer import summarize, write_report
    from neurosim.studies.transfer_probe import summarize_probe

    parts = [json.loads(p.read_text()) for p in sorted(out_dir.glob("seed*/transfer.json"))]
    if not parts:
        raise SystemExit(f"no seed*/transfer.json under {out_dir}")
    config = dict(parts[0]["config"])
    seeds = [s for part in parts for s in part["config"]["seeds"]]
    timesteps = tuple(config["timesteps"])
    rows = [row for part in parts for row in part["rows"]]
    for row in rows:  # JSON turned the T keys into strings
        for key in ("snn_accuracy", "agreement", "converted_accuracy"):
            if isinstance(row.get(key), dict):
                row[key] = {int(t): v for t, v in row[key].items()}
    config.update(seeds=seeds, command=f"python benchmarks/studies.py transfer-fashion "
                  f"(one `neurosim transfer --task {config['task']} --full --seeds 1 --seed N` "
                  "per seed, merged)")
    study = {"config": config, "rows": rows, "table": summarize(rows, timesteps),
             "seconds": sum(part["seconds"] for part in parts),
             "environment": environment(command=config["command"])}
    if "probe" in parts[0]:
        runs = [run for part in parts for run in part["probe"]["runs"]]
        study["probe"] = {**parts[0]["probe"], "seeds": len(runs), "runs": runs,
                          "table": summarize_probe(runs)}
    write_report(study, out_dir)
    print(f"merged seeds {seeds} into {out_dir / 'transfer.json'}")


def add_environment(path: Path, command: str) -> None:
    """The machine and libraries of a study's results file (written by the CLI)."""
    result = json.loads(path.read_text())
    result["environment"] = environment(command=command)
    path.write_text(json.dumps(result, indent=2) + "\n")


def render_demo(result: dict) -> str:
    """The demo's printed output, as it came out of the recorded run."""
    return "```\n" + result["stdout"].rstrip("\n") + "\n```"


def render_hybrid(result: dict) -> str:
    steps = sorted(result["snn_accuracy"], key=int)
    hybrid = result["hybrid"]
    head = "| network | " + " | ".join(f"T={t}" for t in steps) + " |"
    lines = [f"MNIST test set ({result['samples']:,} images), `{result['model']}`, ANN "
             f"{100 * result['ann_accuracy']:.2f}%; conversion options "
             f"{json.dumps(result['options'])}; hybrid: {hybrid['epochs']} epoch on "
             f"{hybrid['train_images']:,} training images at T = {hybrid['timesteps']}, lr "
             f"{hybrid['lr']:g}, {hybrid['seconds']:.0f} s.", "", head,
             "|---|" + "---:|" * len(steps)]
    for name, acc, agree in (("converted SNN", result["snn_accuracy"], result["agreement"]),
                             ("hybrid SNN", hybrid["snn_accuracy"], hybrid["agreement"])):
        lines.append(f"| {name} | " + " | ".join(
            f"{100 * acc[t]:.2f}% (agree {100 * agree[t]:.1f}%)" for t in steps) + " |")
    return "\n".join(lines)


def render_transfer(result: dict) -> str:
    from neurosim.studies.transfer import to_markdown

    return to_markdown(result)


def render_transfer_text(result: dict) -> str:
    from neurosim.studies.transfer_text import text_markdown

    lines = text_markdown(result).splitlines()
    if lines and lines[0].startswith("# "):  # the report's title: the README has its own
        lines = lines[1:]
    return "\n".join("####" + line[2:] if line.startswith("## ") else line
                     for line in lines).strip() + "\n"


def render_diehl_cook(result: dict) -> str:
    """The Diehl & Cook run as it came out (``neurosim learn diehl-cook``)."""
    cfg, env = result["config"], result.get("environment", {})
    paper = result.get("paper_accuracy")
    minutes = result["training_s"] / 60
    lines = ["| excitatory neurons | training images (one pass) | test images | accuracy | "
             "paper (same size) | training time | images/s | machine |",
             "|---:|---:|---:|---:|---:|---:|---:|---|",
             f"| {cfg['n_exc']} | {result['images_trained']:,} | {result['n_images']:,} | "
             f"{100 * result['accuracy']:.1f}% | "
             + (f"{100 * paper:.1f}%" if paper else "—")
             + f" | {minutes:.1f} min | {result['training_images_per_s']:.1f} | "
             f"{env.get('processor', '?')}, {env.get('cpus', '?')} cores, "
             f"{env.get('numba_threads', '?')} threads |"]
    if result.get("resumed_from"):
        lines.append(f"\n(resumed from a checkpoint at image {result['resumed_from']:,}: the "
                     "time covers the part after it)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=["demo", "hybrid", "transfer", "transfer-fashion",
                                          "transfer-text"])
    args = parser.parse_args()
    {"demo": run_demo, "hybrid": run_hybrid, "transfer": run_transfer,
     "transfer-fashion": lambda: run_transfer_seeds("mnist-fashion"),
     "transfer-text": lambda: run_transfer("text", full=True)}[args.study]()


if __name__ == "__main__":
    main()
