"""payment_history through the turn loop: the real router, the real ledger on SQLite, a fixed clock.

Only the asking user's done payments count; "交了没有" says when; a period filters by when the
payment was made or which month the bill was for."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assistant.turns import Assistant
from tests.conftest import demo_assistant, of_type, say
from tools.billing import Billing
from tools.history import payment_records, resolve_period, select_records

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC).timestamp()  # the demo's October bills were paid in November


@pytest.fixture
def assistant(settings, router) -> Assistant:
    a = demo_assistant(settings, router)
    a.billing = Billing(a.billing.engine, confirm_ttl_s=300, clock=lambda: NOW)
    return a


async def pay(assistant: Assistant, session, text: str, yes: str) -> None:
    events = await say(assistant, session, text)
    assert of_type(events, "confirm.request"), events[-1]
    assert "confirm_payment" in str(await say(assistant, session, yes))


async def test_last_month_lists_what_was_paid_with_a_card(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    events = await say(assistant, session, "我上个月都交了哪些钱")
    assert of_type(events, "intent")[0]["name"] == "payment_history"
    reply = events[-1]
    assert reply["text"] == "上个月您交了1笔，共172.40元：电费。"
    card = reply["card"]
    assert card["kind"] == "history" and card["total_fen"] == 17_240
    assert [(i["bill_type"], i["amount_fen"], i["account"]) for i in card["items"]] == [
        ("electricity", 17_240, "尾号3456")]


async def test_paid_or_not_says_unpaid_then_when_it_was_paid(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    reply = (await say(assistant, session, "电费交了没有"))[-1]
    assert reply["text"] == "电费还没交：186.50元，12月15日前缴清。" and reply["quick_replies"] == ["交电费"]
    await pay(assistant, session, "交电费", "确认")
    reply = (await say(assistant, session, "电费交了没有"))[-1]
    assert reply["text"] == "电费已经交过了，12月2日交的，186.50元。"  # "已经交过了" says when
    assert [i["amount_fen"] for i in reply["card"]["items"]] == [18_650, 17_240]  # newest first


async def test_a_period_with_a_type_and_nothing_found(assistant):
    session, _ = assistant.open_session("u_amy", "en")
    reply = (await say(assistant, session, "did I pay the electricity last month"))[-1]
    assert reply["text"] == "No electricity payments last month." and reply["card"]["items"] == []
    reply = (await say(assistant, session, "how much did I spend on bills this year"))[-1]
    assert reply["text"] == "This year you made 1 payment, ¥128.00 in all: phone."


async def test_top_ups_are_history_and_only_done_payments_count(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    await pay(assistant, session, "给13812345678充100", "确认")
    events = await say(assistant, session, "给13987654321充50")  # prepared, then cancelled: not history
    assert of_type(events, "confirm.request")
    await say(assistant, session, "取消")
    reply = (await say(assistant, session, "这个月我都交了什么费"))[-1]
    assert reply["text"] == "这个月您交了1笔，共100.00元：话费充值。"
    assert reply["card"]["items"][0]["account"] == "138 1234 5678"


async def test_latest_of_a_type_however_old_in_elder_wording(assistant):
    session, _ = assistant.open_session("u_wang", "zh", mode="elder")
    reply = (await say(assistant, session, "最近一笔有线电视费什么时候交的"))[-1]
    assert reply["text"] == "上次交有线电视费是11月8日，交了二十五元。"


def test_history_is_only_the_users_own(assistant):
    records = payment_records(assistant.billing, "u_wang")
    assert {r.payment_id for r in records} and all(r.account == "TV6021388" for r in records)
    assert not select_records(records, bill_type="electricity", period=None, account=None, today=date(2026, 12, 2))


def test_periods_resolve_against_today():
    today = date(2026, 1, 10)
    assert resolve_period("last_month", today) == (date(2025, 12, 1), date(2026, 1, 1))
    assert resolve_period("this_month", today) == (date(2026, 1, 1), date(2026, 2, 1))
    assert resolve_period("--11", today) == (date(2025, 11, 1), date(2025, 12, 1))  # the latest November
    assert resolve_period("2026-01", today) == (date(2026, 1, 1), date(2026, 2, 1))
    assert resolve_period("this_year", today) == (date(2026, 1, 1), date(2027, 1, 1))
    assert resolve_period(None, today) is None and resolve_period("nonsense", today) is None
