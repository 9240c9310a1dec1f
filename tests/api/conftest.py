"""A real assistant (real router, SQLite file, real ledger) behind a real uvicorn server."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect

from assistant.api.app import create_app
from assistant.api.audio import VoiceGateway
from assistant.turns import Assistant
from tests.conftest import LiveServer, demo_assistant, of_type  # noqa: F401 (of_type: for the tests here)
from voice import synth
from voice.pool import TranscriptionPool

TERMINAL = ("reply", "error")


@pytest.fixture
def assistant(settings, router) -> Assistant:
    return demo_assistant(settings, router)


@pytest.fixture
def make_server(settings, assistant):
    """A real server with some settings changed; closed at the end of the test."""
    servers = []

    def _make(**changes):
        changed = settings.model_copy(update=changes)
        assistant.settings = changed
        live = LiveServer(create_app(changed, assistant)).__enter__()
        servers.append(live)
        return live, changed

    yield _make
    for live in servers:
        live.__exit__(None, None, None)


@pytest.fixture
def voice_server(settings, assistant, tiny_stt_pool):
    """A real server with speech-to-text (the packaged tiny.en in a shared pool)."""
    gateway = VoiceGateway(settings, assistant, tiny_stt_pool)
    with LiveServer(create_app(settings, assistant, voice=gateway)) as live:
        yield live


@pytest.fixture
def voice_app_with(settings, assistant):
    """``make(stt, turn=None, **changes) -> (live, gateway)``: a real server whose voice runs on the given
    speech-to-text (a fake, often) in a one-worker pool (``gateway.pool``), with the given end-of-turn model
    (None: the settings' detector is not loaded) and settings changed; all closed at the end of the test."""
    opened = []

    def make(stt, turn=None, **changes):
        s = settings.model_copy(update=changes)
        assistant.settings = s
        pool = TranscriptionPool(stt, workers=1, max_queue=4)
        gateway = VoiceGateway(s, assistant, pool, turn=turn)
        live = LiveServer(create_app(s, assistant, voice=gateway)).__enter__()
        opened.append((live, pool))
        return live, gateway

    yield make
    for live, pool in opened:
        live.__exit__(None, None, None)
        pool.close()


async def speak_live(client: Client, audio: np.ndarray) -> None:
    """Stream 16 kHz ``audio`` as pcm16 in 100 ms frames at the pace it is spoken, as a microphone does."""
    await client.send(type="audio.start", format="pcm16", sample_rate=16000)
    step, began = 1600, time.monotonic()
    for k, at in enumerate(range(0, len(audio), step)):
        await client.send_raw(synth.to_pcm16_bytes(audio[at : at + step]))
        await asyncio.sleep(max(0.0, began + (k + 1) * 0.1 - time.monotonic()))


@pytest.fixture
def server(settings, assistant):
    with LiveServer(create_app(settings, assistant)) as live:
        yield live


class Client:
    """A websocket client that speaks the protocol and collects events per turn."""

    def __init__(self, ws):
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message, ensure_ascii=False))

    async def send_raw(self, raw: str | bytes) -> None:
        await self.ws.send(raw)

    async def recv(self, wait_s: float = 20) -> dict[str, Any]:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), wait_s))
        self.events.append(event)
        return event

    async def until_terminal(self, wait_s: float = 20) -> list[dict[str, Any]]:
        """Events up to and including the turn's one reply or error."""
        out = []
        while True:
            event = await self.recv(wait_s)
            out.append(event)
            if event["type"] in TERMINAL:
                return out

    async def start(self, **fields: Any) -> dict[str, Any]:
        await self.send(type="session.start", **fields)
        event = await self.recv()
        assert event["type"] == "session.started", event
        return event

    async def say(self, text: str, **fields: Any) -> list[dict[str, Any]]:
        await self.send(type="text", text=text, **fields)
        return await self.until_terminal()


@pytest.fixture
async def connect_client(server):
    opened: list[Any] = []

    async def _connect(start: bool = True, **fields: Any) -> tuple[Client, dict[str, Any] | None]:
        ws = await connect(server.ws, max_size=2**24)
        opened.append(ws)
        client = Client(ws)
        started = await client.start(**fields) if start else None
        return client, started

    yield _connect
    for ws in opened:
        await ws.close()


