"""The contract of understanding: intent labels, slot names, and what the router returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

TRANSACTIONAL = ("pay_bill", "query_bill", "check_balance", "translate", "lookup_service")
DIALOGUE_ACTS = ("greet", "thanks", "goodbye", "confirm", "deny", "cancel", "human_handoff")
OUT_OF_SCOPE = "out_of_scope"
INTENTS: tuple[str, ...] = TRANSACTIONAL + DIALOGUE_ACTS + (OUT_OF_SCOPE,)

BILL_TYPES = ("electricity", "water", "gas", "phone", "internet", "property", "tv")
SLOT_NAMES = ("bill_type", "amount", "account", "text", "target_lang", "source_lang", "query")

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
