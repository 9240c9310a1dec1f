"""LLM intent classification: the forced route call, validation, one repair, router fallback."""

from __future__ import annotations

import pytest

from assistant.llm.errors import LLMError
from assistant.llm.understand import Understander, parse_route, route_tool
from assistant.nlu.types import BILL_TYPES, INTENTS, SLOT_NAMES, Context, Understanding
from tests.llm.fake_openai import http_error, text, tool_call

ROUTER_SAID = Understanding(intent="query_bill", confidence=0.41, slots={"bill_type": "water"}, source="router")


def test_route_schema_enumerates_the_contract():
    params = route_tool()["function"]["parameters"]
    assert params["properties"]["intent"]["enum"] == list(INTENTS)
    assert set(params["properties"]["slots"]["properties"]) == set(SLOT_NAMES)
    assert params["properties"]["slots"]["properties"]["bill_type"]["enum"] == list(BILL_TYPES)


@pytest.mark.parametrize(("raw", "problem"), [
    ('{"intent": "transfer_money", "slots": {}}', "intent"),
    ('{"intent": "pay_bill", "slots": {"bill_type": "电费"}}', "bill_type"),
    ('{"intent": "pay_bill", "slots": {"amount": -5}}', "amount"),
    ('{"intent": "pay_bill", "slots": {"payee": "999"}}', "payee"),
    ('{"intent": "pay_bill", "slots": ', "JSON"),
])
def test_invalid_route_arguments_are_explained(raw, problem):
    route, error = parse_route(raw)
    assert route is None and problem in error


def test_slots_at_the_top_level_and_language_names_are_accepted():
    route, error = parse_route('{"intent": "translate", "text": "余额", "target_lang": "English"}')
    assert error is None and route.slots.text == "余额" and route.slots.target_lang == "en"


async def test_forced_route_call_gives_an_llm_understanding(fake, client):
    fake.script(tool_call("route", {"intent": "pay_bill", "confidence": 0.93,
                                    "slots": {"bill_type": "electricity", "amount": 120, "text": "stray"}}))
    u = await Understander(client).understand("把我妈那边的电费交一百二", Context(last_intent="query_bill"), "zh")
    assert (u.intent, u.source, u.lang, u.confidence) == ("pay_bill", "llm", "zh", 0.93)
    assert u.slots == {"bill_type": "electricity", "amount": 120}  # slots pay_bill does not take are dropped
    body = fake.requests[0].body
    assert body["tool_choice"] == {"type": "function", "function": {"name": "route"}}
    assert [t["function"]["name"] for t in body["tools"]] == ["route"]
    assert "query_bill" in body["messages"][0]["content"]  # the dialogue context is in the prompt
    assert body["messages"][-1] == {"role": "user", "content": "把我妈那边的电费交一百二"}


async def test_lookup_service_query_defaults_to_the_text(fake, client):
    fake.script(tool_call("route", {"intent": "lookup_service", "slots": {}}))
    u = await Understander(client).understand("电子发票怎么开")
    assert u.slots == {"query": "电子发票怎么开"} and u.confidence == 0.8


async def test_invalid_answer_is_repaired_once(fake, client):
    fake.script(tool_call("route", {"intent": "pay_electricity", "slots": {}}),
                tool_call("route", {"intent": "pay_bill", "slots": {"bill_type": "electricity"}}))
    u = await Understander(client).understand("电费交了")
    assert u.intent == "pay_bill" and len(fake.requests) == 2
    repair = fake.requests[1].messages
    assert repair[-2]["role"] == "assistant" and repair[-2]["tool_calls"][0]["function"]["name"] == "route"
    assert repair[-1]["role"] == "tool" and "intent" in repair[-1]["content"] and "Error" in repair[-1]["content"]


async def test_text_instead_of_a_call_is_repaired(fake, client):
    fake.script(text("This is a pay_bill request."), tool_call("route", {"intent": "check_balance", "slots": {}}))
    u = await Understander(client).understand("余额还有多少")
    assert u.intent == "check_balance" and fake.requests[1].messages[-1]["role"] == "user"


async def test_still_invalid_after_the_repair_falls_back_to_the_router(fake, client):
    fake.script(tool_call("route", '{"intent": "pay_bill", "slots": {'), tool_call("route", {"intent": "nope"}))
    u = await Understander(client).understand("水费", fallback=ROUTER_SAID)
    assert u is ROUTER_SAID and len(fake.requests) == 2
    fake.script(tool_call("route", {"intent": "nope"}), tool_call("route", {"intent": "nope"}))
    with pytest.raises(LLMError) as raised:
        await Understander(client).understand("水费")
    assert raised.value.code == "llm-bad-response" and not raised.value.retryable


async def test_provider_failure_raises(fake, client):
    fake.script(*[http_error(500)] * 4)
    with pytest.raises(LLMError) as raised:
        await Understander(client).understand("水费", fallback=ROUTER_SAID)
    assert raised.value.code == "llm-unavailable"
