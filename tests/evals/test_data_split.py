"""Train and dev are written independently: no dev line is a training line (evals/data/ANNOTATION.md).

Compares normalised texts only (case, width, spaces and edge punctuation); it never prints a sentence,
only how many collide, so whoever adds training lines is not shown dev sentences.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from assistant.nlu.intents import spec

DATA = Path(__file__).resolve().parents[2] / "evals" / "data"


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.split()).strip(" .,!?;:。，！？；：、~～…\"'“”")


def _rows(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


# Exact train/dev copies that predate this test (mostly one-word acts: "yes", "你好", "取消", but not
# only). The count may only go down: a new training line must not be a dev line.
LEGACY_COPIES = 182


def test_no_new_training_line_is_a_dev_line():
    dev = {_key(r["text"]) for r in _rows("intent_dev.jsonl")}
    copies = sum(_key(r["text"]) in dev for r in _rows("intent_train.jsonl"))
    assert copies <= LEGACY_COPIES, f"{copies - LEGACY_COPIES} new training line(s) copy a dev line"


def test_training_lines_are_unique_and_labelled_with_known_intents_and_slots():
    rows = _rows("intent_train.jsonl")
    keys = [_key(r["text"]) for r in rows]
    assert len(keys) == len(set(keys))
    for r in rows:
        found = spec(r["intent"])
        assert found is not None and r["lang"] in ("zh", "en"), r
        assert set(r["slots"]) <= set(found.slots) - {"query"}, r
