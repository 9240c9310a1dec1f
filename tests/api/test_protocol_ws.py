"""Protocol robustness over a real websocket: bad input gets an error, the session carries on."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import TERMINAL, of_type


async def _still_usable(client) -> None:
    events = await client.say("我还有多少钱")
    assert events[-1]["type"] == "reply" and "余额" in events[-1]["text"]


async def test_malformed_json_unknown_type_and_bad_fields(connect_client):
    client, _ = await connect_client(user="u_li", lang="zh")
    cases = [
        ("{not json", "bad-json"),
        ("[1, 2, 3]", "invalid-message"),
        ('{"type": "launch.rockets"}', "unknown-type"),
        ('{"no_type": true}', "unknown-type"),
        ('{"type": "text"}', "invalid-message"),
        ('{"type": "text", "text": 42}', "invalid-message"),
        ('{"type": "confirm", "confirmation_id": "x"}', "invalid-message"),
        ('{"type": "audio.start", "format": "mp3"}', "invalid-message"),
        ('{"type": "audio.start", "format": "ogg", "endpoint": "whenever"}', "invalid-message"),
    ]
    for raw, code in cases:
        await client.send_raw(raw)
        event = await client.recv()
        assert event["type"] == "error" and event["code"] == code, (raw, event)
    await _still_usable(client)


async def test_oversized_frame_is_refused_and_session_survives(connect_client, settings):
    client, _ = await connect_client(user="u_li", lang="zh")
    await client.send(type="text", text="电" * (settings.max_message_bytes + 10))
    event = await client.recv()
    assert event["type"] == "error" and event["code"] == "message-too-large"
    await client.send(type="text", text="查" * (settings.max_text_chars + 1))
    event = await client.recv()
    assert event["type"] == "error" and event["code"] == "text-too-long"
    await _still_usable(client)


async def test_binary_out_of_place_and_turns_before_start(connect_client):
    client, _ = await connect_client(start=False)
    await client.send(type="text", text="hello")
    assert (await client.recv())["code"] == "no-session"
    await client.start(user="u_li")
    await client.send_raw(b"\x00\x01garbage")
    assert (await client.recv())["code"] == "unexpected-binary"
    await client.send(type="audio.end")
    assert (await client.recv())["code"] == "unexpected-audio-end"
    await client.send(type="ping")
    assert (await client.recv())["type"] == "pong"
    await _still_usable(client)


async def test_every_turn_ends_with_exactly_one_reply_or_error(connect_client):
    client, _ = await connect_client(user="u_amy", lang="auto")
    texts = ["hi", "what's my balance", "今天天气怎么样", "", "how much is my electricity bill",
             "translate 谢谢 into English", "I want a human", "thanks, bye"]
    for text in texts:
        await client.send(type="text", text=text, id=f"m{texts.index(text)}")
    terminals = []
    while len(terminals) < len(texts):
        event = await client.recv()
        if event["type"] in TERMINAL:
            terminals.append(event)
    assert [t.get("id") for t in terminals] == [f"m{i}" for i in range(len(texts))]
    assert terminals[3]["type"] == "error" and terminals[3]["code"] == "empty-text"
    assert all(t["type"] == "reply" for i, t in enumerate(terminals) if i != 3)
    assert "thank you" in terminals[5]["text"].lower()


async def test_out_of_scope_and_auto_language(connect_client):
    client, _ = await connect_client(user="u_amy", lang="auto")
    events = await client.say("what's the weather like tomorrow")
    assert of_type(events, "intent")[0]["name"] == "out_of_scope"
    assert "can't" in events[-1]["text"]
    events = await client.say("给我讲个笑话吧")
    assert "抱歉" in events[-1]["text"]


async def test_timings_and_tool_events(connect_client):
    client, _ = await connect_client(user="u_li", lang="zh")
    events = await client.say("查一下我的余额")
    call, result = of_type(events, "tool.call")[0], of_type(events, "tool.result")[0]
    assert call["name"] == "check_balance" and result["call_id"] == call["call_id"] and result["ok"]
    timings = events[-1]["timings_ms"]
    assert {"understand", "tool", "total"} <= set(timings)
    assert timings["total"] >= timings["understand"]


async def test_turns_are_persisted(connect_client, assistant):
    client, started = await connect_client(user="u_li", lang="zh")
    await client.say("这个月电费多少")
    turns = assistant.conversations.turns(started["session_id"])
    assert len(turns) == 1
    assert turns[0].intent == "query_bill" and turns[0].slots["bill_type"] == "electricity"
    assert turns[0].tool_calls[0]["name"] == "query_bill" and "电费" in turns[0].reply


def test_rest_turn_and_healthz(server):
    with httpx.Client(base_url=server.http, timeout=30) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        body = http.post("/v1/turns", json={"text": "这个月水费多少", "user": "u_li", "lang": "zh"}).json()
        assert body["reply"]["type"] == "reply" and "水费" in body["reply"]["text"]
        again = http.post("/v1/turns", json={"text": "交了吧", "session_id": body["session_id"], "user": "u_li"})
        assert again.json()["session_id"] == body["session_id"]
        assert http.post("/v1/turns", json={"user": "u_li"}).status_code == 422


@pytest.mark.parametrize("mode", ["elder", "standard"])
async def test_human_handoff_says_how_to_reach_a_person(connect_client, mode):
    client, _ = await connect_client(user="u_li", lang="zh", mode=mode)
    events = await client.say("我要找人工客服")
    assert "95188" in events[-1]["text"]
