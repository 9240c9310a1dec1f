"""Hostile websocket clients over a real server: every bad frame gets an ``error`` (never a dropped
socket), clients without a session are cheap (small frames, a deadline, connection caps), and the
database grows only with real work (refused session starts write no rows)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from assistant.auth import issue_token
from tests.api.conftest import Client

SECRET = "test-secret-0123456789abcdef-0123456789"


def rows(settings, table: str, where: str = "1=1") -> int:
    with sqlite3.connect(settings.sqlite_path) as db:
        return db.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]  # noqa: S608


async def _closed_code(client: Client, wait_s: float = 30) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await client.recv(wait_s)
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code


async def _still_works(client: Client) -> None:
    await client.send(type="ping")
    assert (await client.recv())["type"] == "pong"
    events = await client.say("我还有多少钱")
    assert events[-1]["type"] == "reply" and "余额" in events[-1]["text"]


# --- every hostile frame gets an error event ----------------------------------------------------
@pytest.mark.parametrize("frame", [
    "[" * 5000 + "]" * 5000,  # 10 KB of nested arrays
    '{"a":' * 2000 + "1" + "}" * 2000,  # nested objects
    '{"type": "text", "text": "hi", "extra": ' + "[" * 34 + "1" + "]" * 34 + "}",  # past the depth limit
])
async def test_deeply_nested_json_gets_an_error_and_the_session_continues(connect_client, frame):
    client, _ = await connect_client(user="u_li", lang="zh")
    await client.send_raw(frame)
    event = await client.recv()
    assert event["type"] == "error" and event["code"] == "too-deep", event
    await _still_works(client)


async def test_deep_json_before_a_session_gets_an_error_too(connect_client):
    client, _ = await connect_client(start=False)
    await client.send_raw("[" * 4000 + "]" * 4000)
    assert (await client.recv())["code"] == "too-deep"
    await client.start(user="u_li")


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "a\\ud83d", "\\ude00b"])
async def test_lone_surrogate_gets_bad_text_and_the_session_continues(connect_client, assistant, escape):
    client, started = await connect_client(user="u_li", lang="zh")
    await client.send_raw('{"type": "text", "text": "' + escape + '", "id": "m1"}')
    event = await client.recv()
    assert event["type"] == "error" and event["code"] == "bad-text", event
    await _still_works(client)
    assert [t.text for t in assistant.conversations.turns(started["session_id"])] == ["我还有多少钱"]


async def test_a_surrogate_pair_is_fine(connect_client):
    client, _ = await connect_client(user="u_li", lang="zh")
    await client.send_raw('{"type": "text", "text": "\\ud83d\\ude00 \\u6211\\u8fd8\\u6709\\u591a\\u5c11\\u94b1"}')
    events = await client.until_terminal()
    assert events[-1]["type"] == "reply"


# --- clients without a session are cheap --------------------------------------------------------
async def test_large_frames_before_a_session_are_refused_and_closed(server):
    client = Client(await connect(server.ws, max_size=2**24))
    await client.send(type="session.start", user="u_li", pad="x" * 9000)
    event = await client.recv()
    assert event["type"] == "error" and event["code"] == "message-too-large", event
    assert await _closed_code(client) == 1009


async def test_large_binary_before_a_session_is_refused_and_closed(server):
    client = Client(await connect(server.ws, max_size=2**24))
    await client.send_raw(b"\x00" * (5 * 1024 * 1024))
    assert (await client.recv())["code"] == "message-too-large"
    assert await _closed_code(client) == 1009


async def test_after_session_start_larger_frames_are_fine(connect_client):
    client, _ = await connect_client(user="u_li", lang="zh")
    events = await client.say("我还有多少钱", pad="x" * 20_000)
    assert events[-1]["type"] == "reply"


async def test_no_session_start_in_time_gets_an_error_and_a_close(make_server):
    live, _ = make_server(session_start_timeout_s=1.0)
    idle = Client(await connect(live.ws))
    busy = Client(await connect(live.ws))  # pings do not extend the deadline
    await busy.send(type="ping")
    assert (await busy.recv())["type"] == "pong"
    for client in (idle, busy):
        event = await client.recv(wait_s=30)
        assert event["type"] == "error" and event["code"] == "session-timeout", event
        assert await _closed_code(client) == 4408
    started = Client(await connect(live.ws))  # a session, once started, has no such deadline
    await started.start(user="u_li")
    await started.ws.close()


@pytest.mark.parametrize("cap", ["max_connections_per_ip", "max_connections"])
async def test_connections_are_capped(make_server, cap):
    live, _ = make_server(**{cap: 2})
    first = Client(await connect(live.ws))
    second = Client(await connect(live.ws))
    await first.start(user="u_li")
    third = Client(await connect(live.ws))
    event = await third.recv()
    assert event["type"] == "error" and event["code"] == "too-many-connections" and event["retryable"]
    assert await _closed_code(third) == 1013
    await first.ws.close()
    for _ in range(50):  # the server notices the close asynchronously
        fourth = Client(await connect(live.ws))
        try:
            await fourth.send(type="ping")
            if (await fourth.recv())["type"] == "pong":
                break
        except ConnectionClosed:  # refused while the slot was still taken: try again
            await asyncio.sleep(0.1)
    else:
        pytest.fail("a freed connection slot was never reused")
    await second.ws.close()
    await fourth.ws.close()


# --- the database grows only with real work -----------------------------------------------------
async def test_session_starts_are_rate_limited_before_anything_is_written(make_server):
    live, settings = make_server(session_starts_per_minute=3)
    conversations, audits = rows(settings, "conversations"), rows(settings, "audit_log")
    client = Client(await connect(live.ws))
    codes = []
    for _ in range(10):
        await client.send(type="session.start", user="u_wang")
        event = await client.recv()
        codes.append(event.get("code", event["type"]))
    started = codes.count("session.started")  # a burst of 3 (a 4th only if the machine took > 20 s)
    assert started in (3, 4) and codes.count("rate-limited") == 10 - started, codes
    assert rows(settings, "conversations") == conversations + started
    assert rows(settings, "audit_log") == audits + started
    events = await client.say("我还有多少钱")  # the session started last still works
    assert events[-1]["type"] == "reply"
    await client.ws.close()


async def test_refused_turns_write_nothing(make_server, assistant):
    live, settings = make_server(user_turns_per_minute=6)  # a burst of 5
    client = Client(await connect(live.ws))
    started = await client.start(user="u_amy")
    before = rows(settings, "turns"), rows(settings, "conversations"), rows(settings, "audit_log")
    terminals = [(await client.say("what's my balance"))[-1] for _ in range(9)]
    answered = sum(t["type"] == "reply" for t in terminals)
    assert 0 < answered < 9 and all(t.get("code") == "rate-limited" for t in terminals if t["type"] == "error")
    assistant.conversations.flush()  # the turn log is written behind the turns
    assert rows(settings, "turns", f"session_id = '{started['session_id']}'") == answered
    assert (rows(settings, "conversations"), rows(settings, "audit_log")) == before[1:]
    assert rows(settings, "turns") == before[0] + answered
    await client.ws.close()


# --- auth details -------------------------------------------------------------------------------
async def test_a_token_for_a_user_that_does_not_exist_is_refused(make_server):
    live, settings = make_server(auth="on", secret_key=SECRET)
    before = rows(settings, "conversations")
    client = Client(await connect(live.ws))
    await client.send(type="session.start", token=issue_token("u_ghost", settings))
    event = await client.recv()
    assert event["type"] == "error" and event["code"] == "unauthorized", event
    assert await _closed_code(client) == 4401
    assert rows(settings, "conversations") == before


async def test_an_unknown_demo_user_is_refused_with_auth_off(server, settings):
    before = rows(settings, "conversations")
    client = Client(await connect(server.ws))
    await client.send(type="session.start", user="u_ghost")
    assert (await client.recv())["code"] == "unknown-user"
    assert await _closed_code(client) == 4401
    assert rows(settings, "conversations") == before
