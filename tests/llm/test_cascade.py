"""The escalation rule, build_llm, and the router-only assistant when no model is configured."""

from __future__ import annotations

import pytest

from assistant.llm import build_llm, build_translator
from assistant.llm.cascade import LLMTier
from assistant.llm.translator import LLMTranslator
from assistant.nlu.types import Understanding
from assistant.settings import Settings
from tests.api.conftest import of_type
from tools import build_registry


def _u(intent: str, confidence: float = 0.9) -> Understanding:
    return Understanding(intent=intent, confidence=confidence)


@pytest.fixture
def cascade(client) -> LLMTier:
    return LLMTier(client, build_registry(), min_confidence=0.6)


@pytest.mark.parametrize(("text", "u", "reason"), [
    ("我妈那边的电费好像欠着，帮我看看然后交了", _u("pay_bill", 0.95), "compound"),
    ("check my water bill and then pay it", _u("query_bill", 0.95), "compound"),
    ("查一下电费，并且把水费也交了", _u("pay_bill", 0.9), "compound"),
    ("我上个月搬家了，新家和老家的账单混在一起，我也搞不清楚到底哪个户号欠了多少钱，你帮我理一理", _u("query_bill"), "long"),
    ("电费那个事情", _u("query_bill", 0.41), "unsure"),
    ("我想问一下医保的事", _u("out_of_scope", 0.7), "service-word"),
    ("my gas thing", _u("out_of_scope", 0.8), "service-word"),
])
def test_escalates(cascade, text, u, reason):
    assert cascade.escalation_reason(text, u) == reason and cascade.should_escalate(text, u)


@pytest.mark.parametrize(("text", "u"), [
    ("帮我把这个月电费交了", _u("pay_bill", 0.97)),
    ("what's my balance", _u("check_balance", 0.9)),
    ("给我讲个笑话", _u("out_of_scope", 0.86)),
    ("确认", _u("confirm", 0.3)),  # answers to our own question never leave the router path
    ("算了然后不要了", _u("cancel", 0.8)),
])
def test_stays_on_the_router(cascade, text, u):
    assert not cascade.should_escalate(text, u)


def test_nothing_is_built_without_a_model(tmp_path):
    settings = Settings(data_dir=tmp_path, _env_file=None)
    assert settings.llm_model is None
    assert build_llm(settings, build_registry()) is None and build_translator(settings) is None


def test_built_from_settings(tmp_path, fake):
    settings = Settings(data_dir=tmp_path, _env_file=None, llm_model=fake.model("primary"), llm_base_url=fake.base_url,
                        llm_api_key="sk-fake", llm_timeout_s=3.0, llm_fallbacks=[fake.model("backup")])
    tier = build_llm(settings, build_registry())
    assert isinstance(tier, LLMTier) and tier.client.models == ("openai/primary", "openai/backup")
    assert tier.client.timeout_s == 3.0 and tier.client.api_base == fake.base_url
    assert tier.min_confidence >= settings.router_min_confidence
    assert (tier.min_confidence, tier.long_chars_zh, tier.long_chars_en) == (
        settings.llm_escalate_below, settings.llm_long_chars_zh, settings.llm_long_chars_en)  # the calibrated values
    assert isinstance(build_translator(settings), LLMTranslator)


async def test_router_only_assistant_answers(server, connect_client, assistant):
    """No LUI_LLM_MODEL: the assistant still answers, plainly, on the router alone."""
    assert assistant.llm is None
    client = await connect_client(user="u_li", lang="zh")
    events = await client.say("我妈那边的电费好像欠着，帮我看看然后交了")  # compound, but nobody to escalate to
    assert of_type(events, "intent")[0]["source"] == "router" and of_type(events, "confirm.request")
    events = await client.say("给我讲个笑话")  # while the payment waits, anything unclear asks again
    assert "请说“确认”" in events[-1]["text"] and not of_type(events, "tool.call")
    assert "取消" in (await client.say("不交了"))[-1]["text"]
    events = await client.say("给我讲个笑话")
    assert events[-1]["type"] == "reply" and "帮不了" in events[-1]["text"]
