"""``lui prepare``: the router cache is keyed on data and code, and the steps show their progress."""

from __future__ import annotations

import io

from assistant.nlu import router as router_module
from assistant.nlu.data import Example
from assistant.nlu.router import IntentRouter
from assistant.prepare import Progress, prepare
from knowledge.store import ServiceStore

TINY = [Example(text=t, intent=i) for i, ts in {
    "greet": ["你好", "hello", "hi there", "早上好", "good morning", "嗨"],
    "thanks": ["谢谢", "thanks", "thank you", "多谢", "thanks a lot", "谢谢你"],
    "check_balance": ["我还有多少钱", "what's my balance", "余额多少", "how much money do I have", "查余额",
                      "balance please"],
} .items() for t in ts]


def test_the_router_cache_is_reused_and_retrains_when_data_or_code_change(tmp_path, use_embedder, monkeypatch):
    IntentRouter.load_or_train(TINY, use_embedder, tmp_path)
    IntentRouter.load_or_train(TINY, use_embedder, tmp_path)
    assert len(list(tmp_path.glob("router-*.pkl"))) == 1  # the second call loaded the first's file
    changed = [*TINY[:-1], Example(text="balance, please", intent="check_balance")]
    IntentRouter.load_or_train(changed, use_embedder, tmp_path)
    assert len(list(tmp_path.glob("router-*.pkl"))) == 2  # other data: trained and cached again
    monkeypatch.setattr(router_module, "_code_hash", lambda: "edited-code")
    IntentRouter.load_or_train(TINY, use_embedder, tmp_path)
    assert len(list(tmp_path.glob("router-*.pkl"))) == 3  # other router code: trained again


def test_progress_shows_numbered_steps_a_bar_and_durations():
    out = io.StringIO()
    progress = Progress(2, out)
    with progress.step("first"):
        pass
    with progress.step("second") as report:
        report(1, 2)
        report(2, 2)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/2] first ...") and lines[1].startswith("[1/2] first done in ")
    assert any("[2/2] second [##############..............]  50%" in line for line in lines)
    assert lines[-1].startswith("[2/2] second done in ")


def test_prepare_trains_indexes_and_reports_each_step(settings, router):  # router: the cache holds it already
    out = io.StringIO()
    assert prepare(settings, out) == 0
    text = out.getvalue()
    for n in range(1, 5):
        assert f"[{n}/4] " in text and text.count(" done in ") == 4
    assert list(settings.cache_dir.glob("router-*.pkl"))
    store = ServiceStore.from_settings(settings)
    try:
        assert store.count() > 100  # the catalogue is indexed: serve only copies it
    finally:
        store.close()
