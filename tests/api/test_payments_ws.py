"""Bill payments end to end: real server, real websocket, real router, real SQLite ledger."""

from __future__ import annotations

import asyncio

from tests.api.conftest import of_type


def _balance(assistant, user: str) -> int:
    return assistant.billing.balance(user).balance_fen


def _unpaid(assistant, user: str, bill_type: str):
    return assistant.billing.bills(user, bill_type, "unpaid")


async def test_mandarin_payment_with_confirm_message(connect_client, assistant):
    before = _balance(assistant, "u_li")
    owed = _unpaid(assistant, "u_li", "electricity")[0].outstanding_fen
    client, started = await connect_client(user="u_li", lang="zh")
    assert started["lang"] == "zh"
    events = await client.say("帮我把这个月电费交了")
    intent = of_type(events, "intent")[0]
    assert intent["name"] == "pay_bill" and intent["slots"]["bill_type"] == "electricity"
    request = of_type(events, "confirm.request")[0]
    assert "电费" in request["summary"] and "186.50元" in request["summary"]
    assert of_type(events, "reply")[0]["text"] == request["summary"]
    assert _balance(assistant, "u_li") == before, "no money may move before confirmation"

    await client.send(type="confirm", confirmation_id=request["confirmation_id"], accept=True)
    done = await client.until_terminal()
    reply = done[-1]
    assert reply["type"] == "reply" and "已缴费" in reply["text"]
    assert _balance(assistant, "u_li") == before - owed
    assert _unpaid(assistant, "u_li", "electricity") == []
    assert assistant.billing.ledger_check() == []


async def test_english_payment_confirmed_by_typing_yes(connect_client, assistant):
    before = _balance(assistant, "u_amy")
    owed = _unpaid(assistant, "u_amy", "internet")[0].outstanding_fen
    client, _ = await connect_client(user="u_amy", lang="en")
    events = await client.say("please pay my broadband bill")
    request = of_type(events, "confirm.request")[0]
    assert "internet" in request["summary"] and "¥99.00" in request["summary"]
    events = await client.say("yes, go ahead")
    assert of_type(events, "intent")[0]["name"] == "confirm"
    assert "Paid ¥99.00" in events[-1]["text"]
    assert _balance(assistant, "u_amy") == before - owed


async def test_auto_language_carries_over_to_the_confirm_button(connect_client):
    client, _ = await connect_client(user="u_wang", lang="auto")
    request = of_type(await client.say("交有线电视费"), "confirm.request")[0]
    await client.send(type="confirm", confirmation_id=request["confirmation_id"], accept=True)
    assert "已缴费" in (await client.until_terminal())[-1]["text"]
    events = await client.say("what's my balance")
    assert events[-1]["text"].startswith("Your balance")


async def test_cancel_message_cancels_pending_payment(connect_client, assistant):
    before = _balance(assistant, "u_li")
    client, _ = await connect_client(user="u_li", lang="zh")
    events = await client.say("交一下水费")
    assert of_type(events, "confirm.request")
    await client.send(type="cancel")
    reply = (await client.until_terminal())[-1]
    assert reply["type"] == "reply" and "取消" in reply["text"]
    assert _balance(assistant, "u_li") == before
    assert len(_unpaid(assistant, "u_li", "water")) == 1


async def test_declined_confirmation_pays_nothing(connect_client, assistant):
    before = _balance(assistant, "u_li")
    client, _ = await connect_client(user="u_li", lang="zh")
    request = of_type(await client.say("燃气费帮我交了吧"), "confirm.request")[0]
    await client.send(type="confirm", confirmation_id=request["confirmation_id"], accept=False)
    reply = (await client.until_terminal())[-1]
    assert reply["type"] == "reply" and "没有扣款" in reply["text"]
    assert _balance(assistant, "u_li") == before
    # confirming the declined payment afterwards must not pay it
    await client.send(type="confirm", confirmation_id=request["confirmation_id"], accept=True)
    again = (await client.until_terminal())[-1]
    assert _balance(assistant, "u_li") == before
    assert again["type"] == "reply" and "已经取消" in again["text"] and "cf_" not in again["text"]


async def test_double_confirmation_pays_once(connect_client, assistant):
    before = _balance(assistant, "u_amy")
    owed = _unpaid(assistant, "u_amy", "phone")[0].outstanding_fen
    client, _ = await connect_client(user="u_amy", lang="en")
    request = of_type(await client.say("pay my phone bill"), "confirm.request")[0]  # "top up" is top_up_phone now
    other, _ = await connect_client(user="u_amy", lang="en")
    confirm = {"type": "confirm", "confirmation_id": request["confirmation_id"], "accept": True}
    # twice on one socket and once from another connection, all at once
    await asyncio.gather(client.send(**confirm), client.send(**confirm), other.send(**confirm))
    replies = [(await client.until_terminal())[-1], (await client.until_terminal())[-1],
               (await other.until_terminal())[-1]]
    assert all(r["type"] == "reply" for r in replies)
    assert sum("Paid" in r["text"] for r in replies) == 1
    assert sum("already done" in r["text"] for r in replies) == 2
    assert _balance(assistant, "u_amy") == before - owed
    assert assistant.billing.ledger_check() == []


async def test_reconnect_resumes_pending_confirmation(connect_client, assistant):
    before = _balance(assistant, "u_li")
    client, started = await connect_client(user="u_li", lang="zh", mode="elder")
    request = of_type(await client.say("我要交电费"), "confirm.request")[0]
    await client.ws.close()

    again, resumed = await connect_client(user="u_li", lang="zh", mode="elder", session_id=started["session_id"])
    assert resumed["resumed"] is True and resumed["session_id"] == started["session_id"]
    replayed = await again.recv()
    assert replayed["type"] == "confirm.request"
    assert replayed["confirmation_id"] == request["confirmation_id"]
    events = await again.say("确认")
    assert "交好了" in events[-1]["text"]
    assert _balance(assistant, "u_li") < before


async def test_someone_elses_session_is_refused(connect_client):
    _, started = await connect_client(user="u_li")
    thief, _ = await connect_client(start=False)
    await thief.send(type="session.start", user="u_amy", session_id=started["session_id"])
    error = await thief.recv()
    assert error["type"] == "error" and error["code"] == "forbidden"


async def test_insufficient_balance_is_refused_and_nothing_changes(connect_client, assistant):
    before = _balance(assistant, "u_wang")
    client, _ = await connect_client(user="u_wang", lang="zh")
    events = await client.say("交物业费")
    assert not of_type(events, "confirm.request")
    assert "余额不足" in events[-1]["text"]
    assert _balance(assistant, "u_wang") == before


async def test_slot_filling_asks_which_account(connect_client, assistant):
    client, _ = await connect_client(user="u_wang", lang="zh")
    events = await client.say("交电费")
    reply = events[-1]
    assert "哪一个" in reply["text"] and len(reply["quick_replies"]) == 2
    assert not of_type(events, "confirm.request")
    events = await client.say("浦东新房子那个")
    call = of_type(events, "tool.call")[0]
    assert call["args"] == {"bill_type": "electricity", "account": "3100555666"}
    # Wang holds ¥30: the chosen home's ¥58.70 bill is refused, and nothing is pending
    assert "58.70元" in events[-1]["text"] and "余额不足" in events[-1]["text"]
    events = await client.say("交有线电视费")
    request = of_type(events, "confirm.request")[0]
    assert "25.00元" in request["summary"] and "1388" in request["summary"]


async def test_missing_bill_type_is_asked_for(connect_client):
    client, _ = await connect_client(user="u_amy", lang="en")
    events = await client.say("I want to pay a bill")
    assert "Which bill" in events[-1]["text"]
    events = await client.say("the phone one")
    assert of_type(events, "confirm.request")


async def test_elder_mode_spells_amounts(connect_client):
    client, _ = await connect_client(user="u_li", lang="zh", mode="elder")
    events = await client.say("这个月水费多少")
    assert "四十二元三角" in events[-1]["text"]
    events = await client.say("我还有多少钱")
    assert "五百元" in events[-1]["text"]
