"""Hostile audio over a real websocket: utterances that never end, cost too much CPU or carry absurd
headers get an ``error`` with a stable code and the session goes on; a client that leaves takes its
audio work with it. Speech-to-text is a fake that implements ``SpeechToText`` (the decoding and the
pool are real), so these tests need no model and can hold a transcription open on purpose."""

from __future__ import annotations

import asyncio
import subprocess
import threading

import numpy as np
import pytest
from websockets.asyncio.client import connect

from tests.api.conftest import Client
from tests.voice.test_stream import HOSTILE_WAVS
from voice import synth
from voice.stt import SpeechToText, Transcript


class ScriptedSTT(SpeechToText):
    """Hears "what is my balance" in any audio; ``gate`` (when set up) holds each call until released."""

    def __init__(self, gate: threading.Event | None = None):
        self.gate = gate
        self.started = threading.Event()
        self.calls = 0

    def transcribe(self, audio: np.ndarray, *, lang: str | None = None, prompt: str | None = None,
                   hotwords: str | None = None) -> Transcript:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            self.gate.wait(30)
        return Transcript("what is my balance", "en", int(len(audio) / 16), False)


@pytest.fixture
def voice_app(voice_app_with):
    """make(stt, **setting overrides) -> (live server, gateway)."""
    return lambda stt=None, **overrides: voice_app_with(stt or ScriptedSTT(), **overrides)


@pytest.fixture(scope="module")
def opus(tmp_path_factory) -> bytes:
    src = tmp_path_factory.mktemp("limits") / "tone"
    cmd = [synth.need("ffmpeg"), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
           "sine=frequency=300:sample_rate=48000", "-t", "4", "-c:a", "libopus", "-b:a", "64k", "-f", "ogg", "pipe:1"]
    data = subprocess.run(cmd, check=True, capture_output=True).stdout
    src.write_bytes(data)
    return data


async def _client(live) -> Client:
    client = Client(await connect(live.ws, max_size=2**24))
    await client.start(user="u_amy", lang="en")
    return client


async def _still_works(client: Client) -> None:
    await client.send(type="ping")  # nothing else is pending: the next event answers it
    assert (await client.recv())["type"] == "pong"
    events = await client.say("what's my balance")
    assert events[-1]["type"] == "reply" and "¥1,000.00" in events[-1]["text"]


async def _until(predicate, wait_s: float = 10.0) -> bool:
    for _ in range(int(wait_s / 0.02)):  # polls server state that has no event to wait on
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


def _decoders() -> int:
    return sum(t.name == "lui-audio-decode" and t.is_alive() for t in threading.enumerate())


async def test_an_utterance_without_frames_times_out_and_is_freed(voice_app, opus):
    live, gateway = voice_app(audio_idle_timeout_s=0.3, audio_max_open_s=0)
    client = await _client(live)
    await client.send(type="audio.start", format="ogg")
    await client.send_raw(opus[:3000])  # then the client goes quiet, never sending audio.end
    error = await client.recv(10)
    assert error["type"] == "error" and error["code"] == "audio-timeout"
    assert await _until(lambda: gateway.open_utterances == 0 and _decoders() == 0)
    await client.send_raw(opus[3000:6000])  # late frames and a late audio.end are dropped quietly
    await client.send(type="audio.end")
    await _still_works(client)
    await client.send(type="audio.start", format="ogg")  # and the next utterance works
    await client.send_raw(opus)
    await client.send(type="audio.end")
    events = await client.until_terminal()
    assert [e["type"] for e in events][0] == "transcript.final" and events[-1]["type"] == "reply"
    await client.ws.close()


async def test_an_utterance_that_never_ends_times_out(voice_app):
    live, gateway = voice_app(audio_idle_timeout_s=0, audio_max_open_s=0.5, stt_endpoint_silence_ms=0)
    client = await _client(live)
    await client.send(type="audio.start", format="pcm16", sample_rate=16000)
    for _ in range(40):  # frames keep coming (silence), audio.end never does
        await client.send_raw(bytes(3200))
        await asyncio.sleep(0.05)
    error = await client.recv(10)
    assert error["code"] == "audio-timeout"
    assert await _until(lambda: gateway.open_utterances == 0)
    await _still_works(client)
    await client.ws.close()


async def test_cpu_limit_ends_the_utterance_at_once(voice_app, opus):
    live, gateway = voice_app(max_audio_cpu_s=1e-6)
    client = await _client(live)
    await client.send(type="audio.start", format="ogg")
    for i in range(0, len(opus), 1024):
        await client.send_raw(opus[i : i + 1024])
    error = await client.recv(10)  # before any audio.end
    assert error["code"] == "audio-cpu-limit"
    await client.send(type="audio.end")  # ignored: the utterance already has its error
    await _still_works(client)
    assert await _until(lambda: gateway.open_utterances == 0 and _decoders() == 0)
    await client.ws.close()


async def test_absurd_headers_are_errors_and_the_session_continues(voice_app):
    live, _ = voice_app(max_audio_frames_burst=10**6)  # 20-byte frames on purpose: headers, not a flood
    client = await _client(live)
    for data in HOSTILE_WAVS:
        await client.send(type="audio.start", format="wav")
        for i in range(0, len(data), 20):
            await client.send_raw(data[i : i + 20])
        await client.send(type="audio.end")
        error = await client.recv(10)
        assert error["type"] == "error" and error["code"] == "audio-undecodable", error
    for rate in (2**31, 0, -1, 10**30, 7999, 192001, "fast"):
        await client.send(type="audio.start", format="pcm16", sample_rate=rate)
        error = await client.recv(10)
        assert error["type"] == "error" and error["code"], error
    await _still_works(client)
    await client.ws.close()


async def test_leaving_drops_queued_audio_work(voice_app, opus):
    """The first utterance is being transcribed (held by the gate), the second waits behind it, a
    third is still being recorded; the client leaves. Nothing more is transcribed or answered."""
    gate = threading.Event()
    stt = ScriptedSTT(gate)
    live, gateway = voice_app(stt)
    client = await _client(live)
    for _ in range(2):
        await client.send(type="audio.start", format="ogg")
        await client.send_raw(opus)
        await client.send(type="audio.end")
    await client.send(type="audio.start", format="ogg")
    await client.send_raw(opus[: len(opus) // 2])
    assert await asyncio.to_thread(stt.started.wait, 20)
    await client.send(type="ping")
    assert (await client.recv())["type"] == "pong"  # every frame above has been read by the server
    await client.ws.close()
    assert await _until(lambda: gateway.open_utterances == 0 and _decoders() == 0)
    gate.set()  # the running transcription completes; its result goes nowhere
    assert await _until(lambda: gateway.pool.stats().running == 0)
    await asyncio.sleep(0.5)  # room for a wrongly queued second transcription to start
    assert stt.calls == 1
    stats = gateway.pool.stats()
    assert stats.completed == 0 and stats.discarded == 1


async def test_a_flood_of_audio_frames_is_read_no_faster_than_the_frame_budget(voice_app, opus):
    """Past its burst a connection's frames are read at the frame rate (backpressure, not CPU): 120
    frames at 50/s with a burst of 20 take at least 2 s to be read, so a ping sent after them is
    answered no sooner; nothing is refused."""
    import time

    live, _ = voice_app(max_audio_frames_per_s=50, max_audio_frames_burst=20)
    client = await _client(live)
    await client.send(type="audio.start", format="pcm16", sample_rate=16000)
    started = time.monotonic()
    for _ in range(120):
        await client.send_raw(bytes(64))  # silence: the utterance stays open
    await client.send(type="ping")
    while (event := await client.recv(30))["type"] != "pong":
        assert event["type"] != "error", event
    assert time.monotonic() - started >= 1.9  # a lower bound: a slower machine only waits longer
    await client.send(type="cancel")
