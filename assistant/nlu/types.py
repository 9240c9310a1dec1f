"""The contract of understanding: intent labels, slot names, and what the router returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.nlu.intents import SPECS, names
from assistant.nlu.slot_table import SLOT_NAMES  # the slot table (assistant/nlu/slot_table.py)
from tools.kinds import BILL_TYPES

__all__ = ["BILL_TYPES", "DIALOGUE_ACTS", "INTENTS", "OUT_OF_SCOPE", "SLOT_NAMES", "TRANSACTIONAL", "Context",
           "Lang", "Understanding"]

# the label sets, read from the one intent table (assistant/nlu/intents.py)
TRANSACTIONAL = names("transactional")
DIALOGUE_ACTS = names("dialogue")
OUT_OF_SCOPE = "out_of_scope"
INTENTS: tuple[str, ...] = tuple(s.name for s in SPECS)


Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class Context:
    """What the dialogue knows that changes how an utterance reads."""

    awaiting_confirmation: bool = False
    awaiting_slot: str | None = None  # e.g. "account" while asking "which account?"
    last_intent: str | None = None


@dataclass(frozen=True)
class Understanding:
    """One utterance understood: an intent label, a calibrated confidence, and slots."""

    intent: str
    confidence: float
    slots: dict[str, Any] = field(default_factory=dict)
    source: Literal["router", "llm"] = "router"
    lang: Lang = "zh"
    alternatives: tuple[tuple[str, float], ...] = ()
