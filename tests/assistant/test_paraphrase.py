"""Wording the router was not written for, through whole turns: the real router (trained on
evals/data/intent_train.jsonl), the real ledger on SQLite.

Balance paraphrases get the balance; a payment that names where the money should come from
("with my checking account", "拿银行卡") still reaches ``confirm.request`` for the right bill, with a
short note when the source is not the wallet; a statement that a bill is due is a request to pay it;
"how expensive is my internet" asks for the bill.
"""

from __future__ import annotations

import pytest

from assistant.replies import MESSAGES
from assistant.turns import Assistant
from tests.conftest import demo_assistant, of_type, say

NOTE = {"zh": MESSAGES["pay_from_wallet"][0], "en": MESSAGES["pay_from_wallet"][1]}


@pytest.fixture
def assistant(settings, router) -> Assistant:
    return demo_assistant(settings, router)


def _tools(events: list[dict]) -> list[str]:
    return [e["name"] for e in of_type(events, "tool.call")]


@pytest.mark.parametrize(("text", "lang"), [
    ("what are my coffers at", "en"),
    ("what's my checking look like", "en"),
    ("how much is in my bank accounts", "en"),
    ("卡里还剩多少", "zh"),
    ("兜里还有多少钱", "zh"),
    ("我还有几个钱", "zh"),
])
async def test_balance_paraphrases_get_the_balance(assistant, text, lang):
    session, _ = assistant.open_session("u_li", lang)
    events = await say(assistant, session, text)
    assert of_type(events, "intent")[0]["name"] == "check_balance", events
    assert _tools(events) == ["check_balance"]
    assert "500" in events[-1]["text"]  # 李阿姨's wallet holds ¥500.00


@pytest.mark.parametrize(("user", "text", "lang", "bill_type", "account", "note"), [
    ("u_li", "pay my gas bill with my checking account", "en", "gas", "GAS88120345", True),
    ("u_li", "用余额把燃气费交了", "zh", "gas", "GAS88120345", False),  # the wallet: nothing to note
    ("u_li", "拿银行卡交电费", "zh", "electricity", "3100123456", True),
    ("u_amy", "use my debit card for the phone bill, please pay it", "en", "phone", "13800138000", True),
])
async def test_a_payment_source_is_a_note_not_a_failure(assistant, user, text, lang, bill_type, account, note):
    session, _ = assistant.open_session(user, lang)
    events = await say(assistant, session, text)
    assert of_type(events, "intent")[0]["name"] == "pay_bill", events
    (request,) = of_type(events, "confirm.request")
    assert request["details"]["bill_type"] == bill_type
    assert session.state.confirmation is not None and session.state.confirmation.account == account
    assert (NOTE[lang] in request["summary"]) is note
    assert events[-1]["text"] == request["summary"]


async def test_a_payment_source_reaches_the_ledger(assistant):
    session, _ = assistant.open_session("u_wang", "zh")  # ¥30 in the wallet, ¥320 of property fee
    events = await say(assistant, session, "用余额把物业费交了")
    (call,) = of_type(events, "tool.call")
    assert (call["name"], call["args"]["bill_type"]) == ("pay_bill", "property")
    assert events[-1]["text"].startswith("余额不足")  # the ledger's answer, not a misunderstanding


@pytest.mark.parametrize(("user", "text", "lang", "bill_type"), [
    ("u_amy", "my electric bill should be paid today", "en", "electricity"),
    ("u_amy", "today my electric bill will be paid, or should be", "en", "electricity"),
    ("u_li", "电费今天得交了吧", "zh", "electricity"),
])
async def test_a_bill_said_to_be_due_is_paid_after_consent(assistant, user, text, lang, bill_type):
    session, _ = assistant.open_session(user, lang)
    events = await say(assistant, session, text)
    assert of_type(events, "intent")[0]["name"] == "pay_bill", events
    assert of_type(events, "confirm.request")[0]["details"]["bill_type"] == bill_type
    assert _tools(events) == ["pay_bill"]  # prepared, not paid: money waits for the user's yes


async def test_asking_whether_a_bill_is_due_pays_or_asks_which_first(assistant):
    """"水费是不是该交了" is a statement and a question at once (pay it? has it been paid?): the
    assistant may prepare the payment or ask back with paying first, but never pays or guesses history."""
    session, _ = assistant.open_session("u_li", "zh")
    events = await say(assistant, session, "水费是不是该交了")
    assert of_type(events, "intent")[0]["name"] == "pay_bill", events
    if of_type(events, "confirm.request"):
        assert of_type(events, "confirm.request")[0]["details"]["bill_type"] == "water"
        assert _tools(events) == ["pay_bill"]
    else:
        assert not _tools(events) and events[-1]["quick_replies"][0] == "交费", events


async def test_how_expensive_a_bill_is_queries_it(assistant):
    session, _ = assistant.open_session("u_amy", "en")
    events = await say(assistant, session, "how expensive is my internet")
    intent = of_type(events, "intent")[0]
    assert (intent["name"], intent["slots"].get("bill_type")) == ("query_bill", "internet")
    assert _tools(events) == ["query_bill"] and not of_type(events, "confirm.request")
    assert "99" in events[-1]["text"]  # Amy's broadband bill is ¥99.00
