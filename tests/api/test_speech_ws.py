"""Spoken replies over a real server and a real websocket client: reply.audio.start, binary pcm16
frames, reply.audio.end; barge-in by cancel, new speech or text; a synthesis failure keeps the reply."""

from __future__ import annotations

import asyncio
import json
import threading

import numpy as np
import pytest
from websockets.asyncio.client import connect

from assistant.api.app import create_app
from assistant.api.speech import SpeechGateway
from tests.conftest import LiveServer
from voice.tts import speakable_pieces, spoken_units, text_lang


class Listener:
    """Protocol events and binary frames in arrival order."""

    def __init__(self, ws):
        self.ws = ws
        self.items: list[dict | bytes] = []

    async def send(self, **message) -> None:
        await self.ws.send(json.dumps(message, ensure_ascii=False))

    async def until(self, pred, wait_s: float = 60) -> dict:
        async with asyncio.timeout(wait_s):
            while True:
                raw = await self.ws.recv()
                item = raw if isinstance(raw, bytes) else json.loads(raw)
                self.items.append(item)
                if isinstance(item, dict) and pred(item):
                    return item

    def events(self, kind: str) -> list[dict]:
        return [e for e in self.items if isinstance(e, dict) and e["type"] == kind]

    def audio_between(self, audio_id: str) -> bytes:
        """The binary frames sent between this id's reply.audio.start and reply.audio.end."""
        inside, out = False, bytearray()
        for item in self.items:
            if isinstance(item, bytes):
                if inside:
                    out += item
            elif item.get("id") == audio_id and item["type"] in ("reply.audio.start", "reply.audio.end"):
                inside = item["type"] == "reply.audio.start"
        return bytes(out)


class SlowSynth:
    """A test double of the Synthesizer interface: a tone per piece; every piece after the first of a
    reply waits until ``release`` is set, so a test can barge in while a reply is being spoken."""

    def __init__(self, fail: bool = False):
        self.release = threading.Event()
        self.fail = fail
        self.calls: list[tuple[str, str, float]] = []

    def synth(self, text, voice, speed=1.0):
        self.calls.append((text, voice, speed))
        if self.fail:
            raise RuntimeError("synthesizer broke")
        if len(self.calls) > 1:
            self.release.wait(20)
        t = np.arange(8000, dtype=np.float32) / 16000
        return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000


@pytest.fixture
def speech_server(settings, assistant):
    servers = []

    def _make(synthesizer, **changes):
        changed = settings.model_copy(update=changes)
        assistant.settings = changed
        live = LiveServer(create_app(changed, assistant, speech=SpeechGateway(changed, synthesizer))).__enter__()
        servers.append(live)
        return live

    yield _make
    for live in servers:
        live.__exit__(None, None, None)


async def _open(live, **start) -> Listener:
    ws = await connect(live.ws, max_size=2**24)
    listener = Listener(ws)
    await listener.send(type="session.start", user="u_li", **start)
    await listener.until(lambda e: e["type"] == "session.started")
    return listener


async def test_a_spoken_reply_follows_the_reply_in_kokoro_mandarin(speech_server, kokoro_replies):
    live = speech_server(kokoro_replies)
    client = await _open(live, lang="zh", mode="elder", speech=True)
    try:
        assert client.events("session.started")[0]["speech"] is True
        await client.send(type="text", text="我还有多少钱", id="t1")
        end = await client.until(lambda e: e["type"] == "reply.audio.end")
        kinds = [e["type"] if isinstance(e, dict) else "bytes" for e in client.items]
        assert kinds.index("reply") < kinds.index("reply.audio.start") < kinds.index("bytes")
        start = client.events("reply.audio.start")[0]
        assert start == {"type": "reply.audio.start", "id": "t1", "format": "pcm16", "sample_rate": 24000}
        assert end["id"] == "t1" and "interrupted" not in end and "error" not in end
        pcm = np.frombuffer(client.audio_between("t1"), dtype="<i2").astype(np.float32) / 32768
        assert abs(len(pcm) / 24000 * 1000 - end["audio_ms"]) < 5
        reply = client.events("reply")[0]["text"]
        assert len(pcm) / 24000 > 0.12 * len(reply)  # elder speed: at least ~8 characters a second, not a blip
        assert np.sqrt(np.mean(pcm**2)) > 0.02  # audible, not silence
    finally:
        await client.ws.close()


class TailSynth:
    """Like Kokoro: each piece is 0.5 s of tone and then a second of silence."""

    def __init__(self):
        self.calls: list[str] = []

    def synth(self, text, voice, speed=1.0):
        self.calls.append(text)
        t = np.arange(8000, dtype=np.float32) / 16000
        return np.concatenate([0.3 * np.sin(2 * np.pi * 440 * t), np.zeros(16000)]).astype(np.float32), 16000


async def test_the_first_piece_is_short_and_the_silence_after_each_piece_is_cut(speech_server):
    """The first synthesis (the wait for the first audio frame) is a few syllables; the second of
    silence a synthesizer leaves after a piece is sent as a 0.3 s pause."""
    synth = TailSynth()
    client = await _open(speech_server(synth, tts_first_piece_units=4), lang="zh", speech=True)
    try:
        await client.send(type="text", text="我还有多少钱", id="t1")
        end = await client.until(lambda e: e["type"] == "reply.audio.end")
        reply = client.events("reply")[0]["text"]
        assert "".join(synth.calls) == "".join(speakable_pieces(reply, first_units=4))
        assert len(synth.calls) >= 2 and 2 <= spoken_units(synth.calls[0]) <= 4, synth.calls
        assert end["audio_ms"] == 800 * len(synth.calls)  # 0.5 s tone + 0.3 s of the 1 s silence, each
        assert len(client.audio_between("t1")) == 2 * 16000 * 0.8 * len(synth.calls)
    finally:
        await client.ws.close()


async def test_no_spoken_reply_unless_asked(speech_server):
    synth = SlowSynth()
    synth.release.set()
    client = await _open(speech_server(synth), lang="zh")
    try:
        assert "speech" not in client.events("session.started")[0]
        await client.send(type="text", text="我还有多少钱")
        await client.until(lambda e: e["type"] == "reply")
        await client.send(type="ping")
        await client.until(lambda e: e["type"] == "pong")
        assert not synth.calls and not client.events("reply.audio.start")
        assert not any(isinstance(i, bytes) for i in client.items)
    finally:
        await client.ws.close()


@pytest.mark.parametrize("barge_in", [{"type": "cancel"}, {"type": "audio.start", "format": "webm"},
                                      {"type": "text", "text": "谢谢"}])
async def test_cancel_or_new_speech_stops_the_spoken_reply(speech_server, barge_in):
    synth = SlowSynth()
    # a two-sentence reply: the second piece waits in the synthesizer until the test releases it
    client = await _open(speech_server(synth), lang="zh", speech=True)
    try:
        await client.send(type="text", text="帮我把这个月电费交了", id="pay")
        await client.until(lambda e: e["type"] == "reply")
        await client.until(lambda e: e["type"] == "reply.audio.start")
        assert len(synth.calls) >= 1
        await client.send(**barge_in)
        end = await client.until(lambda e: e["type"] == "reply.audio.end" and e["id"] == "pay")
        assert end["interrupted"] is True and end["audio_ms"] == 800  # only the first piece (0.5 s + its 0.3 s pause)
        synth.release.set()
        await client.send(type="ping")
        await client.until(lambda e: e["type"] == "pong")
    finally:
        synth.release.set()
        await client.ws.close()


async def test_a_synthesis_failure_keeps_the_text_reply(speech_server):
    client = await _open(speech_server(SlowSynth(fail=True)), lang="en", speech=True)
    try:
        await client.send(type="text", text="what is my balance", id="b1")
        reply = await client.until(lambda e: e["type"] == "reply")
        assert reply["text"]
        end = await client.until(lambda e: e["type"] == "reply.audio.end")
        assert end == {"type": "reply.audio.end", "id": "b1", "error": "tts-failed", "audio_ms": 0}
        assert not client.events("error") and not client.events("reply.audio.start")
        await client.send(type="text", text="thanks")  # the session carries on
        await client.until(lambda e: e["type"] == "reply")
    finally:
        await client.ws.close()


async def test_readiness_reports_the_speech_pool_and_failing_synthesis(speech_server):
    """/healthz lists the tts pool's load; /readyz has a "speech" part: ok while syntheses work, down
    (degraded, still 200: text turns go on) after three failures in a row."""
    import httpx

    live = speech_server(SlowSynth(fail=True))
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as http:
        health = (await http.get("/healthz")).json()
        assert health["speech"] is True
        assert health["pools"]["tts"] == {"name": "tts", "workers": 1, "busy": 0, "waiting": 0, "completed": 0,
                                          "saturated": False}
        ready = await http.get("/readyz")
        assert ready.json()["parts"]["speech"] == "ok" and "speech" not in ready.json()["degraded"]
        client = await _open(live, lang="en", speech=True)
        try:
            for i in range(3):
                await client.send(type="text", text="what is my balance", id=f"b{i}")
                await client.until(lambda e, i=i: e["type"] == "reply.audio.end" and e["id"] == f"b{i}")
        finally:
            await client.ws.close()
        ready = await http.get("/readyz")
        body = ready.json()
        assert ready.status_code == 200 and body["parts"]["speech"] == "down (tts-failed)", body
        assert "speech" in body["degraded"] and body["status"] == "degraded"
        assert (await http.get("/healthz")).json()["pools"]["tts"]["completed"] == 3


async def test_readiness_says_speech_is_off_without_spoken_replies(server):
    import httpx

    async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
        assert (await http.get("/readyz")).json()["parts"]["speech"] == "off"
        assert "tts" not in (await http.get("/healthz")).json()["pools"]


async def test_a_reply_opening_said_before_comes_from_the_cache(speech_server):
    """您还有五百元 twice: the opening 您还有 is synthesised once; the second reply's first audio needs no
    synthesis at all."""
    synth = TailSynth()
    client = await _open(speech_server(synth), lang="zh", mode="elder", speech=True)
    try:
        for turn in ("t1", "t2"):
            await client.send(type="text", text="我还有多少钱", id=turn)
            await client.until(lambda e, turn=turn: e["type"] == "reply.audio.end" and e["id"] == turn)
        reply = client.events("reply")[0]["text"]
        assert reply.startswith("您还有"), reply
        assert synth.calls.count("您还有") == 1, synth.calls
        assert len(client.audio_between("t1")) == len(client.audio_between("t2"))  # the same audio both times
    finally:
        await client.ws.close()


class GatedSynth:
    """A test double of the Synthesizer interface: a tone, but every call waits until ``gate`` is set; it
    notes the calling thread's name and OS priority (nice)."""

    def __init__(self):
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.calls: list[tuple[str, str, int]] = []
        self.background_asked = False

    def background(self):
        """The warm-up's own copy (Kokoro: one onnxruntime thread, all of it at the warm-up's priority)."""
        self.background_asked = True
        return self

    def synth(self, text, voice, speed=1.0):
        import os

        self.calls.append((text, threading.current_thread().name,
                           os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        self.entered.set()
        self.gate.wait(30)
        return (0.3 * np.sin(2 * np.pi * 440 * np.arange(4000) / 16000)).astype(np.float32), 16000


async def test_the_warm_up_runs_behind_a_serving_server_and_fills_the_cache(settings, assistant):
    """The openings are synthesised in a background thread at low priority once the server is up: a turn
    is answered while the warm-up is still stuck in its first phrase (before, create() synthesised them all
    before the server started), and afterwards every Mandarin opening is in the cache."""
    synth = GatedSynth()
    settings = assistant.settings = settings.model_copy(update={"tts_warmup_s": 600.0})
    gateway = SpeechGateway(settings, synth)
    try:
        with LiveServer(create_app(settings, assistant, speech=gateway)) as live:
            assert await asyncio.to_thread(synth.entered.wait, 10), "the warm-up did not start"
            client = await _open(live, lang="zh", mode="elder")
            try:
                await client.send(type="text", text="我还有多少钱", id="t1")
                reply = await client.until(lambda e: e["type"] in ("reply", "error"), wait_s=30)
            finally:
                await client.ws.close()
            assert reply["type"] == "reply" and not synth.gate.is_set()  # answered; the warm-up still waits
            assert len(synth.calls) == 1 and synth.calls[0][1] == "lui-tts-warm-up"  # its own thread,
            assert synth.calls[0][2] >= 10 and synth.background_asked  # at low priority, on its own copy
    finally:
        synth.gate.set()
    await asyncio.to_thread(gateway._warm.join, 30)
    assert not gateway._warm.is_alive()
    voice, speed = gateway.voices.pick("好的", elder=True)
    zh = [p for p in gateway.openings if text_lang(p) == "zh"]
    assert zh and all(gateway.cache.get(p, voice, speed) is not None for p in zh)
    assert len(synth.calls) == len(zh)
