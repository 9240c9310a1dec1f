"""The one intent table: every label of the contract (DESIGN.md) and what each part of lui does with it.

The router (which slots to extract), the dialogue policy (which handler runs, what to ask for a
missing slot, which quick replies to offer), the LLM tier (the ``route`` enum and its description,
which slots to keep) and the evaluation harness (the known labels) all read :data:`SPECS`.
Adding an intent is: a spec here, its handler, its replies, its training and dev data.

Handlers are named as ``"module:function"`` and imported when first run, so this module stays a
leaf (the nlu package imports it; the handlers import the nlu package).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["transactional", "dialogue", "out_of_scope"]


@dataclass(frozen=True)
class IntentSpec:
    name: str
    kind: Kind
    description: str  # what the LLM is told the label means
    slots: tuple[str, ...] = ()  # the slots this intent carries (router extraction, LLM filtering)
    handler: str | None = None  # "module:function", ``async (turn, slots) -> ReplyOut``
    moves_money: bool = False  # ends in confirm.request; the planner's call of its tool ends the plan
    suggestion: tuple[str, str] | None = None  # quick-reply label (zh, en) when offering this intent
    in_menu: bool = False  # offered when lui cannot help ("I can pay bills, check bills ...")
    asks: dict[str, str] = field(default_factory=dict)  # missing slot → the reply key that asks for it
    query_from_text: bool = False  # the whole utterance is the ``query`` slot (lookup_service)
    reply: str | None = None  # dialogue acts answered with one fixed reply key

    def resolve_handler(self) -> Callable[..., Awaitable[Any]]:
        assert self.handler is not None, f"{self.name} has no handler"
        module, _, name = self.handler.partition(":")
        return getattr(importlib.import_module(module), name)


SPECS: tuple[IntentSpec, ...] = (
    IntentSpec(
        "pay_bill", "transactional", "pay a utility/phone/property bill",
        slots=("bill_type", "amount", "account", "pay_from"), handler="assistant.handlers:pay_bill", moves_money=True,
        suggestion=("交费", "Pay a bill"), in_menu=True,
        asks={"bill_type": "ask_bill_type_pay", "amount": "ask_amount", "account": "ask_account"}),
    IntentSpec(
        "query_bill", "transactional",
        "how much is owed now: unpaid bills, amounts and due dates, what is due this month or soon (这个月要交哪些)",
        slots=("bill_type", "account", "period"), handler="assistant.answers:query_bill",
        suggestion=("查账单", "Check my bills"), in_menu=True,
        asks={"bill_type": "ask_bill_type_query", "account": "ask_account"}),
    IntentSpec(
        "check_balance", "transactional", "wallet balance", handler="assistant.answers:check_balance",
        suggestion=("查余额", "Check balance"), in_menu=True),
    IntentSpec(
        "translate", "transactional", "translate words", slots=("text", "target_lang", "source_lang"),
        handler="assistant.answers:translate", suggestion=("翻译", "Translate")),
    IntentSpec(
        "lookup_service", "transactional",
        "find an app service or how to do something in the app (invoices, medical insurance, social security, "
        "transit code ...)", slots=("query",), handler="assistant.handlers:lookup_service",
        suggestion=("找服务", "Find a service"), query_from_text=True),
    IntentSpec(
        "top_up_phone", "transactional",
        "top up (recharge, 充话费) any mainland mobile number with prepaid credit, the user's or someone else's; "
        "not paying a phone bill", slots=("phone", "amount", "contact"), handler="assistant.topup:top_up_phone",
        moves_money=True, suggestion=("充话费", "Top up a phone"),
        asks={"phone": "ask_phone", "amount": "ask_topup_amount"}),
    IntentSpec(
        "payment_history", "transactional",
        "what was already paid: past payments and top-ups, whether or when a bill was paid, money spent in a period "
        "(上个月交了哪些, 电费交了没有, how much did I spend on bills this year)",
        slots=("bill_type", "period", "account"), handler="assistant.history:payment_history",
        suggestion=("缴费记录", "Payment history")),
    IntentSpec("greet", "dialogue", "greet", reply="greet"),
    IntentSpec("thanks", "dialogue", "thanks", reply="thanks"),
    IntentSpec("goodbye", "dialogue", "goodbye", reply="goodbye"),
    IntentSpec("confirm", "dialogue", "yes to a question"),
    IntentSpec("deny", "dialogue", "no to a question"),
    IntentSpec("cancel", "dialogue", "abandon the current request"),
    IntentSpec("human_handoff", "dialogue", "wants a human agent", reply="handoff",
               suggestion=("人工客服", "Talk to a person")),
    IntentSpec("out_of_scope", "out_of_scope",
               "anything else, including transfers to other people, which this app cannot do here"),
)

BY_NAME: dict[str, IntentSpec] = {s.name: s for s in SPECS}
assert len(BY_NAME) == len(SPECS), "an intent is listed twice"


def spec(name: str) -> IntentSpec | None:
    return BY_NAME.get(name)


def names(kind: Kind) -> tuple[str, ...]:
    return tuple(s.name for s in SPECS if s.kind == kind)


def llm_description() -> str:
    """The meaning of every label in one paragraph, for the LLM's ``route`` call."""
    return "; ".join(f"{s.name}: {s.description}" for s in SPECS) + "."
