"""The challenge sets: challenge 1 written by its own templates, challenge 2 by hand as personas (both retired
from measuring and trained on now), challenge 3 by hand as scenario conversations and challenge 4 by hand as
task cards × register × length (both blind, held out: never a train or dev line, never learnt from)."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from pydantic import ConfigDict, ValidationError, create_model

from assistant.errors import ConfigError
from assistant.nlu.data import load_examples, load_training_examples, load_training_sources
from assistant.nlu.intents import spec
from assistant.nlu.router import build_router
from assistant.nlu.slot_table import SLOTS
from assistant.nlu.types import INTENTS
from assistant.settings import Settings
from evals import challenge, intent

CHALLENGE = challenge.OUT


def _texts(name: str) -> set[str]:
    lines = (CHALLENGE.parent / name).read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["text"].strip().casefold() for line in lines if line.strip()}


def _bare(texts: set[str]) -> set[str]:
    """The texts without punctuation and spaces ("balance?" and "balance" are one line)."""
    return {re.sub(r"[\W_]+", "", t) for t in texts}


@pytest.mark.parametrize("name", ["intent_challenge.jsonl", "intent_challenge2.jsonl", "intent_challenge3.jsonl",
                                  "intent_challenge4.jsonl"])
def test_no_challenge_line_is_in_train_or_dev(name):
    held_out = _texts(name)
    assert not held_out & _texts("intent_train.jsonl")
    assert not held_out & _texts("intent_dev.jsonl")


@pytest.mark.parametrize("name, earlier", [
    ("intent_challenge2.jsonl", ("intent_train.jsonl", "intent_dev.jsonl", "intent_challenge.jsonl")),
    ("intent_challenge3.jsonl", ("intent_train.jsonl", "intent_dev.jsonl", "intent_challenge.jsonl",
                                 "intent_challenge2.jsonl")),
    ("intent_challenge4.jsonl", ("intent_train.jsonl", "intent_dev.jsonl", "intent_challenge.jsonl",
                                 "intent_challenge2.jsonl", "intent_challenge3.jsonl")),
])
def test_no_blind_challenge_line_is_in_an_earlier_set_even_without_punctuation(name, earlier):
    held_out = _bare(_texts(name))
    for other in earlier:
        assert not held_out & _bare(_texts(other)), other


@pytest.mark.parametrize("name", ["intent_challenge3.jsonl", "intent_challenge4.jsonl"])
def test_no_line_is_twice_in_a_blind_challenge(name):
    lines = (CHALLENGE.parent / name).read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"].strip().casefold() for line in lines if line.strip()]
    assert len(texts) == len(set(texts))


# every slot of the contract with its constraints (types, enums, patterns), no other key
_SLOT_VALUES = create_model("SlotValues", __config__=ConfigDict(extra="forbid", strict=True),
                            **{s.name: (s.annotation | None, s.field) for s in SLOTS})


@pytest.mark.parametrize("name", ["intent_challenge4.jsonl"])
def test_every_blind_challenge_line_has_a_known_lang_intent_and_slots_of_that_intent_with_valid_values(name):
    """Reports line numbers only, so a failure does not show a blind sentence."""
    lines = (CHALLENGE.parent / name).read_text(encoding="utf-8").splitlines()
    bad = []
    for number, line in enumerate(lines, start=1):
        row = json.loads(line)
        found = spec(row.get("intent", ""))
        slots = row.get("slots")
        try:
            ok = (isinstance(row.get("text"), str) and row["text"].strip() != "" and row.get("lang") in ("zh", "en")
                  and found is not None and isinstance(slots, dict)
                  and set(slots) <= set(found.slots) - {"query"} and all(v is not None for v in slots.values()))
            if ok:
                _SLOT_VALUES.model_validate({k: float(v) if k == "amount" and isinstance(v, int) else v
                                             for k, v in slots.items()})
        except ValidationError:
            ok = False
        if not ok:
            bad.append(number)
    assert not bad, f"{name}: lines {bad} have an unknown lang or intent, or slots not of their intent or invalid"


@pytest.mark.parametrize("name, style", [("intent_challenge2.jsonl", "persona-"),
                                         ("intent_challenge3.jsonl", "scenario-"),
                                         ("intent_challenge4.jsonl", "card-")])
def test_a_blind_challenge_covers_every_intent_in_both_languages_with_320_a_language_and_a_style_each(name, style):
    rows = [json.loads(line) for line in (CHALLENGE.parent / name).read_text(
        encoding="utf-8").splitlines() if line.strip()]
    examples = load_examples(CHALLENGE.parent / name)  # strict: every label is known
    per_lang = Counter(e.lang for e in examples)
    assert per_lang["zh"] >= 320 and per_lang["en"] >= 320
    for lang in ("zh", "en"):
        assert {e.intent for e in examples if e.lang == lang} == set(INTENTS)
        oos = sum(e.intent == "out_of_scope" for e in examples if e.lang == lang) / per_lang[lang]
        assert 0.2 <= oos <= 0.3
    assert all(row["style"].startswith(style) for row in rows)


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
    for name in ("intent_challenge3.jsonl", "intent_challenge4.jsonl", "intent_dev.jsonl"):
        with pytest.raises(ConfigError, match="held out"):
            load_training_examples(CHALLENGE.parent / name)
        with pytest.raises(ConfigError, match="held out"):
            build_router(settings.model_copy(update={"router_train_path": CHALLENGE.parent / name}))
        with pytest.raises(ConfigError, match="held out"):  # one held-out file among the sources is enough
            build_router(settings.model_copy(update={"router_train_paths": [CHALLENGE.parent / "intent_train.jsonl",
                                                                            CHALLENGE.parent / name]}))
    assert load_training_examples(CHALLENGE.parent / "intent_train.jsonl")


def test_the_retired_challenge_sets_are_training_sources():
    for name in ("intent_challenge.jsonl", "intent_challenge2.jsonl"):
        assert load_training_examples(CHALLENGE.parent / name)  # retired from measuring: no longer refused
    files = Settings(_env_file=None).router_training_files
    examples = load_training_sources(files)
    assert len(examples) == sum(len(load_examples(p)) for p in files) > 3000
    one = Settings(_env_file=None, router_train_path=CHALLENGE.parent / "intent_train.jsonl")
    assert one.router_training_files == [CHALLENGE.parent / "intent_train.jsonl"]  # --train: that file alone


def test_the_harness_says_a_retired_split_is_trained_on():
    settings = Settings(_env_file=None)
    for split in intent.RETIRED_SPLITS:
        assert "TRAINING source" in intent.trained_on_warning(intent.SPLITS[split], settings)
    for split in ("dev", "challenge3", "challenge4"):
        assert intent.trained_on_warning(intent.SPLITS[split], settings) is None


def test_the_harness_takes_a_split_by_name():
    assert intent.parse_args(["--split", "challenge"]).data == CHALLENGE
    assert intent.parse_args(["--split", "challenge2"]).data == CHALLENGE.parent / "intent_challenge2.jsonl"
    assert intent.parse_args(["--split", "challenge3"]).data == CHALLENGE.parent / "intent_challenge3.jsonl"
    assert intent.parse_args(["--split", "challenge4"]).data == CHALLENGE.parent / "intent_challenge4.jsonl"
    assert intent.parse_args(["--split", "dev"]).data == CHALLENGE.parent / "intent_dev.jsonl"
    assert intent.parse_args(["--data", "x.jsonl"]).data.name == "x.jsonl"
