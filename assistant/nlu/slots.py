"""Slot extraction for the router, per intent, with the parsers of the slot table (:mod:`assistant.nlu.slot_table`)."""

from __future__ import annotations

import re

from assistant.nlu.accounts import parse_account
from assistant.nlu.bill_types import parse_bill_type
from assistant.nlu.intents import SPECS
from assistant.nlu.langs import language_code, parse_language, parse_source_language
from assistant.nlu.numbers import amount_problem, parse_amount
from assistant.nlu.phone import find_phone, without_phone
from assistant.nlu.slot_table import SLOTS
from assistant.nlu.translation_text import parse_translation_text
from assistant.nlu.types import BILL_TYPES

__all__ = [
    "INTENT_SLOTS",
    "extract_slots",
    "normalize_slot_value",
    "parse_account",
    "parse_amount",
    "parse_bill_type",
    "parse_language",
    "parse_source_language",
    "parse_translation_text",
]

# The slots each intent can carry (from the intent table); `query` is the whole utterance, filled by the caller.
INTENT_SLOTS: dict[str, tuple[str, ...]] = {s.name: s.slots for s in SPECS if s.slots}
_EDGE_PUNCTUATION = " \t\r\n\"'“”‘’「」『』,，。.!！?？~～、;；:：…"


# slot name -> its parser, in the table's order (`query` has none: the caller fills it)
_EXTRACTORS = {spec.name: spec.parser for spec in SLOTS if spec.parser is not None}


def extract_slots(text: str, intent: str | None = None) -> dict[str, object]:
    """The slots found in `text`, only those `intent` takes (all of them when intent is None)."""
    names = tuple(_EXTRACTORS) if intent is None else INTENT_SLOTS.get(intent, ())
    slots: dict[str, object] = {}
    for name in names:
        if name not in _EXTRACTORS:  # `query`: the caller's
            continue
        value = _EXTRACTORS[name](text)
        if value is not None:
            slots[name] = value
    if "phone" in names and "phone" not in slots and (bad := find_phone(text)[1]):  # 10 digits, 12...: ask again
        slots["phone_error"] = bad
    if "amount" in names and (problem := amount_problem(without_phone(text))):  # "-10元", "1e1元", "1,5元": ask, never guess
        slots["amount_error"] = problem
    if slots.get("source_lang") is not None and slots.get("source_lang") == slots.get("target_lang"):
        del slots["source_lang"]
    return slots


def normalize_slot_value(name: str, value: object) -> object:
    """A slot value in the form predictions and gold labels are compared in."""
    if value is None:
        return None
    if name == "amount":
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip()
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return parse_amount(text)
    text = " ".join(str(value).split()).strip(_EDGE_PUNCTUATION).casefold()
    if name == "account":
        if re.search(r"[a-z]", text):
            return re.sub(r"[^0-9a-z]", "", text)  # an alphanumeric account, as written
        return re.sub(r"\D", "", text)
    if name == "phone":
        return re.sub(r"\D", "", text)
    if name in ("target_lang", "source_lang"):
        return language_code(text) or text
    if name == "bill_type" and text not in BILL_TYPES:
        return parse_bill_type(text) or text
    return text
