"""Abuse limits over a real websocket: rate limits, live-session caps, origin checks."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from assistant.api.app import create_app
from tests.api.conftest import Client
from tests.conftest import LiveServer


@pytest.fixture
def tight_server(settings, assistant):
    settings = settings.model_copy(update={"max_messages_per_s": 5.0, "user_turns_per_minute": 6,
                                           "max_sessions_per_user": 2})
    assistant.settings = settings
    with LiveServer(create_app(settings, assistant)) as live:
        yield live


async def test_message_flood_is_rate_limited_and_connection_survives(tight_server):
    client = Client(await connect(tight_server.ws))
    await client.start(user="u_li")
    for _ in range(30):
        await client.send(type="ping")
    codes = [((await client.recv()).get("code")) for _ in range(30)]
    assert codes.count("rate-limited") >= 15 and codes.count(None) >= 5  # pongs, then refusals
    await client.ws.close()


async def test_turns_per_user_are_limited_across_connections(tight_server):
    a = Client(await connect(tight_server.ws))
    b = Client(await connect(tight_server.ws))
    await a.start(user="u_amy")
    await b.start(user="u_amy")
    terminals = []
    for i in range(8):
        client = a if i % 2 else b
        events = await client.say("hi")
        terminals.append(events[-1])
    limited = [t for t in terminals if t.get("code") == "rate-limited"]
    assert limited and all(t["retryable"] for t in limited)
    await a.ws.close()
    await b.ws.close()


async def test_too_many_live_sessions_for_one_user(tight_server):
    first = Client(await connect(tight_server.ws))
    second = Client(await connect(tight_server.ws))
    await first.start(user="u_wang")
    await second.start(user="u_wang")
    third = Client(await connect(tight_server.ws))
    await third.send(type="session.start", user="u_wang")
    assert (await third.recv())["code"] == "too-many-sessions"
    with pytest.raises(ConnectionClosed):
        await third.recv()
    await first.ws.close()  # a slot frees up when a connection ends
    fourth = Client(await connect(tight_server.ws))
    for _ in range(50):  # the server notices the close asynchronously
        await fourth.send(type="session.start", user="u_wang")
        event = await fourth.recv()
        if event["type"] == "session.started":
            break
        fourth = Client(await connect(tight_server.ws))
    assert event["type"] == "session.started"
    await second.ws.close()
    await fourth.ws.close()


async def test_foreign_browser_origin_is_refused(server):
    evil = Client(await connect(server.ws, origin="https://evil.example"))
    event = await evil.recv()
    assert event["code"] == "origin-forbidden"
    with pytest.raises(ConnectionClosed) as closed:
        await evil.recv()
    assert closed.value.rcvd.code == 4403
    local = Client(await connect(server.ws, origin=f"http://127.0.0.1:{server.port}"))
    assert (await local.start(user="u_li"))["type"] == "session.started"
    await local.ws.close()
