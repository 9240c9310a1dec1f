"""The harness computes metrics correctly on a tiny hand-checked set, and runs end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.metrics import Scored, compute_metrics

REPO = Path(__file__).resolve().parents[2]

ROWS = [
    Scored("a", "zh", "pay_bill", "pay_bill", {"bill_type": "electricity", "amount": 120},
           {"bill_type": "electricity", "amount": 120.0}, 1.0),
    Scored("b", "zh", "query_bill", "pay_bill", {"bill_type": "water"}, {"bill_type": "water"}, 2.0),
    Scored("c", "en", "out_of_scope", "out_of_scope", {}, {}, 3.0),
    Scored("d", "en", "out_of_scope", "greet", {}, {}, 4.0),
    Scored("e", "en", "translate", "translate", {"text": "thank you", "target_lang": "zh"},
           {"text": "Thank you", "target_lang": "zh"}, 5.0),
    Scored("f", "en", "greet", "greet", {}, {"account": "1234", "query": "ignored"}, 6.0),
]


def test_metrics_by_hand():
    m = compute_metrics(ROWS)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert m["per_lang"]["zh"]["accuracy"] == 0.5 and m["per_lang"]["en"]["accuracy"] == 0.75
    assert m["oos_recall"] == 0.5
    # slots: 5 true positives (amount 120 == 120.0, text compared case-insensitively), 1 false positive
    assert m["slot_precision"] == pytest.approx(5 / 6, abs=1e-4)
    assert m["slot_recall"] == 1.0
    assert m["slot_f1"] == pytest.approx(10 / 11, abs=1e-4)
    assert m["per_intent"]["pay_bill"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert m["per_intent"]["query_bill"]["f1"] == 0.0
    assert m["per_intent"]["greet"]["precision"] == 0.5
    assert m["macro_f1"] == pytest.approx(0.6, abs=1e-3)
    assert m["latency_ms"]["p50"] == pytest.approx(3.5)


def test_harness_command_writes_metrics_predictions_report_and_png(tmp_path, shared_cache, router):  # cached
    data = tmp_path / "tiny.jsonl"
    rows = [
        {"text": "帮我交电费", "lang": "zh", "intent": "pay_bill", "slots": {"bill_type": "electricity"}},
        {"text": "what's my balance", "lang": "en", "intent": "check_balance", "slots": {}, "extra": 1},
        {"text": "给我讲个笑话", "lang": "zh", "intent": "out_of_scope", "slots": {}},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out, preds = tmp_path / "m.json", tmp_path / "p.jsonl"
    env = {"LUI_CACHE_PATH": str(shared_cache), "LUI_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "evals.intent", "--data", str(data), "--json-out", str(out),
                    "--predictions", str(preds)], cwd=REPO, env=env, check=True, capture_output=True, timeout=600)
    metrics = json.loads(out.read_text(encoding="utf-8"))
    for key in ("n", "accuracy", "macro_f1", "per_intent", "per_lang", "oos_recall", "slot_f1", "latency_ms", "config"):
        assert key in metrics
    assert metrics["n"] == 3 and metrics["config"]["mode"] == "router"
    stages = metrics["second_stage"]  # which stage read each line, with each stage's latency
    assert stages["first"]["n"] + stages["second"]["n"] == 3 and 0 <= stages["share"] <= 1
    assert stages["share"] == round(stages["second"]["n"] / 3, 4)
    lines = [json.loads(x) for x in preds.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3 and {"pred_intent", "pred_slots", "confidence", "source"} <= set(lines[0])
    assert (tmp_path / "m-confusion.png").stat().st_size > 1000
    assert "Intent accuracy report" in (tmp_path / "m-report.md").read_text(encoding="utf-8")


def test_outcome_metrics_by_hand():
    from evals.metrics import outcome_metrics

    rows = [Scored("taboo", "en", "out_of_scope", "lookup_service"), Scored("发票", "zh", "lookup_service", "lookup_service"),
            Scored("电费", "zh", "pay_bill", "pay_bill"), Scored("bus pass", "en", "lookup_service", "lookup_service")]
    m = outcome_metrics(rows, ["out_of_scope", "lookup_service", "pay_bill", "out_of_scope"])
    assert m["outcome_accuracy"] == 0.75 and m["outcome_oos_recall"] == 1.0 and m["outcome_changed"] == 2
    assert m["outcome_per_lang"] == {"en": 0.5, "zh": 1.0}
    assert compute_metrics(rows)["oos_recall"] == 0.0  # the router's own figures are not touched


def test_a_lookup_without_a_matching_service_ends_out_of_scope(retriever):
    """The outcome rule on predictions written by hand (the router's reading is not the point here)."""
    from evals.intent import _outcomes

    predictions = [
        {"text": "find instructions on how to play taboo", "lang": "en", "pred_intent": "lookup_service",
         "pred_slots": {"query": "find instructions on how to play taboo"}},
        {"text": "怎么开电子发票", "lang": "zh", "pred_intent": "lookup_service", "pred_slots": {"query": "怎么开电子发票"}},
        {"text": "帮我交电费", "lang": "zh", "pred_intent": "pay_bill", "pred_slots": {"bill_type": "electricity"}},
    ]
    assert _outcomes(retriever, predictions) == ["out_of_scope", "lookup_service", "pay_bill"]
    assert predictions[1]["outcome_service"] == "e-invoice" and "outcome_service" not in predictions[0]


def test_harness_reports_the_router_label_and_the_outcome(tmp_path, shared_cache):
    """The harness adds the outcome figures next to the router's own, which they do not change."""
    data = tmp_path / "lookups.jsonl"
    rows = [
        {"text": "find instructions on how to play taboo", "lang": "en", "intent": "out_of_scope", "slots": {}},
        {"text": "怎么开电子发票", "lang": "zh", "intent": "lookup_service", "slots": {}},
        {"text": "帮我交电费", "lang": "zh", "intent": "pay_bill", "slots": {"bill_type": "electricity"}},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out, preds = tmp_path / "m.json", tmp_path / "p.jsonl"
    env = {"LUI_CACHE_PATH": str(shared_cache), "LUI_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "evals.intent", "--data", str(data), "--json-out", str(out),
                           "--predictions", str(preds), "--no-plot"], cwd=REPO, env=env, check=True,
                          capture_output=True, text=True, timeout=600)
    metrics = json.loads(out.read_text(encoding="utf-8"))
    lines = [json.loads(x) for x in preds.read_text(encoding="utf-8").splitlines()]
    router_right = sum(p["pred_intent"] == p["intent"] for p in lines)
    assert metrics["accuracy"] == pytest.approx(router_right / 3, abs=1e-4)  # the router's own figure
    assert metrics["outcome_accuracy"] == 1.0 and metrics["outcome_oos_recall"] == 1.0
    assert metrics["config"]["outcome"]["documents"] > 100
    assert [p["outcome_intent"] for p in lines] == ["out_of_scope", "lookup_service", "pay_bill"]
    assert lines[1]["outcome_service"] == "e-invoice"
    assert '"outcome_accuracy": 1.0' in done.stdout
    assert not (tmp_path / "data" / "qdrant").exists()  # the catalogue was ingested in memory
    assert "outcome accuracy" in (tmp_path / "m-report.md").read_text(encoding="utf-8")
    assert "Errors per class" in (tmp_path / "m-report.md").read_text(encoding="utf-8")
