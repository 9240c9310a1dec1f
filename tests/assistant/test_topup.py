"""Phone top-ups end to end through the turn loop: the real router, the real ledger on SQLite.

Money moves only on a clear yes, once; the confirmation names the number (in groups), its carrier
and the amount; bad numbers and amounts off the menu are asked again, never guessed."""

from __future__ import annotations

import asyncio

import pytest

from assistant.turns import Assistant
from tests.conftest import demo_assistant, of_type, say


@pytest.fixture
def assistant(settings, router) -> Assistant:
    return demo_assistant(settings, router)


def balance(assistant: Assistant, user: str) -> int:
    return assistant.billing.balance(user).balance_fen


async def confirm(assistant: Assistant, session, confirmation_id: str, accept: bool = True) -> list[dict]:
    events: list[dict] = []

    async def emit(event) -> None:
        events.append(event.wire())

    await assistant.confirm(session, confirmation_id, accept, emit)
    return events


async def test_top_up_happy_path_pays_once_on_yes(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    events = await say(assistant, session, "给13812345678充100")
    assert of_type(events, "intent")[0]["name"] == "top_up_phone"
    [request] = of_type(events, "confirm.request")
    assert "138 1234 5678" in request["summary"] and "中国移动" in request["summary"] and "100.00元" in request["summary"]
    assert balance(assistant, "u_li") == 50_000  # nothing moves before the yes
    pending = session.state.confirmation
    assert (pending.action, pending.target_kind, pending.target_id, pending.payee, pending.amount_fen) == (
        "top_up_phone", "phone", "13812345678", "中国移动", 10_000)

    reply = (await say(assistant, session, "确认"))[-1]
    assert "已给138 1234 5678充值100.00元" in reply["text"] and reply["card"]["target_kind"] == "phone"
    assert balance(assistant, "u_li") == 40_000
    again = await confirm(assistant, session, request["confirmation_id"])  # a repeated confirm: no second charge
    assert "已经缴过了" in again[-1]["text"] and balance(assistant, "u_li") == 40_000
    assert (await say(assistant, session, "确认"))[-1]["text"] == "现在没有需要确认的事项。"
    assert assistant.billing.ledger_check() == []


async def test_no_never_pays(assistant):
    session, _ = assistant.open_session("u_amy", "en")
    events = await say(assistant, session, "top up 13312345678 with 50 yuan")
    [request] = of_type(events, "confirm.request")
    assert "133 1234 5678" in request["summary"] and "China Telecom" in request["summary"]
    assert "cancelled" in (await say(assistant, session, "no"))[-1]["text"]
    assert balance(assistant, "u_amy") == 100_000 and assistant.billing.ledger_check() == []


@pytest.mark.parametrize("bad", ["1381234567", "12812345678", "138123456789"])
async def test_an_invalid_number_is_said_and_asked_again(assistant, bad):
    session, _ = assistant.open_session("u_li", "zh")
    events = await say(assistant, session, f"给{bad}充50")
    assert not of_type(events, "confirm.request") and not of_type(events, "tool.call")
    assert "不是有效的手机号" in events[-1]["text"]
    assert session.state.awaiting_slot == "phone" and session.state.pending_slots.get("amount") == 50
    events = await say(assistant, session, "13812345678")
    [request] = of_type(events, "confirm.request")
    assert "138 1234 5678" in request["summary"] and "50.00元" in request["summary"]


async def test_an_amount_off_the_menu_offers_the_nearest(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    events = await say(assistant, session, "给13812345678充40")
    assert not of_type(events, "tool.call")
    assert "要充50.00元吗" in events[-1]["text"] and events[-1]["quick_replies"][0] == "充50元"
    [request] = of_type(await say(assistant, session, "好的"), "confirm.request")
    assert "50.00元" in request["summary"] and balance(assistant, "u_li") == 50_000


async def test_any_menu_amount_answers_the_offer(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    await say(assistant, session, "给13812345678充七十")
    [request] = of_type(await say(assistant, session, "充一百吧"), "confirm.request")
    assert "100.00元" in request["summary"]


async def test_a_saved_contact_supplies_the_number_and_the_amount_is_asked(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    events = await say(assistant, session, "给我妈充话费")
    assert "充多少" in events[-1]["text"] and session.state.awaiting_slot == "amount"
    [request] = of_type(await say(assistant, session, "随便充五十"), "confirm.request")
    assert "妈妈的手机 138 1234 5678" in request["summary"] and "50.00元" in request["summary"]


async def test_no_saved_number_asks_for_one(assistant):
    session, _ = assistant.open_session("u_amy", "en")
    events = await say(assistant, session, "top up my dad's phone with 20 yuan")
    assert "no number saved for dad" in events[-1]["text"] and session.state.awaiting_slot == "phone"
    [request] = of_type(await say(assistant, session, "18612345678"), "confirm.request")
    assert "186 1234 5678 (China Unicom)" in request["summary"]


async def test_no_number_at_all_is_asked_for(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    events = await say(assistant, session, "随便充五十")
    assert events[-1]["text"].startswith("给哪个手机号充话费")
    [request] = of_type(await say(assistant, session, "幺三九 八七六五 四三二一"), "confirm.request")
    assert "139 8765 4321" in request["summary"] and "50.00元" in request["summary"]


async def test_elder_mode_reads_the_number_back_in_groups(assistant):
    session, _ = assistant.open_session("u_li", "zh", mode="elder")
    [request] = of_type(await say(assistant, session, "给13812345678充五十"), "confirm.request")
    assert request["summary"].startswith("号码是138 1234 5678，中国移动。") and "五十元" in request["summary"]
    assert request["summary"].endswith("您确认吗？")


async def test_concurrent_confirms_of_one_top_up_pay_once(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    [request] = of_type(await say(assistant, session, "给13812345678充200"), "confirm.request")
    results = await asyncio.gather(*(confirm(assistant, session, request["confirmation_id"]) for _ in range(4)))
    assert all(r[-1]["type"] == "reply" for r in results)
    assert balance(assistant, "u_li") == 30_000 and assistant.billing.ledger_check() == []


async def test_concurrent_top_ups_in_two_sessions_never_overdraw(assistant):
    # 李阿姨 has ¥500: two ¥300 top-ups fit alone, not together
    one, _ = assistant.open_session("u_li", "zh")
    two, _ = assistant.open_session("u_li", "zh")
    [a] = of_type(await say(assistant, one, "给13812345678充300"), "confirm.request")
    [b] = of_type(await say(assistant, two, "给13987654321充300"), "confirm.request")
    replies = await asyncio.gather(confirm(assistant, one, a["confirmation_id"]),
                                   confirm(assistant, two, b["confirmation_id"]))
    texts = sorted(r[-1]["text"] for r in replies)
    assert sum("已给" in t for t in texts) == 1 and sum("余额不足" in t for t in texts) == 1, texts
    assert balance(assistant, "u_li") == 20_000 and assistant.billing.ledger_check() == []
