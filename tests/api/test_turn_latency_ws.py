"""The elder end of turn does not wait out the long pause because the transcription pool was busy when
the end-of-turn model answered. Fakes for the model and for speech-to-text (the decoding, end-pointing,
pool, router and websocket are real) fix the order of events: the pool is busy when the pause is judged."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest
from websockets.asyncio.client import connect

from tests.api.conftest import Client, speak_live
from tests.conftest import of_type
from voice import synth
from voice.pool import TranscriptionPool
from voice.stt import SpeechToText, Transcript


class AlwaysComplete:
    """The end-of-turn model, faked: every pause is a finished turn."""

    def __init__(self):
        self.asked = threading.Event()

    def complete_probability(self, audio: np.ndarray) -> float:
        self.asked.set()
        return 1.0


class BusyUntilQueued(SpeechToText):
    """Hears 帮我交电费; the first transcription (the partial made while the person speaks) holds the
    only worker until another transcription waits in the pool's queue, so the pause is judged while the
    pool is busy. (Before, nothing was queued then: the partial held the pool for its 20 s and the turn
    waited for the elder fixed pause.)"""

    def __init__(self):
        self.pool: TranscriptionPool | None = None
        self.calls: list[float] = []  # seconds of audio of each call

    def transcribe(self, audio, *, lang=None, prompt=None, hotwords=None) -> Transcript:
        self.calls.append(len(audio) / 16000)
        if len(self.calls) == 1:
            deadline = time.monotonic() + 20
            while self.pool.stats().queued == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
        return Transcript("帮我交电费", "zh", int(len(audio) / 16), False)


@pytest.fixture
def elder_server(voice_app_with):
    def make(stt: BusyUntilQueued, turn: AlwaysComplete):
        # the elder fixed pause is out of reach: only the model and the words can end this turn
        live, gateway = voice_app_with(stt, turn, stt_endpoint_silence_ms=1500, stt_endpoint_elder_silence_ms=60_000,
                                       turn_check_ms=250, turn_elder_check_ms=300,
                                       stt_elder_partial_every_s=0.3)
        stt.pool = gateway.pool
        return live

    return make


async def test_an_elder_turn_ends_on_the_words_even_when_the_pool_was_busy(elder_server):
    turn = AlwaysComplete()
    stt = BusyUntilQueued()
    live = elder_server(stt, turn)
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(24000) / 16000)).astype(np.float32)
    audio = np.concatenate([synth.silence(0.3), tone, synth.silence(20.0)])  # the microphone stays open
    client = Client(await connect(live.ws, max_size=2**24))
    try:
        await client.start(user="u_li", lang="zh", mode="elder")
        mic = asyncio.create_task(speak_live(client, audio))
        try:
            events = await client.until_terminal(wait_s=15)
        finally:
            mic.cancel()
        finals = of_type(events, "transcript.final")
        assert finals and finals[0]["text"] == "帮我交电费", events
        assert [e["name"] for e in of_type(events, "intent")] == ["pay_bill"], events
        assert turn.asked.is_set() and len(stt.calls) >= 2  # the partial, then the pause's own transcription
        assert stt.calls[0] < stt.calls[1]  # the partial heard part of the tone; the pause's words all of it
    finally:
        await client.ws.close()


class Records(SpeechToText):
    """Hears 帮我交电费 and notes the seconds of audio of each call."""

    def __init__(self):
        self.calls: list[float] = []

    def transcribe(self, audio, *, lang=None, prompt=None, hotwords=None) -> Transcript:
        self.calls.append(len(audio) / 16000)
        return Transcript("帮我交电费", "zh", int(len(audio) / 16), False)


@pytest.mark.parametrize("mode", ["elder", "standard"])
async def test_elder_speech_is_not_transcribed_on_a_timer(voice_app_with, mode):
    """In elder mode the one Whisper worker is kept for the pause: no timed partial runs while the person
    speaks (one still running at the pause made its transcription wait), yet the pause's words are still
    shown as a partial. A standard session keeps its timed partials."""
    stt = Records()
    live, _ = voice_app_with(stt, AlwaysComplete(), stt_endpoint_silence_ms=1500, turn_check_ms=250,
                             turn_elder_check_ms=300, stt_partial_every_s=0.3)
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(40000) / 16000)).astype(np.float32)  # 2.5 s of "speech"
    audio = np.concatenate([synth.silence(0.3), tone, synth.silence(5.0)])
    client = Client(await connect(live.ws, max_size=2**24))
    try:
        await client.start(user="u_li", lang="zh", mode=mode)
        mic = asyncio.create_task(speak_live(client, audio))
        try:
            events = await client.until_terminal(wait_s=15)
        finally:
            mic.cancel()
        assert of_type(events, "transcript.final") and of_type(events, "transcript.partial"), events
        spoken = 0.3 + len(tone) / 16000
        if mode == "elder":
            assert stt.calls and min(stt.calls) >= spoken, stt.calls  # every call heard all the words
        else:
            assert min(stt.calls) < spoken, stt.calls  # a partial heard part of them
    finally:
        await client.ws.close()
