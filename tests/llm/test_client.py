"""The litellm client over real HTTP against the fake provider: calls, streaming, retries, fallbacks."""

from __future__ import annotations

import logging
import time

import pytest

from assistant.llm.errors import LLMError
from tests.llm.conftest import BACKUP, PRIMARY, make_client
from tests.llm.fake_openai import Scripted, http_error, key_echoing_error, slow, text, tool_call, trickle

HELLO = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "query_bill", "description": "look up bills",
                                         "parameters": {"type": "object", "properties": {"bill_type": {"type": "string"}}}}}


async def test_tool_call_round_trip(fake, client):
    fake.script(tool_call("query_bill", {"bill_type": "water"}))
    answer = await client.complete(HELLO, tools=[TOOL], tool_choice="auto")
    assert [(c.name, c.parsed()) for c in answer.tool_calls] == [("query_bill", ({"bill_type": "water"}, None))]
    assert answer.model.endswith(PRIMARY) and answer.attempts == 1
    sent = fake.requests[0].body
    assert sent["model"] == PRIMARY and sent["tools"][0]["function"]["name"] == "query_bill"
    assert sent["tool_choice"] == "auto" and sent["messages"] == HELLO


async def test_streamed_text_arrives_in_pieces(fake, client):
    fake.script(text("您的余额是五百元。"))
    pieces: list[str] = []

    async def on_text(piece: str) -> None:
        pieces.append(piece)

    answer = await client.complete(HELLO, on_text=on_text)
    assert len(pieces) > 1 and "".join(pieces) == answer.text == "您的余额是五百元。"
    assert fake.requests[0].body["stream"] is True


async def test_streamed_tool_calls_are_assembled(fake, client):
    fake.script(tool_call("query_bill", {"bill_type": "electricity"}, ("check_balance", {})))

    async def ignore(piece: str) -> None:
        raise AssertionError("no text expected")

    answer = await client.complete(HELLO, tools=[TOOL], on_text=ignore)
    assert [(c.name, c.parsed()[0]) for c in answer.tool_calls] == [
        ("query_bill", {"bill_type": "electricity"}), ("check_balance", {})]
    assert all(c.id for c in answer.tool_calls)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retried_then_falls_back(fake, client, status):
    fake.script(http_error(status), http_error(status), text("from the backup"))
    answer = await client.complete(HELLO)
    assert answer.text == "from the backup" and answer.model.endswith(BACKUP) and answer.attempts == 3
    assert [r.model for r in fake.requests] == [PRIMARY, PRIMARY, BACKUP]


async def test_timeout_is_retried_then_falls_back(fake):
    client = make_client(fake, timeout_s=0.3)
    fake.script(slow(6.0), slow(6.0), text("fast backup"))
    started = time.perf_counter()
    answer = await client.complete(HELLO)
    assert answer.text == "fast backup" and answer.model.endswith(BACKUP)
    assert [r.model for r in fake.requests] == [PRIMARY, PRIMARY, BACKUP]
    # two bounded waits (0.6 s), not two full slow answers (12 s): wide apart, so a loaded machine can't blur them
    assert time.perf_counter() - started < 6.0


async def test_rate_limit_is_retried_on_the_same_model(fake, client):
    fake.script(http_error(429), text("ok"))
    answer = await client.complete(HELLO)
    assert answer.text == "ok" and answer.model.endswith(PRIMARY) and len(fake.requests) == 2


async def test_client_errors_skip_to_the_fallback_without_retrying(fake, client):
    fake.script(http_error(401), text("backup"))
    answer = await client.complete(HELLO)
    assert answer.model.endswith(BACKUP) and [r.model for r in fake.requests] == [PRIMARY, BACKUP]


@pytest.mark.parametrize(("script", "code"), [
    ([http_error(500)] * 4, "llm-unavailable"),
    ([http_error(429)] * 4, "llm-rate-limited"),
    ([slow(1.0)] * 4, "llm-timeout"),
])
async def test_exhausted_budget_raises_a_stable_code(fake, script, code):
    client = make_client(fake, timeout_s=0.3)
    fake.script(*script)
    with pytest.raises(LLMError) as raised:
        await client.complete(HELLO)
    assert raised.value.code == code and raised.value.retryable
    assert len(fake.requests) == 4  # (1 try + 1 retry) x (primary + backup), never more


async def test_no_fallbacks_and_no_retries_means_one_request(fake):
    client = make_client(fake, fallbacks=[], retries=0)
    fake.script(http_error(503))
    with pytest.raises(LLMError):
        await client.complete(HELLO)
    assert len(fake.requests) == 1


async def test_a_trickling_provider_is_cut_at_the_total_deadline(fake):
    """Every byte arrives in time, the answer never does: the deadline covers all attempts."""
    client = make_client(fake, timeout_s=5.0, deadline_s=1.0)
    fake.script(*[trickle(every_s=0.2)] * 4)
    started = time.perf_counter()
    with pytest.raises(LLMError) as raised:
        await client.complete(HELLO)
    assert raised.value.code == "llm-timeout" and raised.value.retryable
    assert len(fake.requests) <= 2  # 4 attempts without the deadline
    # the deadline (1 s), not 4 attempts x the per-attempt timeout (20 s): wide apart, so load can't blur them
    assert time.perf_counter() - started < 10.0


async def test_a_long_streamed_answer_stops_at_max_chars(fake, client):
    fake.script(Scripted(text="长" * 1_000_000, chunk_chars=1000))
    pieces: list[str] = []

    async def on_text(piece: str) -> None:
        pieces.append(piece)

    answer = await client.complete(HELLO, on_text=on_text, max_chars=2500)
    assert len(answer.text) == 2500 and "".join(pieces) == answer.text and answer.finish_reason == "length"


async def test_a_long_answer_is_cut_at_max_chars(fake, client):
    fake.script(text("x" * 1_000_000))
    answer = await client.complete(HELLO, max_chars=100)
    assert answer.text == "x" * 100 and answer.finish_reason == "length"


async def test_an_error_echoing_the_api_key_never_carries_it(fake, caplog):
    key = "sk-live-4f9a8b7c6d5e"
    client = make_client(fake, api_key=key)
    fake.script(key_echoing_error(401), key_echoing_error(401))
    with caplog.at_level(logging.WARNING, logger="assistant.llm.client"), pytest.raises(LLMError) as raised:
        await client.complete(HELLO)
    assert "Incorrect API key" in raised.value.message and key not in str(raised.value)
    assert "Incorrect API key" in caplog.text and key not in caplog.text
