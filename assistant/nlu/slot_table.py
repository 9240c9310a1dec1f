"""The one slot table: every slot of the contract and what each part of lui does with it.

The router extracts a slot with its ``parser`` (:mod:`assistant.nlu.slots`), the contract lists its
name (:data:`assistant.nlu.types.SLOT_NAMES`), and the LLM tier describes it in the ``route``
call's JSON schema and validates the model's value with its ``field`` (:mod:`assistant.llm.understand`).
Adding a slot is: a spec here (with its parser), the intents that carry it (``assistant.nlu.intents``),
and its training and dev data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field
from pydantic.fields import FieldInfo

from assistant.nlu.accounts import parse_account
from assistant.nlu.bill_types import parse_bill_type
from assistant.nlu.langs import parse_language, parse_source_language
from assistant.nlu.numbers import parse_amount
from assistant.nlu.payment_source import PAYMENT_SOURCES, parse_payment_source
from assistant.nlu.period import parse_period
from assistant.nlu.phone import parse_contact, parse_phone, without_phone
from assistant.nlu.translation_text import parse_translation_text
from tools.kinds import BILL_TYPES

_LANG_CODE = r"^[a-z]{2,3}$"
_PERIOD = r"^(this_month|last_month|this_year|last_year|recent|\d{4}(-\d{2})?|--\d{2})$"


@dataclass(frozen=True)
class SlotSpec:
    name: str
    json_type: Literal["string", "number"]  # its JSON-schema type in the LLM's ``route`` call
    description: str  # what the LLM is told the slot holds
    parser: Callable[[str], Any] | None  # utterance -> value or None; None: the caller fills it (``query``)
    annotation: Any = str  # the validated type of the LLM's value (``| None`` is added)
    field: FieldInfo = field(default_factory=lambda: Field(default=None))  # its constraints
    enum: tuple[str, ...] | None = None  # the values listed as an ``enum`` in the JSON schema

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.json_type, "description": self.description}
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        return schema


def _amount(text: str) -> int | float | None:
    value = parse_amount(without_phone(text))  # "给13812345678充100": the number is not an amount
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


SLOTS: tuple[SlotSpec, ...] = (
    SlotSpec("bill_type", "string", "which bill: " + ", ".join(BILL_TYPES), parse_bill_type,
             annotation=Literal[BILL_TYPES], enum=BILL_TYPES),
    SlotSpec("amount", "number", "an amount of money in CNY yuan, as a number (一百二十 → 120)", _amount,
             annotation=float, field=Field(default=None, gt=0, le=1_000_000)),
    SlotSpec("account", "string", "the bill account number (户号) or the digits of it the user said", parse_account,
             field=Field(default=None, max_length=40)),
    SlotSpec("text", "string", "for translate: the exact words to translate, without the request around them",
             parse_translation_text, field=Field(default=None, max_length=1000)),
    SlotSpec("target_lang", "string", "for translate: ISO 639-1 code of the language wanted (en, zh, ja ...)",
             parse_language, field=Field(default=None, pattern=_LANG_CODE)),
    SlotSpec("source_lang", "string", "for translate: ISO 639-1 code of the original language, if said",
             parse_source_language, field=Field(default=None, pattern=_LANG_CODE)),
    SlotSpec("query", "string", "for lookup_service: what service or how-to the user is looking for", None,
             field=Field(default=None, max_length=300)),
    SlotSpec("phone", "string", "for top_up_phone: the 11-digit mainland mobile number to top up, digits only",
             parse_phone, field=Field(default=None, pattern=r"^1[3-9]\d{9}$")),
    SlotSpec("contact", "string",
             "for top_up_phone: who the number belongs to when no number is said (妈妈, son ...)", parse_contact,
             field=Field(default=None, max_length=20)),
    SlotSpec("pay_from", "string", "for pay_bill: where the user wants the money to come from, if said "
             f"({', '.join(PAYMENT_SOURCES)}); lui pays from the wallet", parse_payment_source,
             annotation=Literal[PAYMENT_SOURCES]),
    SlotSpec("period", "string", "for payment_history: this_month, last_month, this_year, last_year, recent, "
             "YYYY-MM, YYYY or --MM (a month of no year said); for query_bill: this_month or recent when asking "
             "what is due", parse_period,
             field=Field(default=None, pattern=_PERIOD)),
)
SLOT_NAMES: tuple[str, ...] = tuple(s.name for s in SLOTS)
BY_NAME: dict[str, SlotSpec] = {s.name: s for s in SLOTS}
