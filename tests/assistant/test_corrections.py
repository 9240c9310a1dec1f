"""A correction to the waiting payment: "不对，是13812345679", "不对，充五十", "换成水费吧", "actually, the phone bill".

It used to cancel (the 不对 in it) or be refused ("您还有一笔电费等待确认"), and the person had to start
again. Now the waiting action is cancelled and the corrected one prepared: a new confirm.request, and money
still waits for its own clear yes. A plain 不对 still only cancels; a question never corrects."""

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


async def _corrected(assistant: Assistant, lang: str, request_: str, correction: str, tools: list[str]):
    """(session, the first confirm.request, the corrected one, the balance before): nothing moved yet."""
    session, _ = assistant.open_session("u_li", lang)
    before = assistant.billing.balance("u_li").balance_fen
    first = of_type(await say(assistant, session, request_), "confirm.request")[0]
    events = await say(assistant, session, correction)
    assert _tools(events) == ["cancel_payment", *tools], events
    assert assistant.billing.balance("u_li").balance_fen == before  # prepared only
    return session, first, of_type(events, "confirm.request")[0], before


@pytest.mark.parametrize(("lang", "request_", "correction", "shown"), [
    ("zh", "给13812345678充一百", "不对，是13812345679", "138 1234 5679"),
    ("zh", "给13812345678充一百", "号码错了，13912345678", "139 1234 5678"),
    ("en", "top up 13812345678 with 100", "no, 13912345678", "139 1234 5678"),
])
async def test_another_number_for_a_waiting_top_up(assistant, lang, request_, correction, shown):
    session, first, request, before = await _corrected(assistant, lang, request_, correction, ["top_up_phone"])
    assert shown in request["summary"] and request["confirmation_id"] != first["confirmation_id"]
    assert session.state.confirmation.target_id == shown.replace(" ", "")
    done = await say(assistant, session, "确认" if lang == "zh" else "yes")
    assert _tools(done) == ["confirm_payment"] and assistant.billing.balance("u_li").balance_fen == before - 10_000
    # the first top-up was cancelled: its confirmation can never be paid now
    late: list[dict] = []

    async def emit(event) -> None:
        late.append(event.wire())

    await assistant.confirm(session, first["confirmation_id"], True, emit)
    assert assistant.billing.balance("u_li").balance_fen == before - 10_000


@pytest.mark.parametrize(("lang", "correction", "amount"), [
    ("zh", "不对，充五十", "50.00元"), ("zh", "改成五十块", "50.00元"), ("en", "no, make it 50", "¥50.00"),
])
async def test_another_amount_for_a_waiting_top_up(assistant, lang, correction, amount):
    request_ = "给13812345678充一百" if lang == "zh" else "top up 13812345678 with 100"
    session, _first, request, _before = await _corrected(assistant, lang, request_, correction, ["top_up_phone"])
    assert amount in request["summary"] and session.state.confirmation.amount_fen == 5_000
    assert session.state.confirmation.target_id == "13812345678"


async def test_another_amount_for_a_bill_that_takes_its_whole_amount_offers_what_it_owes(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    assert of_type(await say(assistant, session, "帮我交电费"), "confirm.request")
    events = await say(assistant, session, "不对，交一百")
    assert _tools(events) == ["cancel_payment", "pay_bill"] and not of_type(events, "confirm.request")
    assert "186.50元" in events[-1]["text"] and session.state.confirmation is None


@pytest.mark.parametrize(("lang", "request_", "correction", "bill"), [
    ("zh", "帮我交电费", "换成水费吧", "水费"),
    ("zh", "帮我交电费", "不对，是燃气费", "燃气费"),
    ("en", "pay my electricity bill", "actually, the water bill", "water"),
])
async def test_another_bill_for_a_waiting_payment(assistant, lang, request_, correction, bill):
    session, _first, request, _before = await _corrected(assistant, lang, request_, correction, ["pay_bill"])
    assert bill in request["summary"] and session.state.confirmation.bill_type != "electricity"


@pytest.mark.parametrize(("text", "tools"), [
    ("不对", ["cancel_payment"]),  # a plain no: cancelled, nothing new prepared
    ("不是这个", ["cancel_payment"]),
    ("不是水费吗？", []),  # a question: asked again
    ("不对吧，是水费吗", []),
    ("换成电费", []),  # the same bill: nothing to correct, asked again
])
async def test_what_corrects_nothing(assistant, text, tools):
    session, _ = assistant.open_session("u_li", "zh")
    assert of_type(await say(assistant, session, "帮我交电费"), "confirm.request")
    events = await say(assistant, session, text)
    assert _tools(events) == tools and not of_type(events, "confirm.request"), events
