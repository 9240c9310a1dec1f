"""The challenge set is held out: written by its own templates, never a train or dev line, never learnt from."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from assistant.errors import ConfigError
from assistant.nlu.data import load_examples, load_training_examples
from assistant.nlu.router import build_router
from assistant.nlu.types import INTENTS
from evals import challenge, intent

CHALLENGE = challenge.OUT


def _texts(name: str) -> set[str]:
    lines = (CHALLENGE.parent / name).read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["text"].strip().casefold() for line in lines if line.strip()}


def test_no_challenge_line_is_in_train_or_dev():
    held_out = _texts("intent_challenge.jsonl")
    assert not held_out & _texts("intent_train.jsonl")
    assert not held_out & _texts("intent_dev.jsonl")


def test_the_committed_file_is_what_the_templates_make():
    rows = [json.loads(line) for line in CHALLENGE.read_text(encoding="utf-8").splitlines()]
    assert rows == challenge.build(challenge.written_texts())


def test_every_intent_in_both_languages_and_300_a_language():
    examples = load_examples(CHALLENGE)
    per_lang = Counter(e.lang for e in examples)
    assert per_lang["zh"] >= 300 and per_lang["en"] >= 300
    for lang in ("zh", "en"):
        assert {e.intent for e in examples if e.lang == lang} == set(INTENTS)


def test_the_router_refuses_to_learn_from_held_out_data(settings):
    for name in ("intent_challenge.jsonl", "intent_dev.jsonl"):
        with pytest.raises(ConfigError, match="held out"):
            load_training_examples(CHALLENGE.parent / name)
        with pytest.raises(ConfigError, match="held out"):
            build_router(settings.model_copy(update={"router_train_path": CHALLENGE.parent / name}))
    assert load_training_examples(CHALLENGE.parent / "intent_train.jsonl")


def test_the_harness_takes_a_split_by_name():
    assert intent.parse_args(["--split", "challenge"]).data == CHALLENGE
    assert intent.parse_args(["--data", "x.jsonl"]).data.name == "x.jsonl"
