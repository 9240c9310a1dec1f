"""Labelled utterances: the JSONL files of evals/data (format in evals/data/ANNOTATION.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.nlu.types import INTENTS


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    lang: str = "zh"
    slots: dict[str, Any] = field(default_factory=dict)


# held-out files, measured on and never learnt from (evals/data/ANNOTATION.md); challenge sets 1 and 2
# are retired from measuring (their errors were read) and are training sources now
HELD_OUT = ("intent_dev.jsonl", "intent_challenge3.jsonl", "intent_challenge4.jsonl")
RETIRED = ("intent_challenge.jsonl", "intent_challenge2.jsonl")


def load_training_examples(path: str | Path) -> list[Example]:
    """``load_examples`` for the router to learn from; a held-out file is refused."""
    if Path(path).name in HELD_OUT:
        raise ConfigError(f"{Path(path).name} is held out for measuring; the router never trains on it")
    return load_examples(path)


def load_training_sources(paths: Sequence[str | Path]) -> list[Example]:
    """All training files, in order (``Settings.router_training_files``); any held-out file is refused."""
    if not paths:
        raise ConfigError("no training files for the router (router_train_paths is empty)")
    return [example for path in paths for example in load_training_examples(path)]


def load_examples(path: str | Path, *, strict: bool = True) -> list[Example]:
    """Read one example per line. Unknown intents are an error when ``strict``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"intent data file not found: {path}")
    examples: list[Example] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            example = Example(
                text=str(row["text"]),
                intent=str(row["intent"]),
                lang=str(row.get("lang") or "zh"),
                slots=dict(row.get("slots") or {}),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: not a valid example ({exc})") from exc
        if strict and example.intent not in INTENTS:
            raise ConfigError(f"{path}:{number}: unknown intent {example.intent!r}")
        examples.append(example)
    return examples
