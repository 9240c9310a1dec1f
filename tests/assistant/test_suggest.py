"""Reminders and next steps from the user's own bills: after a payment one offer; "好" only prepares
the next payment (money still waits for its own yes); a declined offer is never made again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assistant.turns import Assistant
from tests.conftest import demo_assistant, of_type, say
from tools.billing import Billing

DEC_10 = datetime(2026, 12, 10, 2, 0, tzinfo=UTC).timestamp()  # the demo's November bills are due Dec 15
NOV_20 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC).timestamp()


def at(assistant: Assistant, ts: float) -> Assistant:
    assistant.billing = Billing(assistant.billing.engine, confirm_ttl_s=300, clock=lambda: ts)
    return assistant


@pytest.fixture
def assistant(settings, router) -> Assistant:
    return at(demo_assistant(settings, router), DEC_10)


async def paid(assistant: Assistant, session, text: str, yes: str = "确认") -> dict:
    assert of_type(await say(assistant, session, text), "confirm.request")
    return (await say(assistant, session, yes))[-1]


async def remind(assistant: Assistant, session) -> list[dict]:
    events: list[dict] = []

    async def emit(event) -> None:
        events.append(event.wire())

    await assistant.remind(session, emit)
    return events


async def test_after_paying_one_bill_the_same_homes_bill_due_soon_is_offered(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    reply = await paid(assistant, session, "交电费")
    assert reply["text"] == "已缴费186.50元，余额还有313.50元。燃气费也快到期了（12月15日前，68.00元），要一起交吗？"
    assert reply["quick_replies"] == ["交燃气费"]
    events = await say(assistant, session, "好的")  # takes the offer: prepares, never pays
    [request] = of_type(events, "confirm.request")
    assert "燃气费68.00元" in request["summary"]
    assert assistant.billing.balance("u_li").balance_fen == 50_000 - 18_650
    reply = (await say(assistant, session, "确认"))[-1]
    assert assistant.billing.balance("u_li").balance_fen == 50_000 - 18_650 - 6_800
    assert reply["quick_replies"] == ["交水费"]  # the last bill of the home


@pytest.mark.parametrize(("lang", "user", "request_", "yes", "offered", "label"), [
    ("zh", "u_li", "帮我交电费和水费", "确认", "水费", "交水费"),  # not the gas bill the plain next step offers
    ("zh", "u_li", "电费跟水费都帮我交了", "确认", "水费", "交水费"),
    ("en", "u_amy", "pay my electricity and phone bills", "yes", "phone", "Pay phone"),
])
async def test_a_bill_named_with_the_paid_one_is_offered_next(assistant, lang, user, request_, yes, offered, label):
    session, _ = assistant.open_session(user, lang)
    reply = await paid(assistant, session, request_, yes)
    assert offered in reply["text"] and reply["quick_replies"] == [label], reply
    [request] = of_type(await say(assistant, session, "好的" if lang == "zh" else "yes"), "confirm.request")
    assert offered in request["summary"]  # prepared only: it waits for its own yes


async def test_water_electricity_and_gas_are_offered_one_after_another(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    assert "水费" in (await say(assistant, session, "把水电煤都交了"))[-1]["text"]
    assert (await say(assistant, session, "确认"))[-1]["quick_replies"] == ["交电费"]
    assert of_type(await say(assistant, session, "好"), "confirm.request")
    assert (await say(assistant, session, "确认"))[-1]["quick_replies"] == ["交燃气费"]
    assert assistant.billing.balance("u_li").balance_fen == 50_000 - 4_230 - 18_650


async def test_a_bill_put_off_in_the_same_sentence_is_not_offered(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    reply = await paid(assistant, session, "交电费，水费下个月再说")
    assert "水费" not in reply["text"] and reply["quick_replies"] == ["交燃气费"]


async def test_a_declined_offer_is_not_made_again(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    assert (await paid(assistant, session, "交电费"))["quick_replies"] == ["交燃气费"]
    assert (await say(assistant, session, "不用了"))[-1]["text"] == "好的。还有什么可以帮您？"
    assert session.state.declined == ["pay_bill:bill_li_gas_202611"] and session.state.offer is None
    reply = await paid(assistant, session, "交水费")
    assert reply.get("quick_replies") is None and "燃气" not in reply["text"]  # gas was declined: nothing else
    assert assistant.billing.balance("u_li").balance_fen == 50_000 - 18_650 - 4_230


async def test_the_offer_names_the_home_when_not_due_soon(settings, router):
    assistant = at(demo_assistant(settings, router), NOV_20)
    session, _ = assistant.open_session("u_wang", "zh")
    reply = await paid(assistant, session, "交有线电视费")
    assert reply["text"].endswith("静安老房子的电费还没交（95.20元），要一起交吗？")  # same home, not 浦东
    assert reply["quick_replies"] == ["交电费"]


async def test_a_top_up_to_a_new_number_offers_to_remember_it(assistant):
    session, _ = assistant.open_session("u_amy", "en")
    reply = await paid(assistant, session, "top up 13312345678 with 50 yuan", "yes")
    assert reply["text"].endswith("Save 133 1234 5678 so you can top it up by name next time?")
    assert reply["quick_replies"] == ["Save this number"]
    assert (await say(assistant, session, "Save this number"))[-1]["text"] == "Whose number is it? For example \"mom\"."
    saved = (await say(assistant, session, "my brother"))[-1]["text"]
    assert saved == 'Saved: my brother, 133 1234 5678. Next time say "top up my brother".'
    assert any(c.phone == "13312345678" for c in assistant.billing.contacts("u_amy"))
    events = await say(assistant, session, "top up my brother with 30 yuan")  # the saved number, by name
    [request] = of_type(events, "confirm.request")
    assert "133 1234 5678" in request["summary"]
    assert "Topped up 133 1234 5678" in (await say(assistant, session, "yes"))[-1]["text"]
    reply = await paid(assistant, session, "top up 13312345678 with 20 yuan", "yes")  # saved now: no offer
    assert reply.get("quick_replies") is None


async def test_a_saved_number_or_a_declined_offer_is_not_offered(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    reply = await paid(assistant, session, "给13812345678充100")  # 妈妈's number, saved already
    assert reply.get("quick_replies") is None and session.state.offer is None
    assert (await paid(assistant, session, "给13712345678充50"))["quick_replies"] == ["存下这个号码"]
    assert (await say(assistant, session, "不用了"))[-1]["text"] == "好的。还有什么可以帮您？"
    assert (await paid(assistant, session, "给13712345678充30")).get("quick_replies") is None
    assert all(c.phone != "13712345678" for c in assistant.billing.contacts("u_li"))


async def test_reminder_names_only_the_users_bills_due_soon(assistant):
    session, _ = assistant.open_session("u_amy", "en")
    [reply] = await remind(assistant, session)
    assert reply["type"] == "reply" and reply["text"].startswith("You have 3 bill(s) due soon: ")
    assert {b["id"] for b in reply["card"]["bills"]} == {"bill_amy_phone_202611", "bill_amy_net_202611",
                                                         "bill_amy_elec_202611"}
    assert reply["quick_replies"] == ["Pay electricity", "Pay internet", "Pay phone"]
    at(assistant, NOV_20)  # 25 days before they are due: nothing to say
    assert await remind(assistant, session) == []
