"""The intent harness in llm and cascade modes, against the fake provider answering with gold labels."""

from __future__ import annotations

import json

import pytest

from evals import intent
from tests.llm.fake_openai import route_oracle

ROWS = [
    {"text": "帮我交电费", "lang": "zh", "intent": "pay_bill", "slots": {"bill_type": "electricity"}},
    {"text": "what's my balance", "lang": "en", "intent": "check_balance", "slots": {}},
    {"text": "给我讲个笑话", "lang": "zh", "intent": "out_of_scope", "slots": {}},
    {"text": "我想问一下医保的事", "lang": "zh", "intent": "lookup_service", "slots": {"query": "我想问一下医保的事"}},
    {"text": "查一下水费然后交了", "lang": "zh", "intent": "pay_bill", "slots": {"bill_type": "water"}},
]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def env(monkeypatch, tmp_path, shared_cache):
    for name in ("LUI_LLM_MODEL", "LUI_LLM_BASE_URL", "LUI_LLM_API_KEY", "LUI_LLM_FALLBACKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LUI_CACHE_PATH", str(shared_cache))
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.fixture
def oracle(fake):
    fake.responder = route_oracle({r["text"]: (r["intent"], r["slots"]) for r in ROWS})
    return fake


@pytest.mark.parametrize("mode", ["llm", "cascade"])
def test_llm_modes_say_what_they_need(env, data, mode, capsys):
    assert intent.main(["--data", str(data), "--mode", mode]) == 2
    err = capsys.readouterr().err
    assert "LUI_LLM_MODEL" in err and "LUI_LLM_BASE_URL" in err and "--mode router" in err


def test_llm_mode_asks_the_model_for_every_utterance(env, data, oracle, tmp_path, monkeypatch):
    monkeypatch.setenv("LUI_LLM_API_KEY", "sk-fake")
    out = tmp_path / "m.json"
    code = intent.main(["--data", str(data), "--mode", "llm", "--llm-model", oracle.model("oracle"),
                        "--llm-base-url", oracle.base_url, "--json-out", str(out), "--no-plot"])
    assert code == 0
    metrics = json.loads(out.read_text(encoding="utf-8"))
    assert metrics["accuracy"] == 1.0 and metrics["slot_f1"] == 1.0
    assert metrics["config"]["mode"] == "llm" and metrics["config"]["llm_calls"] == len(ROWS)
    assert metrics["config"]["llm_errors"] == 0 and len(oracle.requests) == len(ROWS) + 1  # + warm-up


def test_cascade_mode_escalates_only_what_the_router_is_unsure_of(env, data, oracle, tmp_path, router, monkeypatch):
    monkeypatch.setenv("LUI_LLM_API_KEY", "sk-fake")
    out, preds = tmp_path / "m.json", tmp_path / "p.jsonl"
    code = intent.main(["--data", str(data), "--mode", "cascade", "--llm-model", oracle.model("oracle"),
                        "--llm-base-url", oracle.base_url, "--json-out", str(out), "--predictions", str(preds),
                        "--no-plot"])
    assert code == 0
    metrics = json.loads(out.read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in preds.read_text(encoding="utf-8").splitlines()]
    sources = {r["text"]: r["source"] for r in rows}
    assert sources["查一下水费然后交了"] == "llm" and sources["帮我交电费"] == "router"
    assert 0 < metrics["config"]["llm_calls"] < len(ROWS) and metrics["config"]["embedder"]
    assert len(oracle.requests) == metrics["config"]["llm_calls"] + 1
