"""Tokens: with LUI_AUTH=on a connection needs a valid signed token, else error and close."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from assistant.api.app import create_app
from assistant.auth import AuthError, check_secret, issue_token, verify_token
from assistant.errors import ConfigError
from tests.api.conftest import Client
from tests.conftest import LiveServer

SECRET = "test-secret-0123456789abcdef-0123456789"


@pytest.fixture
def auth_server(settings, assistant):
    settings = settings.model_copy(update={"auth": "on", "secret_key": SECRET})
    assistant.settings = settings
    with LiveServer(create_app(settings, assistant)) as live:
        yield live, settings


async def _client(url):
    from websockets.asyncio.client import connect

    return Client(await connect(url))


async def test_valid_token_opens_a_session_for_its_user(auth_server):
    live, settings = auth_server
    client = await _client(live.ws)
    started = await client.start(token=issue_token("u_amy", settings), user="u_li")
    assert started["user"] == "u_amy"  # the token decides, not the client's claim
    events = await client.say("what's my balance")
    assert "¥1,000.00" in events[-1]["text"]
    await client.ws.close()


@pytest.mark.parametrize("token", [None, "not-a-token", "expired", "wrong-secret"])
async def test_bad_tokens_get_an_error_and_the_socket_closes(auth_server, token):
    live, settings = auth_server
    if token == "expired":
        token = issue_token("u_li", settings, ttl_s=10, now=1_000_000)
    elif token == "wrong-secret":
        token = issue_token("u_li", settings.model_copy(update={"secret_key": "another-secret-0123456789-0123456789abcdef"}))
    client = await _client(live.ws)
    fields = {"type": "session.start"} | ({"token": token} if token else {})
    await client.send(**fields)
    event = await client.recv()
    assert event["type"] == "error" and event["code"] in ("unauthorized", "token-expired")
    with pytest.raises(ConnectionClosed) as closed:
        await client.recv()
    assert closed.value.rcvd.code == 4401


def test_placeholder_secret_refused_when_auth_on(settings):
    with pytest.raises(ConfigError):
        check_secret(settings.model_copy(update={"auth": "on"}))
    check_secret(settings.model_copy(update={"auth": "on", "secret_key": SECRET}))


def test_token_round_trip_and_tamper(settings):
    settings = settings.model_copy(update={"secret_key": SECRET})
    token = issue_token("u_wang", settings)
    assert verify_token(token, settings) == "u_wang"
    head, body, sig = token.split(".")
    with pytest.raises(AuthError):
        verify_token(f"{head}.{body}.{sig[:-2]}xx", settings)
