"""What the LLM may send back is bounded, and what we send it is only what it needs."""

from __future__ import annotations

import json

from assistant.llm.understand import Understander
from tests.api.conftest import of_type
from tests.llm.fake_openai import Scripted, text, tool_call

TWO_QUERIES = "查一下电费多少钱，然后再看看水费"  # compound; router alone: query_bill (electricity)


def _stored(assistant, user: str):
    session_id = assistant.conversations.audit_log(user_id=user, action="session.start")[0].target
    return assistant.conversations.turns(session_id)


async def test_five_hundred_tool_calls_in_one_answer_run_at_most_four(fake, tier, connect_client, assistant):
    fake.script(Scripted(tool_calls=(("check_balance", {}),) * 500), text("您的余额是500元。"))
    client = await connect_client(user="u_li", lang="zh")
    events = await client.say(TWO_QUERIES)
    assert len(of_type(events, "tool.call")) == 4 and events[-1]["text"] == "您的余额是500元。"
    second = fake.requests[1].messages
    assert len([m for m in second if m["role"] == "tool"]) == 4
    assert len([m for m in second if m["role"] == "assistant"][-1]["tool_calls"]) == 4
    assert len(_stored(assistant, "u_li")[-1].tool_calls) == 4


async def test_a_one_megabyte_reply_is_cut_when_streamed_and_stored(fake, tier, connect_client, assistant):
    fake.script(tool_call("query_bill", {}), Scripted(text="很" * 1_000_000, chunk_chars=4000))
    client = await connect_client(user="u_li", lang="zh")
    events = await client.say(TWO_QUERIES)
    reply = events[-1]["text"]
    deltas = "".join(d["text"] for d in of_type(events, "reply.delta"))
    assert events[-1]["type"] == "reply" and len(reply) <= 2001 and reply.endswith("…") and deltas == reply
    assert len(_stored(assistant, "u_li")[-1].reply or "") <= 2001


async def test_the_provider_never_sees_full_accounts_user_ids_or_bill_ids(fake, tier, connect_client, assistant):
    client = await connect_client(user="u_li", lang="zh")
    fake.responder = lambda body: text("好的。")  # whatever the first turn asks (it may escalate)
    await client.say("查一下户号3100123456的电费")  # history for the planner
    fake.responder = None
    first = len(fake.requests)
    fake.script(tool_call("query_bill", {"account": "3100123456"}), text("电费186.5元。"),
                tool_call("route", {"intent": "query_bill", "slots": {"account": "3456"}}))
    events = await client.say("帮我查下户号3100123456的电费然后再查一下水费")
    assert of_type(events, "tool.result")[0]["data"]["bills"]  # the tool itself saw the full number
    await Understander(tier.client).understand("户号3100123456的电费交一下")

    bills = assistant.billing.bills("u_li", None, None)
    sent = [json.dumps(r.body, ensure_ascii=False) for r in fake.requests]
    assert len(sent) == first + 3
    for body in sent:
        assert "u_li" not in body
        for bill in bills:
            assert bill.id not in body and bill.account not in body, (bill.id, bill.account)
    result = json.loads([m for m in fake.requests[first + 1].messages if m["role"] == "tool"][0]["content"])
    assert result["data"]["bills"][0]["account_tail"] == "3456"  # the tail, as the user would say it
    assert "******3456" in sent[first] and "******3456" in sent[-1]
