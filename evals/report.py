"""Human-readable outputs of the intent harness: a Markdown report and a confusion-matrix PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def write_confusion_png(labels: list[str], matrix: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 8), dpi=110)
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=10)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def errors_by_intent(errors: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, int]]]:
    """Per language, per gold intent: how often each wrong label was predicted."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for e in errors:
        wrong = out.setdefault(e["lang"], {}).setdefault(e["intent"], {})
        wrong[e["pred_intent"]] = wrong.get(e["pred_intent"], 0) + 1
    return {lang: dict(sorted(by_gold.items())) for lang, by_gold in sorted(out.items())}


def markdown_report(metrics: dict[str, Any], errors: list[dict[str, Any]], png_name: str | None) -> str:
    cfg = metrics.get("config", {})
    lines = [
        "# Intent accuracy report",
        "",
        f"Data: `{cfg.get('data')}` — {metrics['n']} utterances. Mode: {cfg.get('mode')}; "
        f"embedder: {cfg.get('embedder')}; OOS threshold: {cfg.get('oos_threshold')}.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| accuracy | {metrics['accuracy']:.4f} |",
        f"| macro F1 | {metrics['macro_f1']:.4f} |",
        f"| out-of-scope recall | {metrics['oos_recall']:.4f} |",
        f"| slot F1 (P {metrics['slot_precision']:.3f} / R {metrics['slot_recall']:.3f}) | {metrics['slot_f1']:.4f} |",
        f"| latency p50 / p95 (ms) | {metrics['latency_ms']['p50']:.2f} / {metrics['latency_ms']['p95']:.2f} |",
    ]
    for lang, row in metrics["per_lang"].items():
        lines.append(f"| accuracy ({lang}, n={row['n']}) | {row['accuracy']:.4f} |")
    if "outcome_accuracy" in metrics:  # what the turn ends as: a lookup finding no service is out of scope
        lines += [f"| outcome accuracy (lookup without a match → out_of_scope) | {metrics['outcome_accuracy']:.4f} |",
                  f"| outcome out-of-scope recall | {metrics['outcome_oos_recall']:.4f} |"]
    lines += ["", "## Per intent", "", "| intent | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, row in metrics["per_intent"].items():
        lines.append(f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |")
    if png_name:
        lines += ["", f"![confusion matrix]({png_name})"]
    lines += ["", "## Errors per class", "", "| lang | gold | errors | predicted instead |", "|---|---|---|---|"]
    for lang, by_gold in errors_by_intent(errors).items():
        for gold, wrong in by_gold.items():
            instead = ", ".join(f"{label} {n}" for label, n in sorted(wrong.items(), key=lambda kv: -kv[1]))
            lines.append(f"| {lang} | {gold} | {sum(wrong.values())} | {instead} |")
    lines += ["", f"## Errors ({len(errors)})", "", "| text | lang | gold | predicted | confidence |", "|---|---|---|---|---|"]
    for e in errors[:200]:
        text = e["text"].replace("|", "\\|")
        lines.append(f"| {text} | {e['lang']} | {e['intent']} | {e['pred_intent']} | {e['confidence']:.2f} |")
    return "\n".join(lines) + "\n"
