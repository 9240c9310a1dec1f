"""PostgreSQL goes down between confirm.request and the confirmation, then comes back: the session
answers, keeps the confirmation, and the retried confirmation pays exactly once."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect

from assistant.api.app import create_app
from tests.api.conftest import Client, of_type
from tests.conftest import LiveServer, demo_assistant
from tests.pg import PgServer


@pytest.fixture
def pg_server():
    try:
        server = PgServer()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    server.start()
    yield server
    server.remove()


async def test_database_restart_mid_payment(pg_server, settings, router):
    settings = settings.model_copy(update={"database_url": pg_server.url})
    assistant = demo_assistant(settings, router)
    before = assistant.billing.balance("u_li").balance_fen
    owed = assistant.billing.bills("u_li", "water", "unpaid")[0].outstanding_fen
    with LiveServer(create_app(settings, assistant)) as live:
        client = Client(await connect(live.ws))
        started = await client.start(user="u_li", lang="zh")
        request = of_type(await client.say("交水费"), "confirm.request")[0]
        confirm = {"type": "confirm", "confirmation_id": request["confirmation_id"], "accept": True}

        pg_server.stop()
        await client.send(**confirm)
        down = (await client.until_terminal(wait_s=60))[-1]
        assert (down["type"] == "error" and down["retryable"]) or "稍后再试" in down["text"], down
        assert (await client.say("你好"))[-1]["type"] in ("reply", "error")  # still answering

        pg_server.start()
        await client.send(**confirm)
        paid = (await client.until_terminal(wait_s=60))[-1]
        assert paid["type"] == "reply" and "已缴费" in paid["text"], paid
        await client.send(**confirm)
        again = (await client.until_terminal(wait_s=60))[-1]
        assert "不会重复扣款" in again["text"]
        await client.ws.close()

    assert assistant.billing.balance("u_li").balance_fen == before - owed
    assert assistant.billing.ledger_check() == []
    assert assistant.conversations.load(started["session_id"]) is not None
