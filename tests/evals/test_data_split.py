"""Training and held-out data are written independently: no dev or challenge 3/4 line is a line of any
of the router's training files (evals/data/ANNOTATION.md).

Compares normalised texts only (case, width, spaces and edge punctuation); it never prints a sentence,
only how many collide, so whoever adds training lines is not shown dev sentences.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from assistant.nlu import data
from assistant.nlu.intents import spec
from assistant.settings import Settings

DATA = Path(__file__).resolve().parents[2] / "evals" / "data"


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.split()).strip(" .,!?;:。，！？；：、~～…\"'“”")


def _rows(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


HELD_OUT = ("intent_dev.jsonl", "intent_challenge3.jsonl", "intent_challenge4.jsonl")  # measured, never learnt


def _held_out_keys() -> set[str]:
    return {_key(r["text"]) for name in HELD_OUT if (DATA / name).is_file() for r in _rows(name)}


def _short_act(key: str) -> bool:
    """"yes", "好的", "取消": there are only so many ways to say these; a copy is unavoidable."""
    return len(key.split()) <= 2 if key.isascii() else len(key) <= 4


def test_the_held_out_files_are_the_routers_and_none_is_a_training_source():
    assert HELD_OUT == data.HELD_OUT
    assert not {p.name for p in Settings().router_training_files} & set(HELD_OUT)
    # the retired challenge sets 1 and 2 are training sources now (evals/data/ANNOTATION.md)
    assert {"intent_train.jsonl", *data.RETIRED} <= {p.name for p in Settings().router_training_files}


def test_no_training_line_copies_a_held_out_line():
    held = _held_out_keys()
    for path in Settings().router_training_files:
        copies = [k for k in (_key(r["text"]) for r in _rows(path.name)) if k in held and not _short_act(k)]
        assert not copies, f"{len(copies)} line(s) of {path.name} copy a dev or challenge 3/4 line"


def test_training_lines_are_unique_and_labelled_with_known_intents_and_slots():
    rows = _rows("intent_train.jsonl")
    keys = [_key(r["text"]) for r in rows]
    assert len(keys) == len(set(keys))
    for r in rows:
        found = spec(r["intent"])
        assert found is not None and r["lang"] in ("zh", "en"), r
        assert set(r["slots"]) <= set(found.slots) - {"query"}, r
