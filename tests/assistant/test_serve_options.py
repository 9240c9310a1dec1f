"""``lui serve`` starts uvicorn with the hardened options (header deadline, header size, keep-alive)."""

from __future__ import annotations

import argparse

import uvicorn

from assistant import cli
from assistant.api.server import MAX_HEADER_BYTES, HeaderDeadlineProtocol


def test_lui_serve_passes_the_hardened_uvicorn_options(monkeypatch, tmp_path):
    monkeypatch.setenv("LUI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LUI_HTTP_HEADER_TIMEOUT_S", "7")
    monkeypatch.setenv("LUI_HTTP_KEEP_ALIVE_S", "3")
    monkeypatch.setenv("LUI_MAX_CONNECTIONS", "50")
    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    assert cli.cmd_serve(argparse.Namespace(host=None, port=None, log_level="info")) == 0
    assert issubclass(seen["http"], HeaderDeadlineProtocol) and seen["http"].header_timeout_s == 7
    assert seen["h11_max_incomplete_event_size"] == MAX_HEADER_BYTES
    assert seen["timeout_keep_alive"] == 3
    assert seen["limit_concurrency"] > 50
    assert seen["ws_max_size"] > 4 * 1024 * 1024
    assert seen["ws_per_message_deflate"] is False  # small frames: zlib costs more CPU than it saves


def test_lui_serve_workers_spawns_worker_processes_with_the_same_options(monkeypatch, tmp_path):
    monkeypatch.setenv("LUI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LUI_HTTP_HEADER_TIMEOUT_S", "7")
    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    assert cli.cmd_serve(argparse.Namespace(host=None, port=None, log_level="info", workers=3)) == 0
    assert seen["app"] == "assistant.cli:worker_app" and seen["factory"] and seen["workers"] == 3
    assert seen["http"] == "assistant.api.server:HeaderDeadlineProtocol"
    assert seen["h11_max_incomplete_event_size"] == MAX_HEADER_BYTES
    # in each worker process the factory builds the app and the header deadline from the environment
    monkeypatch.setattr(HeaderDeadlineProtocol, "header_timeout_s", 10.0)
    app = cli.worker_app()
    assert app.state.settings.http_header_timeout_s == 7 and HeaderDeadlineProtocol.header_timeout_s == 7
