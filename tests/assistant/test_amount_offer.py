"""A payment of the wrong amount is not a dead end: lui offers what the bill owes, and still asks to
confirm before any money moves."""

from __future__ import annotations

import pytest

from assistant.turns import Assistant
from tests.conftest import demo_assistant, of_type, say


@pytest.fixture
def assistant(settings, router) -> Assistant:
    return demo_assistant(settings, router)


async def test_wrong_amount_offers_the_bill_amount_then_confirms(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    events = await say(assistant, session, "帮我交两百块燃气费")  # the gas bill is 68.00
    assert not of_type(events, "confirm.request")
    assert events[-1]["text"] == "这张账单应缴68.00元，要交68.00元吗？" and events[-1]["quick_replies"][0] == "交68元"
    events = await say(assistant, session, "好的")
    [request] = of_type(events, "confirm.request")
    assert "燃气费68.00元" in request["summary"]
    assert assistant.billing.balance("u_li").balance_fen == 50_000  # still only on a clear yes
    assert "已缴费68.00元" in (await say(assistant, session, "确认"))[-1]["text"]
    assert assistant.billing.balance("u_li").balance_fen == 50_000 - 6_800


async def test_wrong_amount_offer_can_be_declined(assistant):
    session, _ = assistant.open_session("u_amy", "en")
    events = await say(assistant, session, "pay 500 for my internet bill")
    assert "does not match the bill, which is ¥99.00. Pay ¥99.00?" in events[-1]["text"]
    await say(assistant, session, "cancel")
    assert session.state.pending_intent is None and session.state.confirmation is None
    assert assistant.billing.balance("u_amy").balance_fen == 100_000


async def test_a_bill_that_may_be_paid_in_part_offers_the_part_the_balance_covers(assistant):
    session, _ = assistant.open_session("u_wang", "zh")  # property ¥320.00, may be paid in part; wallet ¥30.00
    events = await say(assistant, session, "交五百块物业费")
    assert not of_type(events, "confirm.request")
    reply = events[-1]
    assert reply["text"] == "这张账单应缴320.00元，可以分次交：交320.00元，还是先交一部分？"
    assert reply["quick_replies"] == ["交320元", "先交30元", "取消"]
    [request] = of_type(await say(assistant, session, "先交30元"), "confirm.request")
    assert "物业费30.00元" in request["summary"]
    assert assistant.billing.balance("u_wang").balance_fen == 3_000  # still only on a clear yes
    assert "已缴费30.00元" in (await say(assistant, session, "确认"))[-1]["text"]
    [bill] = assistant.billing.bills("u_wang", "property")
    assert (bill.status, bill.paid_fen) == ("unpaid", 3_000) and assistant.billing.ledger_check() == []


async def test_a_bill_paid_only_in_full_offers_no_part(assistant):
    session, _ = assistant.open_session("u_li", "en")
    reply = (await say(assistant, session, "pay 100 for water"))[-1]  # water is ¥42.30, paid in full only
    assert reply["quick_replies"] == ["Pay ¥42.3", "Cancel"] and "in part" not in reply["text"]
