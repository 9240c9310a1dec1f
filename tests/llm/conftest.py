"""Fixtures for the LLM tier: a fake OpenAI-compatible server reached by litellm over real HTTP,
and a real assistant (router, SQLite ledger) with the tier plugged in, behind a real uvicorn server."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.asyncio.client import connect

from assistant.api.app import create_app
from assistant.llm.cascade import LLMTier
from assistant.llm.client import LLMClient
from assistant.turns import Assistant
from tests.api.conftest import Client
from tests.conftest import LiveServer, demo_assistant
from tests.llm.fake_openai import FakeOpenAI

PRIMARY, BACKUP = "primary", "backup"


@pytest.fixture(scope="session")
def fake_server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake(fake_server):
    """The fake provider with an empty script and no requests recorded."""
    fake_server.reset()
    fake_server.responder = None
    yield fake_server
    fake_server.reset()
    fake_server.responder = None


def make_client(fake: FakeOpenAI, **options: Any) -> LLMClient:
    settings: dict[str, Any] = dict(api_base=fake.base_url, api_key="sk-fake", timeout_s=2.0,
                                    fallbacks=[fake.model(BACKUP)], retries=1, backoff_s=0.01)
    settings.update(options)
    return LLMClient(fake.model(PRIMARY), **settings)


@pytest.fixture
def client(fake) -> LLMClient:
    return make_client(fake)


@pytest.fixture
def assistant(settings, router) -> Assistant:
    return demo_assistant(settings, router)


@pytest.fixture
def tier(assistant, client) -> LLMTier:
    """The tier on the fake, plugged into the assistant (what runtime.build_assistant will do)."""
    assistant.llm = LLMTier(client, assistant.registry)
    return assistant.llm


@pytest.fixture
def server(settings, assistant):
    with LiveServer(create_app(settings, assistant)) as live:
        yield live


@pytest.fixture
async def connect_client(server):
    opened: list[Any] = []

    async def _connect(**fields: Any) -> Client:
        ws = await connect(server.ws, max_size=2**24)
        opened.append(ws)
        client = Client(ws)
        await client.start(**fields)
        return client

    yield _connect
    for ws in opened:
        await ws.close()


def balance(assistant: Assistant, user: str) -> int:
    return assistant.billing.balance(user).balance_fen


def done_payments(assistant: Assistant, user: str) -> int:
    """Bills of the user that are settled now (seeded history excluded: only this month's)."""
    return sum(1 for b in assistant.billing.bills(user, None, None) if b.status == "paid" and b.period == "2026-11")
