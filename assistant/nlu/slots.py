"""Slot extraction for the router: bill type, amount, account, translation text and languages, per intent."""

from __future__ import annotations

import re

from assistant.nlu.accounts import parse_account
from assistant.nlu.bill_types import parse_bill_type
from assistant.nlu.langs import language_code, parse_language, parse_source_language
from assistant.nlu.numbers import amount_problem, parse_amount
from assistant.nlu.payment_source import parse_payment_source
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

# The slots each intent can carry; lookup_service's `query` is filled by the caller. `pay_from` (where
# the money should come from, nlu/payment_source.py) only adds a note: lui pays from the wallet.
INTENT_SLOTS: dict[str, tuple[str, ...]] = {
    "pay_bill": ("bill_type", "amount", "account", "pay_from"),
    "query_bill": ("bill_type", "account"),
    "translate": ("text", "target_lang", "source_lang"),
}
_ALL_SLOTS = ("bill_type", "amount", "account", "text", "target_lang", "source_lang")
_EDGE_PUNCTUATION = " \t\r\n\"'“”‘’「」『』,，。.!！?？~～、;；:：…"


def _amount(text: str) -> int | float | None:
    value = parse_amount(text)
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


_EXTRACTORS = {
    "bill_type": parse_bill_type,
    "amount": _amount,
    "account": parse_account,
    "text": parse_translation_text,
    "target_lang": parse_language,
    "source_lang": parse_source_language,
    "pay_from": parse_payment_source,
}


def extract_slots(text: str, intent: str | None = None) -> dict[str, object]:
    """The slots found in `text`, only those `intent` takes (all of them when intent is None)."""
    names = _ALL_SLOTS if intent is None else INTENT_SLOTS.get(intent, ())
    slots: dict[str, object] = {}
    for name in names:
        value = _EXTRACTORS[name](text)
        if value is not None:
            slots[name] = value
    if "amount" in names and (problem := amount_problem(text)):  # "-10元", "1e1元", "1,5元": ask, never guess
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
    if name in ("target_lang", "source_lang"):
        return language_code(text) or text
    if name == "bill_type" and text not in BILL_TYPES:
        return parse_bill_type(text) or text
    return text
