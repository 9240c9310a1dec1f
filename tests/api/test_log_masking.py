"""uvicorn's own logs (the access log writes full URLs) and litellm's go through the masking filter."""

from __future__ import annotations

import logging

import httpx
from websockets.sync.client import connect

from assistant.api.app import create_app
from assistant.auth import issue_token
from assistant.logs import MaskingFilter
from tests.conftest import LiveServer


def test_tokens_in_query_strings_are_masked_in_uvicorn_logs(settings, assistant, capsys):
    jwt = issue_token("u_li", settings)
    with LiveServer(create_app(settings, assistant), log_level="info") as live:
        assert httpx.get(f"{live.http}/healthz?token=plain-secret-123&acct=3100123456", timeout=30).status_code == 200
        assert httpx.get(f"{live.http}/healthz?t={jwt}", timeout=30).status_code == 200
        with connect(f"{live.ws}?token={jwt}") as ws:
            ws.send('{"type": "ping"}')
            ws.recv(30)
    out = capsys.readouterr()
    logged = out.out + out.err
    assert "GET /healthz?token=***" in logged, logged  # the access log line is still written
    assert "WebSocket /ws?token=***" in logged, logged
    assert "plain-secret-123" not in logged and "3100123456" not in logged and jwt not in logged


def test_litellm_loggers_are_masked(settings, assistant):
    create_app(settings, assistant)
    for name in ("LiteLLM", "litellm", "uvicorn", "uvicorn.error", "uvicorn.access"):
        assert any(isinstance(f, MaskingFilter) for f in logging.getLogger(name).filters), name
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("LiteLLM")
    keep = Keep()
    logger.addHandler(keep)
    try:
        logger.warning("request with api_key=%s", "sk-live-abcdef")
    finally:
        logger.removeHandler(keep)
    assert "sk-live-abcdef" not in records[0].getMessage()
