"""Dialogue state: what the conversation is in the middle of, persisted with the session.

The state is a small pydantic model stored as JSON on the session row, so a reconnect (to any
worker) resumes a half-filled request or a pending confirmation exactly where it was.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from assistant.nlu.phone import find_phone, parse_contact
from assistant.nlu.slots import INTENT_SLOTS, parse_account, parse_amount, parse_bill_type
from assistant.nlu.types import TRANSACTIONAL, Context, Understanding


class PendingConfirmation(BaseModel):
    """A money-moving action waiting for the user's yes: what it does, to whom, for what, how much."""

    confirmation_id: str
    action: str = "pay_bill"  # the intent that prepared it: pay_bill / top_up_phone
    payee: str = ""  # the biller or the carrier, as the confirmation named it
    target_kind: str = "bill"  # bill / phone
    target_id: str = ""  # the bill id / the mobile number
    bill_type: str = ""  # a bill's type ("" for a top-up)
    amount_fen: int
    account: str = ""  # a bill's account ("" for a top-up)
    expires_at: str
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)  # what confirm.request showed, resent on resume


class DialogueState(BaseModel):
    pending_intent: str | None = None  # a transactional intent still missing a slot
    pending_slots: dict[str, Any] = Field(default_factory=dict)
    awaiting_slot: str | None = None  # the slot we just asked for
    choices: list[dict[str, str]] = Field(default_factory=list)  # offered: {"label", "value", "alias"}
    confirmation: PendingConfirmation | None = None
    last_intent: str | None = None
    lang: str | None = None  # the language of the last utterance, for "auto" sessions
    offer: dict[str, Any] | None = None  # the next step the last reply offered (assistant/suggest.py)
    declined: list[str] = Field(default_factory=list)  # offers not taken this session: never made again
    asked_too: list[str] = Field(default_factory=list)  # bill types named with the one being paid (电费和水费)
    # spoken answers to the waiting payment (its confirmation id) that were not a clear yes or no, in a row
    unclear_heard: tuple[str, int] = ("", 0)

    def context(self) -> Context:
        return Context(
            awaiting_confirmation=self.confirmation is not None,
            awaiting_slot=self.awaiting_slot,
            last_intent=self.last_intent,
        )

    def clear_pending(self) -> None:
        self.pending_intent, self.pending_slots, self.awaiting_slot, self.choices = None, {}, None, []


def _choice_for(text: str, choices: list[dict[str, str]]) -> str | None:
    """Pick an offered option by its value, its tail digits, its label, or "第一个"/"the second"."""
    lowered = text.casefold()
    for choice in choices:
        value = choice["value"]
        if value and (value in text or (len(value) >= 4 and value[-4:] in text)):
            return value
        names = (choice.get("label", ""), choice.get("alias", ""))
        if any(name and name.casefold() in lowered for name in names):
            return value
    # part of a name: "浦东那个" for "浦东新房子" — any two-character piece that only one option has
    for size in (3, 2):
        hits = {c["value"] for c in choices for name in (c.get("alias", ""),) if len(name) >= size
                for i in range(len(name) - size + 1) if name[i:i + size] in text}
        if len(hits) == 1:
            return hits.pop()
    ordinals = [("第一", "first", "1"), ("第二", "second", "2"), ("第三", "third", "3")]
    for index, words in enumerate(ordinals):
        if index < len(choices) and any(w in lowered for w in words[:2]):
            return choices[index]["value"]
    return None


def fill_awaited_slot(state: DialogueState, text: str, u: Understanding) -> dict[str, Any] | None:
    """When we asked for a slot and the answer carries it, the pending request's merged slots.

    ``None`` means the utterance is not an answer to our question (a new request, or noise).
    """
    if not state.pending_intent or not state.awaiting_slot:
        return None
    slot = state.awaiting_slot
    value: Any = None
    extra: dict[str, Any] = {}
    if slot == "amount" and len(state.choices) == 1 and u.intent == "confirm":  # "好" to the one amount offered
        value = float(state.choices[0]["value"])
    elif slot == "phone":  # a number; a saved contact ("给我妈"); or digits that are not a number: said so
        value, bad = find_phone(text)
        contact = None if value or bad else parse_contact(text)
        extra = {"contact": contact} if contact else {"phone_error": bad} if bad else {}
    elif slot == "account":
        value = _choice_for(text, state.choices) or u.slots.get("account") or parse_account(text)
    elif slot == "bill_type":
        value = u.slots.get("bill_type") or parse_bill_type(text)
    elif slot == "amount":
        value = u.slots.get("amount") or parse_amount(text)
    elif slot in u.slots:
        value = u.slots[slot]
    if value is None and not extra:
        return None
    # a confident, different transactional request wins over a stray match ("查余额" while asked which account)
    if u.intent in TRANSACTIONAL and u.intent != state.pending_intent and u.confidence >= 0.75:
        return None
    carried = INTENT_SLOTS.get(state.pending_intent, ())
    merged = {**state.pending_slots, **{k: v for k, v in u.slots.items() if k in carried}}
    if value is not None:
        merged[slot] = value
    merged.update(extra)
    return merged
