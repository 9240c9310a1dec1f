"""The intent-accuracy harness (contract in DESIGN.md).

    python -m evals.intent --data FILE.jsonl [--json-out METRICS.json] [--predictions OUT.jsonl]

Also writes a Markdown report and a confusion-matrix PNG next to the metrics (or in evals/out/).
Runs offline on the embedded defaults.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from assistant.nlu.data import load_examples
from assistant.settings import Settings
from evals.metrics import Scored, compute_metrics, confusion
from evals.report import markdown_report, write_confusion_png


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.intent", description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="labelled JSONL (text, lang, intent, slots)")
    parser.add_argument("--json-out", type=Path, help="write metrics JSON here")
    parser.add_argument("--predictions", type=Path, help="write one prediction per input line here")
    parser.add_argument("--mode", choices=["router"], default="router", help="which tier understands")
    parser.add_argument("--embedder", help="override LUI_EMBEDDER (use | st | st:<path>)")
    parser.add_argument("--train", type=Path, help="override the router's training file")
    parser.add_argument("--report", type=Path, help="Markdown report path (default: next to --json-out)")
    parser.add_argument("--no-plot", action="store_true", help="skip the confusion-matrix PNG")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {k: v for k, v in {"embedder": args.embedder, "router_train_path": args.train}.items() if v}
    settings = Settings(**overrides)
    examples = load_examples(args.data, strict=False)
    if not examples:
        print(f"no examples in {args.data}", file=sys.stderr)
        return 2

    from assistant.nlu.router import build_router

    started = time.perf_counter()
    router = build_router(settings)
    build_s = time.perf_counter() - started
    router.understand("warm up")  # first call pays one-off costs; not a user's latency

    rows, predictions = [], []
    for ex in examples:
        t0 = time.perf_counter()
        result = router.understand(ex.text)
        latency_ms = (time.perf_counter() - t0) * 1000
        rows.append(Scored(ex.text, ex.lang, ex.intent, result.intent, ex.slots, result.slots, latency_ms))
        predictions.append({
            "text": ex.text, "lang": ex.lang, "intent": ex.intent, "slots": ex.slots,
            "pred_intent": result.intent, "pred_slots": result.slots,
            "confidence": result.confidence, "source": result.source,
        })

    metrics = compute_metrics(rows)
    metrics["config"] = {
        "mode": args.mode,
        "data": str(args.data),
        "train": str(settings.router_train_path),
        "embedder": router.embedder.name,
        "oos_threshold": router.config.oos_threshold,
        "clarify_below": settings.router_min_confidence,
        "classifier": f"logreg C={router.config.c}, dense weight {router.config.dense_weight}, char 1-3 tf-idf",
        "train_cv_accuracy": round(router.config.cv_accuracy, 4),
        "router_build_s": round(build_s, 2),
    }

    out_dir = (args.json_out.parent if args.json_out else Path("evals/out"))
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.json_out.stem if args.json_out else f"intent-{args.data.stem}"
    if args.json_out:
        args.json_out.write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.predictions:
        args.predictions.parent.mkdir(parents=True, exist_ok=True)
        with args.predictions.open("w", encoding="utf-8") as handle:
            for row in predictions:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    png_name = None
    if not args.no_plot:
        png = out_dir / f"{stem}-confusion.png"
        labels, matrix = confusion(rows)
        write_confusion_png(labels, matrix, png, f"{args.data.name}: accuracy {metrics['accuracy']:.3f}")
        png_name = png.name
    errors = [p for p in predictions if p["intent"] != p["pred_intent"]]
    report = args.report or out_dir / f"{stem}-report.md"
    report.write_text(markdown_report(metrics, errors, png_name), encoding="utf-8")

    summary = {k: metrics[k] for k in ("n", "accuracy", "macro_f1", "oos_recall", "slot_f1", "latency_ms")}
    summary["per_lang"] = {k: v["accuracy"] for k, v in metrics["per_lang"].items()}
    print(json.dumps(summary, ensure_ascii=False))
    print(f"report: {report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
