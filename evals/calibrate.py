"""Calibrate the cascade's thresholds on out-of-fold router predictions of the training set.

    python -m evals.calibrate [--llm-accuracy 0.9] [--out evals/out/calibration]

The router is cross-validated on intent_train.jsonl (k folds, the same grid and OOS threshold as
training): every training utterance gets the reading of a router that never saw it. For each point of a
grid of cascade thresholds — escalate below confidence ``c``, or when longer than ``zh``/``en``
characters (plus the fixed compound and service-word rules, ``assistant.llm.cascade.escalation_reason``)
— the expected accuracy is: the router's answer where it is kept, ``--llm-accuracy`` where it escalates
(the LLM's accuracy is an assumption: measure yours with ``python -m evals.intent --mode llm``).

Prints accuracy vs escalation rate, writes ``<out>.json`` and a PNG curve ``<out>.png`` (outside git),
and names the chosen point: the best ``accuracy - call_cost × escalation`` (``--call-cost``, default
0.1: an LLM call, its latency and its price, is worth a tenth of a right answer; 0 maximises accuracy
alone), the lower escalation rate on a tie. Its values are the defaults of
``Settings.llm_escalate_below`` / ``llm_long_chars_zh`` / ``llm_long_chars_en``. Out-of-fold accuracy
on the training set is lower than on dev (each fold misses a fifth of the data), so the curve is a
pessimistic view of the router: an operator can pick a point with less escalation from the PNG.
Dev and challenge are never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant.llm.cascade import escalation_reason
from assistant.nlu.router import named_payment, relabel
from assistant.nlu.types import OUT_OF_SCOPE

CONFIDENCE_GRID = tuple(round(x, 2) for x in np.arange(0.0, 0.96, 0.05))
ZH_GRID = (20, 30, 40, 60, 80)
EN_GRID = (60, 90, 120, 160, 240)


@dataclass(frozen=True)
class Reading:
    """One training utterance as an out-of-fold router read it."""

    text: str
    gold: str
    pred: str
    confidence: float


@dataclass(frozen=True)
class Point:
    min_confidence: float
    long_chars_zh: int
    long_chars_en: int
    escalation: float  # share of utterances sent to the LLM
    accuracy: float  # expected, with the assumed LLM accuracy on what escalates


def readings(texts: Sequence[str], gold: Sequence[str], probs: np.ndarray, labels: Sequence[str],
             oos_threshold: float) -> list[Reading]:
    """The router's decision on each row of class probabilities (as ``IntentRouter.decide`` makes it
    without context): the top class, out of scope under the OOS threshold, then the parser rules."""
    out = []
    for text, g, row in zip(texts, gold, probs, strict=True):
        best = int(np.argmax(row))
        pred, confidence = labels[best], float(row[best])
        if pred != OUT_OF_SCOPE and confidence < oos_threshold and not named_payment(text, pred):
            pred, confidence = OUT_OF_SCOPE, 1.0 - confidence
        pred = relabel(text, pred)
        out.append(Reading(text, g, pred, confidence))
    return out


def sweep(items: Sequence[Reading], llm_accuracy: float, confidences: Sequence[float] = CONFIDENCE_GRID,
          zh_limits: Sequence[int] = ZH_GRID, en_limits: Sequence[int] = EN_GRID) -> list[Point]:
    """Expected cascade accuracy and escalation rate at every grid point."""
    right = np.array([r.pred == r.gold for r in items], dtype=float)
    points = []
    for zh in zh_limits:
        for en in en_limits:
            for c in confidences:
                up = np.array([escalation_reason(r.text, r.pred, r.confidence, min_confidence=c, long_chars_zh=zh,
                                                 long_chars_en=en) is not None for r in items])
                accuracy = float(np.where(up, llm_accuracy, right).mean())
                points.append(Point(c, zh, en, round(float(up.mean()), 4), round(accuracy, 4)))
    return points


def choose(points: Sequence[Point], call_cost: float = 0.0) -> Point:
    """The best expected accuracy less ``call_cost`` per escalation; on a tie the lower escalation
    rate, then the longer length limits."""
    return max(points, key=lambda p: (round(p.accuracy - call_cost * p.escalation, 6), -p.escalation,
                                      p.long_chars_zh, p.long_chars_en))


def write_png(points: Sequence[Point], chosen: Point, router_accuracy: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = sorted((p for p in points if (p.long_chars_zh, p.long_chars_en) == (chosen.long_chars_zh,
                                                                                  chosen.long_chars_en)),
                   key=lambda p: p.min_confidence)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.scatter([p.escalation for p in points], [p.accuracy for p in points], s=6, color="#bbbbbb",
               label="other length limits")
    ax.plot([p.escalation for p in curve], [p.accuracy for p in curve], marker="o", markersize=3,
            label=f"confidence sweep (zh > {chosen.long_chars_zh}, en > {chosen.long_chars_en} chars escalate)")
    for p in curve[::4]:
        ax.annotate(f"{p.min_confidence:.2f}", (p.escalation, p.accuracy), fontsize=7, xytext=(3, -9),
                    textcoords="offset points")
    ax.axhline(router_accuracy, color="gray", linestyle="--", linewidth=1, label="router alone")
    ax.scatter([chosen.escalation], [chosen.accuracy], color="red", zorder=3,
               label=f"chosen: below {chosen.min_confidence:.2f}")
    ax.set_xlabel("escalation rate (share of utterances sent to the LLM)")
    ax.set_ylabel("expected accuracy")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--llm-accuracy", type=float, default=0.9,
                        help="the LLM's assumed accuracy on what escalates (default 0.9)")
    parser.add_argument("--call-cost", type=float, default=0.1,
                        help="what one escalation costs, in right answers (default 0.1)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--embedder", help="override LUI_EMBEDDER")
    parser.add_argument("--out", type=Path, default=Path("evals/out/calibration"),
                        help="writes <out>.json and <out>.png (default evals/out/calibration)")
    args = parser.parse_args(argv)

    from assistant.nlu.data import load_training_sources
    from assistant.nlu.router import IntentRouter
    from assistant.settings import Settings
    from knowledge.embedders import make_embedder

    settings = Settings(**({"embedder": args.embedder} if args.embedder else {}))
    examples = load_training_sources(settings.router_training_files)
    embedder = make_embedder(settings.embedder, threads=settings.embedder_threads)
    oof, config, labels = IntentRouter.out_of_fold(examples, embedder, folds=args.folds)
    items = readings([e.text for e in examples], [e.intent for e in examples], oof, labels, config.oos_threshold)
    router_accuracy = float(np.mean([r.pred == r.gold for r in items]))
    points = sweep(items, args.llm_accuracy)
    chosen = choose(points, args.call_cost)

    print(f"{len(items)} training utterances, {args.folds}-fold; router alone {router_accuracy:.4f}; "
          f"assumed LLM accuracy {args.llm_accuracy}, cost of a call {args.call_cost}")
    print("escalate below | escalation | expected accuracy   (length limits of the chosen point)")
    for p in points:
        if (p.long_chars_zh, p.long_chars_en) == (chosen.long_chars_zh, chosen.long_chars_en):
            print(f"{p.min_confidence:14.2f} | {p.escalation:10.3f} | {p.accuracy:.4f}")
    print(f"chosen: llm_escalate_below={chosen.min_confidence} llm_long_chars_zh={chosen.long_chars_zh} "
          f"llm_long_chars_en={chosen.long_chars_en} (escalation {chosen.escalation:.3f}, "
          f"expected accuracy {chosen.accuracy:.4f})")
    result = {"train": str(settings.router_train_path), "folds": args.folds, "router": asdict(config),
              "router_accuracy": round(router_accuracy, 4), "llm_accuracy": args.llm_accuracy,
              "call_cost": args.call_cost,
              "chosen": asdict(chosen), "points": [asdict(p) for p in points]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    png = args.out.with_suffix(".png")
    write_png(points, chosen, router_accuracy, png,
              f"cascade thresholds on {args.folds}-fold out-of-fold predictions (train, n={len(items)})")
    print(f"written: {args.out.with_suffix('.json')}, {png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
