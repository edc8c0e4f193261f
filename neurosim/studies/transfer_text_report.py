"""Markdown and figure of the text transfer study (:mod:`neurosim.studies.transfer_text`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TITLES = {"bag": "(a) bag of embeddings, trained here: EmbeddingBag(10000, 300, mean) -> "
                 "Linear(300, 128) -> ReLU -> Linear(128, 2)",
          "minilm": "(b) frozen all-MiniLM-L6-v2 sentence embeddings (384-d) -> head "
                    "Linear(384, 128) -> ReLU -> Linear(128, 2)"}


def _pm(entry: dict, key: str) -> str:
    return f"{100 * entry[f'{key}_mean']:.1f} ± {100 * entry[f'{key}_std']:.1f}"


def markdown(study: dict) -> str:
    cfg = study["config"]
    data = cfg["data"]
    steps = cfg["timesteps"]
    lines = [
        "# Transfer: sentiment of Rotten Tomatoes snippets, ANN and converted SNN", "",
        f"Data: {data['source']}; {data['split']}: {data['train']:,} training / "
        f"{data['val']:,} validation / {data['test']:,} test snippets. Test accuracy on "
        f"{data['test_used']:,} test snippets" + (" (a fixed random subset: quick mode)"
                                                 if data["test_used"] < data["test"] else "")
        + f"; training length chosen on {data['val_used']:,} validation snippets (the best "
        f"checkpoint, at least {cfg['training']['min_updates']} updates, at most "
        f"{cfg['training']['max_epochs']} epochs); thresholds calibrated on "
        f"{data['calibration_unlabelled']:,} unlabelled training snippets. Seeds "
        f"{cfg['seeds']} (few-shot draws, initialisation, batch order); mean ± std over seeds."
        f" Always answering the majority class (fresh) scores {100 * data['majority_test']:.1f}"
        " %.",
        "",
        "What runs as spikes: the embedding lookup-and-mean (a) or the frozen encoder (b) is "
        "the input encoding, computed once per snippet and fed as a constant current; the "
        "hidden layer and the output run as IF neurons (threshold = 99th percentile of the "
        "ReLU's activations, reset by subtraction). SynOps: synaptic events per snippet at "
        "the largest T (the input layer's dense MACs are counted apart).", ""]
    if "skipped" in cfg.get("minilm", {}):
        lines += [f"Part (b) skipped: {cfg['minilm']['skipped']}.", ""]
    for model in ("bag", "minilm"):
        entries = [e for e in study["table"] if e["model"] == model]
        if not entries:
            continue
        lines += [f"## {TITLES[model]}", "",
                  "| labelled/class | ANN % | " + " | ".join(f"SNN T={t} %" for t in steps)
                  + f" | agreement T={steps[-1]} % | SynOps/snippet | ANN MACs |",
                  "|" + "---|" * (5 + len(steps))]
        for e in entries:
            lines.append(f"| {e['shots']} ({e['train_examples']:,}) | {_pm(e, 'ann_accuracy')}"
                         f" | " + " | ".join(_pm(e, f"snn_T{t}") for t in steps)
                         + f" | {100 * e[f'agreement_T{steps[-1]}_mean']:.1f} | "
                         f"{e['synops_mean']:,.0f} | {e['ann_macs']:,.0f} |")
        lines.append("")
    lines.append(f"Command: `{cfg['command']}`; {study['seconds'] / 60:.1f} min.")
    return "\n".join(lines)


def figure(study: dict, path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    steps = study["config"]["timesteps"]
    models = [m for m in ("bag", "minilm") if any(e["model"] == m for e in study["table"])]
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 3.6),
                             layout="constrained", squeeze=False, sharey=True)
    for ax, model in zip(axes[0], models):
        entries = [e for e in study["table"] if e["model"] == model]
        x = np.arange(len(entries), dtype=float)
        ax.errorbar(x - 0.08, [100 * e["ann_accuracy_mean"] for e in entries],
                    yerr=[100 * e["ann_accuracy_std"] for e in entries], marker="o",
                    label="ANN", capsize=3)
        for t, style, shift in ((min(steps, key=lambda s: abs(s - 8)), ":", 0.0),
                                (steps[-1], "--", 0.08)):  # side by side, not on top
            ax.errorbar(x + shift, [100 * e[f"snn_T{t}_mean"] for e in entries],
                        yerr=[100 * e[f"snn_T{t}_std"] for e in entries], ls=style,
                        marker="x", label=f"SNN T={t}", capsize=3)
        ax.set_xticks(list(x))
        ax.set_xticklabels([str(e["shots"]) for e in entries])
        ax.set_xlabel("labelled snippets per class")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title({"bag": "(a) bag of embeddings", "minilm": "(b) frozen MiniLM + head"}[
            model])
        ax.axhline(100 * study["config"]["data"]["majority_test"], color="grey", lw=0.8,
                   ls="-.", label="majority class")
        ax.legend(fontsize="small")
    fig.suptitle("Rotten Tomatoes sentiment: ANN vs converted SNN")
    fig.savefig(path, dpi=120)
    plt.close(fig)
