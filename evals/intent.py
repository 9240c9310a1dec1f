"""The intent-accuracy harness (contract in DESIGN.md).

    python -m evals.intent --data FILE.jsonl [--json-out METRICS.json] [--predictions OUT.jsonl]
                           [--mode router|llm|cascade]
    python -m evals.intent --split challenge [...]   # or --split dev: the files of evals/data by name

``--split dev`` and ``--split challenge3`` (the third blind set, written by hand as scenario conversations,
committed before any run) are held out: the router refuses to train on them (and on ``challenge4``).
``--split challenge`` (style × intent templates) and ``--split challenge2`` (hand-written personas) are
RETIRED from measuring: their errors were read in earlier rounds, and the router now TRAINS on them
(``Settings.router_train_paths``, evals/data/ANNOTATION.md). They still run, with a warning, and their
figures are training-set figures, not a measure of unseen wording.
``--split challenge4`` is the fourth blind set, written by hand as task cards × register × length
(held out too).

``router`` (the default) is the local router alone and runs offline. ``llm`` asks the LLM tier for
every utterance (a forced ``route`` call); ``cascade`` is what a turn does: the router first, the LLM
for what the router escalates (``LLMTier.should_escalate``). Both need an LLM: ``LUI_LLM_MODEL``
(and ``LUI_LLM_BASE_URL`` for a self-hosted server), or ``--llm-model``/``--llm-base-url``.

Unless ``--no-outcome``, also reports what each turn *ends as*: a ``lookup_service`` prediction whose
service search finds nothing well enough (the retriever's calibrated no-match rule, on the packaged
catalogue ingested into an in-memory Qdrant) is answered as out of scope, so it counts as
``out_of_scope`` in ``outcome_accuracy`` / ``outcome_oos_recall`` (predictions add ``outcome_intent``).
The router-only figures are unchanged by it.

Also writes a Markdown report and a confusion-matrix PNG next to the metrics (or in evals/out/).
Runs offline on the embedded defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from assistant.nlu.data import load_examples
from assistant.nlu.types import INTENTS, OUT_OF_SCOPE, Understanding
from assistant.settings import Settings
from evals.metrics import Scored, compute_metrics, confusion, outcome_metrics, percentile
from evals.report import errors_by_intent, markdown_report, write_confusion_png

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLITS = {"train": DATA_DIR / "intent_train.jsonl", "dev": DATA_DIR / "intent_dev.jsonl",
          "challenge": DATA_DIR / "intent_challenge.jsonl", "challenge2": DATA_DIR / "intent_challenge2.jsonl",
          "challenge3": DATA_DIR / "intent_challenge3.jsonl", "challenge4": DATA_DIR / "intent_challenge4.jsonl"}
RETIRED_SPLITS = ("challenge", "challenge2")  # trained on now (evals/data/ANNOTATION.md)
TRAINED_ON = (
    "warning: {name} is a TRAINING source of the router now (retired from measuring, evals/data/ANNOTATION.md):"
    " these figures are training-set figures, not a measure of wording it has never seen"
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.intent", description=__doc__.split("\n")[0])
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", type=Path, help="labelled JSONL (text, lang, intent, slots)")
    data.add_argument("--split", choices=sorted(SPLITS), help="a data set of evals/data by name: dev, challenge3, challenge4 (held out); "
                      "challenge, challenge2 (retired: trained on)")
    parser.add_argument("--json-out", type=Path, help="write metrics JSON here")
    parser.add_argument("--predictions", type=Path, help="write one prediction per input line here")
    parser.add_argument("--mode", choices=["router", "llm", "cascade"], default="router",
                        help="which tier understands: router (default, offline), llm, or cascade (router, then LLM)")
    parser.add_argument("--llm-model", help="override LUI_LLM_MODEL (a litellm model string) for llm/cascade")
    parser.add_argument("--llm-base-url", help="override LUI_LLM_BASE_URL for llm/cascade")
    parser.add_argument("--embedder", help="override LUI_EMBEDDER (use | st | st:<path>)")
    parser.add_argument("--train", type=Path, help="override the router's training file")
    parser.add_argument("--report", type=Path, help="Markdown report path (default: next to --json-out)")
    parser.add_argument("--no-outcome", action="store_true",
                        help="skip the outcome figures (they search the service catalogue for lookup_service)")
    parser.add_argument("--no-plot", action="store_true", help="skip the confusion-matrix PNG")
    args = parser.parse_args(argv)
    args.data = args.data or SPLITS[args.split]
    return args


NEEDS_LLM = (
    "--mode {mode} needs an LLM provider, and none is configured.\n"
    "Set LUI_LLM_MODEL to a litellm model string (e.g. openai/gpt-4o-mini, dashscope/qwen-plus, ollama/qwen2.5)"
    " and, for a self-hosted or local server, LUI_LLM_BASE_URL (plus LUI_LLM_API_KEY if it wants a key),\n"
    "or pass --llm-model / --llm-base-url. `--mode router` (the default) needs no LLM and runs offline."
)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {k: v for k, v in {"embedder": args.embedder, "router_train_path": args.train,
                                   "llm_model": args.llm_model, "llm_base_url": args.llm_base_url}.items() if v}
    settings = Settings(**overrides)
    if args.mode != "router" and not settings.llm_model:
        print(NEEDS_LLM.format(mode=args.mode), file=sys.stderr)
        return 2
    examples = load_examples(args.data, strict=False)
    if not examples:
        print(f"no examples in {args.data}", file=sys.stderr)
        return 2

    config: dict = {"mode": args.mode, "data": str(args.data), "intents": list(INTENTS)}
    if warning := trained_on_warning(args.data, settings):
        print(warning, file=sys.stderr)
        config["trained_on"] = True
    unknown = sorted({e.intent for e in examples} - set(INTENTS))  # labels not in the intent table
    if unknown:
        print(f"warning: labels not in the intent table (always scored wrong): {', '.join(unknown)}", file=sys.stderr)
        config["unknown_labels"] = unknown
    router = None
    if args.mode in ("router", "cascade"):
        from assistant.nlu.router import build_router

        started = time.perf_counter()
        router = build_router(settings)
        build_s = time.perf_counter() - started
        router.understand("warm up")  # first call pays one-off costs; not a user's latency
        config.update({
            "train": [str(p) for p in settings.router_training_files],
            "embedder": router.embedder.name,
            "oos_threshold": router.config.oos_threshold,
            "second_stage": None if router.second_config is None else {
                "embedder": router.second_embedder.name, "escalate_below": router.config.escalate_below,
                "oos_threshold": router.second_config.oos_threshold, "c": router.second_config.c,
                "weights": [router.second_config.dense_weight, router.second_config.second_weight]},
            "clarify_below": settings.router_min_confidence,
            "classifier": f"logreg C={router.config.c}, dense weight {router.config.dense_weight}, char 1-3 tf-idf",
            "train_cv_accuracy": round(router.config.cv_accuracy, 4),
            "router_build_s": round(build_s, 2),
        })
    if args.mode == "router":
        rows, predictions = [], []
        for ex in examples:
            t0 = time.perf_counter()
            result = router.understand(ex.text)
            latency_ms = (time.perf_counter() - t0) * 1000
            _record(rows, predictions, ex, result, latency_ms)
    else:
        rows, predictions = _predict_with_llm(settings, examples, router, config)

    metrics = compute_metrics(rows)
    if args.mode == "router" and router.second_config is not None:
        metrics["second_stage"] = stage_latency(router, examples, rows)
    if not args.no_outcome:
        retriever = _catalogue_retriever(settings, router.embedder if router is not None else None, config)
        if retriever is not None:
            metrics.update(outcome_metrics(rows, _outcomes(retriever, predictions)))
    errors = [p for p in predictions if p["intent"] != p["pred_intent"]]
    metrics["errors_by_intent"] = errors_by_intent(errors)
    metrics["config"] = config

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
    report = args.report or out_dir / f"{stem}-report.md"
    report.write_text(markdown_report(metrics, errors, png_name), encoding="utf-8")

    summary = {k: metrics[k] for k in ("n", "accuracy", "macro_f1", "oos_recall", "slot_f1", "latency_ms")}
    summary["per_lang"] = {k: v["accuracy"] for k, v in metrics["per_lang"].items()}
    summary.update({k: v for k, v in metrics.items() if k.startswith("outcome_") or k == "second_stage"})
    print(json.dumps(summary, ensure_ascii=False))
    print(f"report: {report}", file=sys.stderr)
    return 0


def stage_latency(router, examples, rows: list[Scored]) -> dict:
    """Which stage read each utterance (a batch re-reading, outside the timed loop) and the latency of each:
    the p95 of wording the fast stage is unsure about is the second stage's cost."""
    second = [config is not router.config for _, config in router.readings([e.text for e in examples])]
    out: dict = {"share": round(sum(second) / max(1, len(second)), 4)}
    for name, flag in (("first", False), ("second", True)):
        ms = [r.latency_ms for r, s in zip(rows, second, strict=True) if s is flag]
        out[name] = {"n": len(ms), "p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2)}
    return out


def trained_on_warning(data: Path, settings: Settings) -> str | None:
    """The warning for a data file the router learns from (a retired challenge set), else None."""
    trained_on = {Path(p).resolve() for p in settings.router_training_files}
    return TRAINED_ON.format(name=data.name) if Path(data).resolve() in trained_on else None


def _record(rows: list, predictions: list, ex, result: Understanding, latency_ms: float) -> None:
    rows.append(Scored(ex.text, ex.lang, ex.intent, result.intent, ex.slots, result.slots, latency_ms))
    predictions.append({
        "text": ex.text, "lang": ex.lang, "intent": ex.intent, "slots": ex.slots,
        "pred_intent": result.intent, "pred_slots": result.slots,
        "confidence": result.confidence, "source": result.source,
    })


def _catalogue_retriever(settings: Settings, embedder, config: dict):
    """The service retriever on the packaged catalogue, ingested into an in-memory Qdrant (nothing
    on disk, no lock shared with a running server); None, with a warning, if it cannot be built."""
    try:
        from qdrant_client import QdrantClient

        from knowledge.embedders import make_embedder
        from knowledge.ingest import ingest
        from knowledge.retrieval import ServiceRetriever
        from knowledge.store import ServiceStore

        embedder = embedder or make_embedder(settings.embedder, threads=settings.embedder_threads)
        store = ServiceStore(QdrantClient(location=":memory:"), where="Qdrant in memory")
        started = time.perf_counter()
        report = ingest(embedder, store)
        retriever = ServiceRetriever(embedder, store)
    except Exception as exc:  # the router figures stand on their own
        print(f"warning: no outcome figures, the service retriever could not be built: {exc}", file=sys.stderr)
        return None
    config["outcome"] = {"retriever": retriever.mode, "min_dense": retriever.min_score,
                         "min_sparse": retriever.min_sparse, "documents": report.added + report.unchanged + report.updated,
                         "ingest_s": round(time.perf_counter() - started, 2)}
    return retriever


def _outcomes(retriever, predictions: list[dict]) -> list[str]:
    """What each turn ends as: a lookup_service whose search finds no match is out of scope (the
    ``lookup_service`` tool's rule). Adds ``outcome_intent`` (and the service found) to predictions."""
    outcomes = []
    for p in predictions:
        outcome = p["pred_intent"]
        if outcome == "lookup_service":
            lang = p["lang"] if p["lang"] in ("zh", "en") else None  # the session's language, as a client sets it
            result = retriever.search((p["pred_slots"] or {}).get("query") or p["text"], lang)
            if result.best is None:
                outcome = OUT_OF_SCOPE
            else:
                p["outcome_service"] = result.best.id
        p["outcome_intent"] = outcome
        outcomes.append(outcome)
    return outcomes


def _predict_with_llm(settings: Settings, examples, router, config: dict) -> tuple[list, list]:
    """``llm``: the LLM reads every utterance. ``cascade``: the router, then the LLM when it escalates.
    A failed LLM call keeps the router's answer (cascade) or predicts out_of_scope (llm), and is counted."""
    from assistant.llm import LLMError, build_llm
    from tools import build_registry

    tier = build_llm(settings, build_registry())
    assert tier is not None
    config.update(tier.config())
    config["llm_base_url"] = settings.llm_base_url
    rows: list = []
    predictions: list = []
    escalated = errors = 0
    with asyncio.Runner() as runner:  # one event loop for all calls: litellm keeps its HTTP clients per loop
        try:
            runner.run(tier.understand("warm up"))  # first call pays one-off costs; not a user's latency
        except LLMError as exc:
            print(f"warning: the warm-up LLM call failed ({exc.code}): {exc.message}", file=sys.stderr)
        for ex in examples:
            t0 = time.perf_counter()
            result = router.understand(ex.text) if router is not None else None
            if result is None or tier.should_escalate(ex.text, result):
                escalated += 1
                try:
                    result = runner.run(tier.understand(ex.text))
                except LLMError as exc:
                    errors += 1
                    if errors <= 3:
                        print(f"LLM call failed ({exc.code}): {exc.message}", file=sys.stderr)
                    result = result or Understanding(intent=OUT_OF_SCOPE, confidence=0.0, source="llm")
            _record(rows, predictions, ex, result, (time.perf_counter() - t0) * 1000)
    config.update({"llm_calls": escalated, "llm_share": round(escalated / len(examples), 4), "llm_errors": errors})
    return rows, predictions


if __name__ == "__main__":
    raise SystemExit(main())
