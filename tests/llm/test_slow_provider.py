"""One slow provider must not freeze the server.

A provider that trickles its answer one byte a second never trips a read timeout. Ten translate
turns against it used to hold every worker thread of the default executor, and new sessions
stopped starting. Now the LLM call is a coroutine under a hard deadline and blocking work runs in
named pools, so sessions and other turns keep answering, and the translate turns end with a reply.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from assistant.llm.translator import LLMTranslator
from assistant.settings import Settings
from tests.api.conftest import of_type
from tests.llm.conftest import make_client
from tests.llm.fake_openai import trickle

DEADLINE_S = 3.0
SLACK_S = 12.0  # a loaded 2-core machine; the old code took minutes
QUICK_S = 5.0  # what a new session or a router turn may take while the provider trickles
TRANSLATE = "请把 please check my balance 翻译成中文"  # not a glossary phrase: needs the LLM


@pytest.fixture
def settings(tmp_path, shared_cache) -> Settings:
    return Settings(data_dir=tmp_path / "data", cache_path=shared_cache, _env_file=None,
                    max_sessions_per_user=50, user_turns_per_minute=600)


async def _timed(coro, limit_s: float):
    started = time.perf_counter()
    result = await asyncio.wait_for(coro, limit_s + 5)  # fail, never hang, on the old code
    return result, time.perf_counter() - started


async def test_ten_trickling_translations_do_not_freeze_sessions_or_turns(fake, assistant, connect_client, server):
    assistant.translator = LLMTranslator(make_client(fake, timeout_s=DEADLINE_S, deadline_s=DEADLINE_S))
    fake.responder = lambda body: trickle(every_s=1.0)
    users = ("u_li", "u_wang", "u_amy")
    slow = [await connect_client(user=users[i % 3], lang="zh") for i in range(10)]
    sent = time.perf_counter()
    for client in slow:
        await client.send(type="text", text=TRANSLATE)
    await asyncio.sleep(0.5)  # every translate turn is now waiting on the provider

    async def fresh_session_and_balance():
        client = await connect_client(user="u_amy", lang="zh")
        return await client.say("查余额")

    for _ in range(3):
        events, took = await _timed(fresh_session_and_balance(), QUICK_S)
        assert took < QUICK_S and events[-1]["type"] == "reply" and "余额" in events[-1]["text"], (took, events)
        async with httpx.AsyncClient(base_url=server.http) as http:
            health = (await http.get("/healthz")).json()
        assert health["status"] in ("ok", "degraded") and "pools" in health

    assert len(fake.requests) >= 10  # the translations really were in flight
    for client in slow:
        events, _ = await _timed(client.until_terminal(DEADLINE_S + SLACK_S), DEADLINE_S + SLACK_S)
        assert events[-1]["type"] in ("reply", "error")
        result = of_type(events, "tool.result")[0]
        assert not result["ok"] and result["error"]["code"] == "llm-timeout" and result["error"]["retryable"]
    assert time.perf_counter() - sent < DEADLINE_S + SLACK_S
