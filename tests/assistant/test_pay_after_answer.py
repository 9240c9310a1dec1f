"""After an answer about one unpaid bill, "那交了吧" / "pay it" prepares that bill's payment.

"这个月水费多少" → "水费四十二元三角……" → "那交了吧" used to get "现在没有需要确认的事项" (or, read by the router
as a cancel, "好的"): the bill just talked about was not what "it" meant. Now the answer leaves an *implicit*
offer: words that say to pay take it, and it only prepares the payment (confirm.request); money still waits
for its own clear yes. A bare "好", a thank-you, a question or a refusal takes nothing, and dropping the
offer declines nothing (a later next step may still offer that bill)."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.turns import Assistant
from tests.conftest import demo_assistant, of_type, say


@pytest.fixture
def assistant(settings, router) -> Assistant:
    return demo_assistant(settings, router)


def _tools(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events if e["type"] == "tool.call"]


def _balance(assistant: Assistant, user: str) -> int:
    return assistant.billing.balance(user).balance_fen


@pytest.mark.parametrize("question", ["这个月水费多少", "水费交了吗"])
@pytest.mark.parametrize("answer", ["那交了吧", "交了吧", "那交吧", "帮我交了吧", "好，交吧", "那帮我交一下", "直接付"])
async def test_pay_it_after_hearing_about_one_bill_prepares_that_bill(assistant, question, answer):
    session, _ = assistant.open_session("u_li", "zh", "elder")
    before = _balance(assistant, "u_li")
    told = await say(assistant, session, question)
    assert "四十二元三角" in told[-1]["text"] and session.state.confirmation is None
    events = await say(assistant, session, answer)
    request = of_type(events, "confirm.request")
    assert _tools(events) == ["pay_bill"] and request and "水费" in request[0]["summary"], events
    assert session.state.confirmation is not None and session.state.confirmation.bill_type == "water"
    assert _balance(assistant, "u_li") == before  # prepared only: nothing moved yet
    paid = await say(assistant, session, "确认")
    assert _tools(paid) == ["confirm_payment"] and _balance(assistant, "u_li") == before - 4230


@pytest.mark.parametrize("answer", ["then pay it", "pay it", "go ahead and pay it", "ok pay it then"])
async def test_pay_it_in_english_after_hearing_about_one_bill(assistant, answer):
    session, _ = assistant.open_session("u_amy", "en")
    await say(assistant, session, "what's my electricity bill?")
    events = await say(assistant, session, answer)
    assert _tools(events) == ["pay_bill"] and "electricity" in of_type(events, "confirm.request")[0]["summary"]


@pytest.mark.parametrize(("lang", "question", "answer"), [
    ("zh", "这个月水费多少", "好"), ("zh", "这个月水费多少", "嗯"), ("zh", "这个月水费多少", "谢谢"),
    ("zh", "水费交了吗", "交了吗"), ("zh", "水费交了吗", "不用了"), ("zh", "这个月水费多少", "先别交"),
    ("zh", "这个月水费多少", "交吧？"), ("zh", "这个月水费多少", "我想想再交"),
    ("en", "what's my electricity bill?", "ok"), ("en", "what's my electricity bill?", "thanks"),
    ("en", "what's my electricity bill?", "no"), ("en", "what's my electricity bill?", "should I pay it?"),
])
async def test_an_acknowledgement_a_question_or_a_no_prepares_nothing(assistant, lang, question, answer):
    user = "u_li" if lang == "zh" else "u_amy"
    session, _ = assistant.open_session(user, lang)
    await say(assistant, session, question)
    events = await say(assistant, session, answer)
    assert "pay_bill" not in _tools(events) and not of_type(events, "confirm.request"), events
    assert session.state.confirmation is None


async def test_the_offer_lasts_one_turn_and_follows_the_last_bill_talked_about(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    await say(assistant, session, "这个月水费多少")
    await say(assistant, session, "电费多少")
    events = await say(assistant, session, "那交吧")
    assert "电费" in of_type(events, "confirm.request")[0]["summary"]
    await say(assistant, session, "取消")
    await say(assistant, session, "这个月水费多少")
    await say(assistant, session, "我的余额多少")  # something else in between: the offer is gone
    events = await say(assistant, session, "那交吧")
    assert not of_type(events, "confirm.request") and "哪种" in events[-1]["text"]  # which bill?


async def test_pay_it_after_several_bills_asks_which(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    await say(assistant, session, "这个月要交哪些")
    events = await say(assistant, session, "那交吧")
    assert not of_type(events, "confirm.request") and events[-1]["text"] == "您要交哪种费用？"
    assert session.state.pending_intent == "pay_bill" and session.state.awaiting_slot == "bill_type"


async def test_a_dropped_implicit_offer_is_not_declined(assistant):
    """Asking about the gas bill, then another, must not stop the next step from offering gas later."""
    session, _ = assistant.open_session("u_li", "zh")
    await say(assistant, session, "燃气费多少")
    await say(assistant, session, "电费多少")
    assert not session.state.declined
    assert of_type(await say(assistant, session, "那交吧"), "confirm.request")
    done = await say(assistant, session, "确认")
    assert _tools(done) == ["confirm_payment"] and "燃气费" in done[-1]["text"]  # offered next


async def test_a_spoken_yes_the_router_reads_as_cancel_takes_the_next_step_offer(assistant):
    """After a payment lui offers the next bill ("燃气费还没交……要一起交吗？"); 那交了吧 takes it."""
    session, _ = assistant.open_session("u_li", "zh", "elder")
    assert of_type(await say(assistant, session, "帮我交电费"), "confirm.request")
    offered = await say(assistant, session, "确认")
    assert "燃气费" in offered[-1]["text"]
    events = await say(assistant, session, "那交了吧")
    assert _tools(events) == ["pay_bill"] and "燃气费" in of_type(events, "confirm.request")[0]["summary"]


async def test_english_sentences_start_with_a_capital_whatever_the_template_puts_first(assistant):
    """The next step's template opens with the bill name: "Paid ... left. electricity is not paid yet"."""
    session, _ = assistant.open_session("u_amy", "en", "elder")
    assert of_type(await say(assistant, session, "pay my internet bill"), "confirm.request")
    reply = (await say(assistant, session, "yes"))[-1]["text"]
    assert "Electricity is not paid yet" in reply and "electricity is not" not in reply, reply
    told = (await say(assistant, session, "what's my electricity bill?"))[-1]["text"]
    assert told.startswith("Electricity (ending"), told  # the bill line's template opens with the name
