"""Intent-accuracy metrics: pure functions over gold and predicted rows (tested on a tiny file)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from assistant.nlu.types import OUT_OF_SCOPE

# `query` is measured by the retrieval eval, not here (see evals/data/ANNOTATION.md)
SCORED_SLOTS = ("bill_type", "amount", "account", "text", "target_lang", "source_lang")


@dataclass(frozen=True)
class Scored:
    text: str
    lang: str
    intent: str
    pred_intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    pred_slots: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = 0.0


def slot_pairs(slots: dict[str, Any]) -> set[tuple[str, Any]]:
    from assistant.nlu.slots import normalize_slot_value

    return {(k, normalize_slot_value(k, v)) for k, v in slots.items() if k in SCORED_SLOTS and v is not None}


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else 0.0


def compute_metrics(rows: Sequence[Scored]) -> dict[str, Any]:
    n = len(rows)
    labels = sorted({r.intent for r in rows} | {r.pred_intent for r in rows})
    per_intent: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(r.intent == label and r.pred_intent == label for r in rows)
        fp = sum(r.intent != label and r.pred_intent == label for r in rows)
        fn = sum(r.intent == label and r.pred_intent != label for r in rows)
        p, rec, f1 = _prf(tp, fp, fn)
        per_intent[label] = {
            "precision": round(p, 4), "recall": round(rec, 4), "f1": round(f1, 4),
            "support": sum(r.intent == label for r in rows),
        }
    gold_labels = [lab for lab in labels if per_intent[lab]["support"] > 0]
    langs = Counter(r.lang for r in rows)
    per_lang = {
        lang: {"n": count, "accuracy": round(sum(r.intent == r.pred_intent for r in rows if r.lang == lang) / count, 4)}
        for lang, count in sorted(langs.items())
    }
    tp = fp = fn = 0
    for r in rows:
        gold, pred = slot_pairs(r.slots), slot_pairs(r.pred_slots)
        tp += len(gold & pred)
        fp += len(pred - gold)
        fn += len(gold - pred)
    slot_p, slot_r, slot_f1 = _prf(tp, fp, fn)
    latencies = [r.latency_ms for r in rows]
    return {
        "n": n,
        "accuracy": round(sum(r.intent == r.pred_intent for r in rows) / n, 4) if n else 0.0,
        "macro_f1": round(float(np.mean([per_intent[lab]["f1"] for lab in gold_labels])), 4) if gold_labels else 0.0,
        "per_intent": per_intent,
        "per_lang": per_lang,
        "oos_recall": per_intent.get(OUT_OF_SCOPE, {}).get("recall", 0.0),
        "slot_f1": round(slot_f1, 4),
        "slot_precision": round(slot_p, 4),
        "slot_recall": round(slot_r, 4),
        "latency_ms": {"p50": round(percentile(latencies, 50), 3), "p95": round(percentile(latencies, 95), 3)},
    }


def outcome_metrics(rows: Sequence[Scored], outcomes: Sequence[str]) -> dict[str, Any]:
    """The same figures for what each turn ends as (``outcomes``, one label per row) instead of the
    router's label: a ``lookup_service`` that finds no catalogue service ends ``out_of_scope``."""
    final = [replace(r, pred_intent=o) for r, o in zip(rows, outcomes, strict=True)]
    m = compute_metrics(final)
    return {
        "outcome_accuracy": m["accuracy"],
        "outcome_macro_f1": m["macro_f1"],
        "outcome_oos_recall": m["oos_recall"],
        "outcome_per_lang": {lang: row["accuracy"] for lang, row in m["per_lang"].items()},
        "outcome_changed": sum(r.pred_intent != o for r, o in zip(rows, outcomes, strict=True)),
    }


def confusion(rows: Sequence[Scored]) -> tuple[list[str], np.ndarray]:
    labels = sorted({r.intent for r in rows} | {r.pred_intent for r in rows})
    index = {lab: i for i, lab in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for r in rows:
        matrix[index[r.intent], index[r.pred_intent]] += 1
    return labels, matrix


def machine() -> str:
    """The machine a figure was measured on, for every benchmark's JSON."""
    import os
    import platform

    return f"{platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"


def save_result(result: dict[str, Any], path, *, echo: bool = True) -> None:
    """Write a benchmark's result as JSON (creating the folder) and print it."""
    import json
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    path.write_text(text, encoding="utf-8")
    if echo:
        print(text)
