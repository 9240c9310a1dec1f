"""What the assistant says when payments race, crash or are refused: each receipt its own balance,
the amount a bill really owes, a receipt (not a second question) after a crash, and no internal
text or echoed client input in a reply. Real server, websocket, router and SQLite ledger."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlmodel import Session

from assistant.store.models import Wallet
from tests.api.conftest import of_type


def _bill(assistant, user: str, bill_type: str):
    return assistant.billing.bills(user, bill_type, "unpaid")[0]


async def test_after_a_crash_the_resumed_session_gets_the_receipt_with_its_own_balance(connect_client, assistant):
    client, started = await connect_client(user="u_li", lang="zh")
    request = of_type(await client.say("帮我把电费交了"), "confirm.request")[0]
    await client.ws.close()
    # the process paid and died before answering: the ledger has the payment, the session still waits
    receipt = assistant.billing.confirm_payment("u_li", request["confirmation_id"])
    other = assistant.billing.prepare_payment("u_li", _bill(assistant, "u_li", "water").id, idempotency_key="other")
    assistant.billing.confirm_payment("u_li", other.confirmation_id)  # and another device paid water since

    again, resumed = await connect_client(user="u_li", lang="zh", session_id=started["session_id"])
    assert resumed["resumed"] is True
    events = await again.until_terminal()
    assert not of_type(events, "confirm.request")
    reply = events[-1]
    assert reply["type"] == "reply" and reply["card"]["kind"] == "receipt"
    assert "186.50元" in reply["text"] and f"{receipt.balance_after_fen / 100:.2f}元" in reply["text"]
    assert [e["name"] for e in of_type(events, "tool.call")] == ["confirm_payment"]
    assert assistant.billing.ledger_check() == []
    # nothing is waiting any more, and a later 确认 says so instead of paying
    assert "没有需要确认" in (await again.say("确认"))[-1]["text"]


async def test_a_cancelled_confirmation_is_not_asked_again_on_resume(connect_client, assistant):
    client, started = await connect_client(user="u_li", lang="zh")
    request = of_type(await client.say("帮我把燃气费交了"), "confirm.request")[0]
    await client.ws.close()
    assistant.billing.cancel_payment("u_li", request["confirmation_id"])  # cancelled on another device
    again, _ = await connect_client(user="u_li", lang="zh", session_id=started["session_id"])
    events = await again.say("你好")
    assert not of_type(events, "confirm.request") and events[-1]["type"] == "reply"


async def test_a_losing_partial_payment_is_told_what_the_bill_owes_now(connect_client, assistant):
    with Session(assistant.billing.engine) as s:  # enough money for both payments
        s.exec(sa.update(Wallet).where(Wallet.user_id == "u_wang").values(balance_fen=100_000))
        s.commit()
    bill = _bill(assistant, "u_wang", "property")
    client, _ = await connect_client(user="u_wang", lang="zh")
    request = of_type(await client.say("物业费先交10块"), "confirm.request")[0]
    assert "10.00元" in request["summary"]
    # another payment leaves 1.86 owed before this one is confirmed
    rival = assistant.billing.prepare_payment("u_wang", bill.id, bill.outstanding_fen - 186, idempotency_key="rival")
    assistant.billing.confirm_payment("u_wang", rival.confirmation_id)
    await client.send(type="confirm", confirmation_id=request["confirmation_id"], accept=True)
    reply = (await client.until_terminal())[-1]
    assert reply["type"] == "reply" and "1.86元" in reply["text"] and "10.00元" not in reply["text"]
    assert _bill(assistant, "u_wang", "property").outstanding_fen == 186


async def test_refusals_speak_the_conversation_language_and_echo_nothing(connect_client):
    client, _ = await connect_client(user="u_li", lang="zh")
    await client.send(type="confirm", confirmation_id="cf_doesnotexist<script>", accept=True)
    zh = (await client.until_terminal())[-1]
    english, _ = await connect_client(user="u_amy", lang="en")
    await english.send(type="confirm", confirmation_id="cf_doesnotexist", accept=True)
    en = (await english.until_terminal())[-1]
    assert zh["type"] == "reply" and "没有找到" in zh["text"] and "没有扣款" in zh["text"]
    assert en["type"] == "reply" and "couldn't find" in en["text"]
    for text in (zh["text"], en["text"]):
        assert "cf_" not in text and "script" not in text
    assert not re.search(r"[A-Za-z]{3,}", zh["text"])  # no English inside a Mandarin reply


async def test_someone_elses_confirmation_reads_like_a_missing_one(connect_client, assistant):
    owner, _ = await connect_client(user="u_li", lang="zh")
    request = of_type(await owner.say("帮我把水费交了"), "confirm.request")[0]
    thief, _ = await connect_client(user="u_wang", lang="zh")
    await thief.send(type="confirm", confirmation_id=request["confirmation_id"], accept=True)
    stolen = await thief.until_terminal()
    await thief.send(type="confirm", confirmation_id="cf_made_up_0000000000", accept=True)
    missing = await thief.until_terminal()
    strip = [{k: v for k, v in e.items() if k not in ("call_id", "args", "timings_ms")} for e in stolen]
    assert strip == [{k: v for k, v in e.items() if k not in ("call_id", "args", "timings_ms")} for e in missing]
    assert assistant.billing.payment("u_li", request["confirmation_id"]).status == "pending"
