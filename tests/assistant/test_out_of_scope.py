"""What lui cannot do, said plainly: the real router, a real retriever on the packaged catalogue
(Qdrant local mode), the real ledger on SQLite.

A "look up / tell me how ..." that the router reads as ``lookup_service`` but that no catalogue
service matches is out of scope after all; a bill lui does not pay (车贷, credit card, rent ...)
is answered with the bills it does pay and, when the catalogue has one, the service that pays it.
"""

from __future__ import annotations

import pytest

from assistant.replies import MESSAGES
from assistant.turns import Assistant
from tests.conftest import demo_assistant, of_type, say
from tools.services import lookup_service

SORRY = {"zh": (MESSAGES["out_of_scope"][0], ["交费", "查账单", "查余额"]),
         "en": (MESSAGES["out_of_scope"][1], ["Pay a bill", "Check my bills", "Check balance"])}
PAYABLE = {"zh": "我能交的是电费、水费、燃气费、话费、宽带费、物业费和有线电视费。",
           "en": "The bills I can pay are electricity, water, gas, phone, internet, property and TV bills."}


@pytest.fixture
def assistant(settings, router, retriever) -> Assistant:
    a = demo_assistant(settings, router)
    a.retriever = retriever
    a.registry.register(lookup_service, timeout_s=30.0)
    return a


@pytest.mark.parametrize(("text", "lang"), [
    ("find instructions on how to play taboo", "en"),
    ("tell me where to send my resume", "en"),
    ("帮我查下怎么倒车入库", "zh"),
    ("帮我查一下去哪里投简历", "zh"),
])
async def test_a_lookup_that_matches_no_service_is_out_of_scope(assistant, text, lang):
    session, _ = assistant.open_session("u_li", lang)
    events = await say(assistant, session, text)
    # the router reads it as out of scope, or as a lookup that retrieval does not back: same answer
    if of_type(events, "intent")[0]["name"] == "lookup_service":
        assert of_type(events, "tool.result")[0]["data"] == {"status": "no_match"}
    else:
        assert of_type(events, "intent")[0]["name"] == "out_of_scope" and not of_type(events, "tool.call")
    reply = events[-1]
    assert reply["type"] == "reply" and (reply["text"], reply["quick_replies"]) == SORRY[lang]
    assert "card" not in reply or reply["card"] is None
    assert session.state.pending_intent is None


@pytest.mark.parametrize(("text", "lang", "name", "service"), [
    ("帮我还信用卡", "zh", "信用卡还款", "credit-card-repayment"),
    ("交学费", "zh", "学费", "tuition-payment"),
    ("帮我还车贷", "zh", "车贷", None),
    ("交房租", "zh", "房租", None),
    ("交会员订阅费", "zh", "会员订阅费", None),
    ("交一下保险费", "zh", "保险费", None),
    ("pay my credit card bill", "en", "credit card bills", "credit-card-repayment"),
    ("pay my tuition", "en", "school fees", "tuition-payment"),
    ("pay my car payment", "en", "car loans", None),
    ("pay the rent", "en", "rent", None),
    ("pay my netflix subscription", "en", "subscriptions", None),
    ("I want to pay my insurance premium", "en", "insurance premiums", None),
])
async def test_a_bill_lui_does_not_pay_names_the_ones_it_does(assistant, text, lang, name, service):
    session, _ = assistant.open_session("u_li", lang)
    events = await say(assistant, session, text)
    # the router may read it as a look-up; the answer is still the bills lui pays, without a search
    assert of_type(events, "intent")[0]["name"] in ("pay_bill", "query_bill", "out_of_scope", "lookup_service")
    assert not of_type(events, "tool.call") and not of_type(events, "confirm.request")  # no money, no bill looked up
    reply = events[-1]
    assert reply["type"] == "reply" and name in reply["text"] and PAYABLE[lang] in reply["text"]
    assert reply["quick_replies"] == SORRY[lang][1]
    if service is None:
        assert reply.get("card") is None
    else:
        link = f"app://service/{service}"
        assert link in reply["text"] and reply["card"]["kind"] == "service" and reply["card"]["deep_link"] == link
    assert session.state.pending_intent is None and session.state.confirmation is None


async def test_checking_a_credit_card_bill_points_to_its_service(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    events = await say(assistant, session, "查一下信用卡账单")
    assert of_type(events, "intent")[0]["name"] == "query_bill" and not of_type(events, "tool.call")
    assert events[-1]["card"]["id"] == "credit-card-repayment"


async def test_elder_wording_is_shorter(assistant):
    session, _ = assistant.open_session("u_li", "zh", mode="elder")
    reply = (await say(assistant, session, "帮我还车贷"))[-1]
    assert reply["text"] == "车贷我办不了。我能交电费、水费、燃气费、话费、宽带费、物业费和有线电视费。"


async def test_an_unsupported_answer_to_which_bill_keeps_the_question_open(assistant):
    session, _ = assistant.open_session("u_li", "zh")
    asked = (await say(assistant, session, "我要交费"))[-1]
    assert session.state.awaiting_slot == "bill_type"
    reply = (await say(assistant, session, "房租"))[-1]
    assert "房租" in reply["text"] and PAYABLE["zh"] in reply["text"]
    assert reply["quick_replies"] == asked["quick_replies"]  # the bills on offer, still
    assert session.state.awaiting_slot == "bill_type"
    events = await say(assistant, session, "电费")
    assert of_type(events, "tool.call")[0]["args"]["bill_type"] == "electricity"



@pytest.mark.parametrize(("text", "lang", "mode", "index"), [
    ("给我讲个笑话", "zh", "standard", 0),
    ("tell me a joke", "en", "standard", 1),
    ("给我讲个笑话", "zh", "elder", 2),
    ("tell me a joke", "en", "elder", 3),
])
async def test_a_spoken_request_read_out_of_scope_may_have_been_misheard(assistant, text, lang, mode, index):
    """Typed, "can't help"; spoken (a transcript), the answer also says it may not have been heard right,
    in the session's wording, with the same buttons."""
    session, _ = assistant.open_session("u_li", lang, mode)
    typed = (await say(assistant, session, text))[-1]
    events = await say(assistant, session, text, stt_ms=420.0)
    assert of_type(events, "intent")[0]["name"] == "out_of_scope"
    spoken = events[-1]
    assert spoken["type"] == "reply" and spoken["text"] == MESSAGES["out_of_scope_heard"][index], spoken
    assert ("没听明白" if lang == "zh" else "didn't catch") in spoken["text"]
    assert "没听明白" not in typed["text"] and "didn't catch" not in typed["text"], typed
    assert spoken["quick_replies"] == typed["quick_replies"] and spoken["quick_replies"]
