"""The server ends a spoken turn by itself: soon after a finished request, not during a pause in the
middle of one. Real speech (espeak-ng English, Kokoro Mandarin) streamed in real time as pcm16 over a
real websocket; no ``audio.end`` is sent, so only the server's end-of-turn can answer."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from assistant.api.app import create_app
from assistant.api.audio import VoiceGateway
from tests.api.conftest import Client
from tests.conftest import LiveServer, of_type
from voice import synth

CHUNK_S = 0.1


@pytest.fixture
def turn_server(settings, assistant, smart_turn):
    """A server that ends turns with smart-turn; fixed-pause fallback 1.5 s (elder: the default, 2.5 s)."""
    servers = []

    def _make(pool):
        changed = settings.model_copy(update={"stt_endpoint_silence_ms": 1500})
        assistant.settings = changed
        gateway = VoiceGateway(changed, assistant, pool, turn=smart_turn)
        live = LiveServer(create_app(changed, assistant, voice=gateway)).__enter__()
        servers.append(live)
        return live

    yield _make
    for live in servers:
        live.__exit__(None, None, None)


async def _speak_live(client: Client, audio: np.ndarray, then_silence_s: float = 6.0, **start) -> None:
    """Stream 16 kHz audio as pcm16 at the pace it is spoken, then silence, as an open microphone does."""
    audio = np.concatenate([audio, synth.silence(then_silence_s)])
    await client.send(type="audio.start", format="pcm16", sample_rate=16000, **start)
    step = int(CHUNK_S * 16000)
    began = time.monotonic()
    for k, at in enumerate(range(0, len(audio), step)):
        await client.send_raw(synth.to_pcm16_bytes(audio[at : at + step]))
        await asyncio.sleep(max(0.0, began + (k + 1) * CHUNK_S - time.monotonic()))


async def _turn(client: Client, audio: np.ndarray, then_silence_s: float) -> list[dict]:
    """Speak, keep the microphone open, and return the turn's events (up to its reply or error)."""
    mic = asyncio.create_task(_speak_live(client, audio, then_silence_s))
    try:
        return await client.until_terminal(wait_s=60)
    finally:
        mic.cancel()


async def _connect(live, **start) -> Client:
    from websockets.asyncio.client import connect

    client = Client(await connect(live.ws, max_size=2**24))
    await client.start(**start)
    return client


async def test_a_finished_request_ends_the_turn_without_audio_end(turn_server, tiny_stt_pool, tmp_path):
    speech = synth.samples_16k(synth.speak("what is my balance", tmp_path / "b.wav", pad_s=0.2))
    client = await _connect(turn_server(tiny_stt_pool), user="u_amy", lang="en")
    try:
        # 0.8 s of silence after the words: under the 1.5 s fixed pause, so only the model can end it
        events = await _turn(client, speech, then_silence_s=0.8)
        final = of_type(events, "transcript.final")
        assert final and "balance" in final[0]["text"].lower(), events
        assert [e["name"] for e in of_type(events, "intent")] == ["check_balance"]
        assert events[-1]["type"] == "reply"
    finally:
        await client.ws.close()


async def _hold_to_talk(client: Client, audio: np.ndarray, release_after_s: float) -> list[dict]:
    """Hold the button: stream in real time with ``endpoint: client``, release (audio.end) a little after
    the last word; return the turn's events."""
    await _speak_live(client, audio, release_after_s, endpoint="client")
    await client.send(type="audio.end")
    return await client.until_terminal(wait_s=60)


async def test_hold_to_talk_is_not_ended_by_a_long_pause(turn_server, tiny_stt_pool, tmp_path):
    """A hold-to-talk client (``endpoint: client``) pauses 2 s, longer than the 1.5 s fixed pause and after
    a finished question: the server does not end the utterance; the words after the pause are in it."""
    first = synth.samples_16k(synth.speak("what is my balance", tmp_path / "a.wav", pad_s=0.2))
    then = synth.samples_16k(synth.speak("thank you", tmp_path / "b.wav", pad_s=0.2))
    client = await _connect(turn_server(tiny_stt_pool), user="u_amy", lang="en")
    try:
        events = await _hold_to_talk(client, np.concatenate([first, synth.silence(2.0), then]), 0.3)
        finals = of_type(events, "transcript.final")
        assert len(finals) == 1, events
        assert "balance" in finals[0]["text"].lower() and "thank" in finals[0]["text"].lower(), finals
        assert events[-1]["type"] == "reply"
        # an open microphone (the default) is ended by that pause: only the question is heard
        events = await _turn(client, np.concatenate([first, synth.silence(2.0), then]), then_silence_s=0.5)
        finals = of_type(events, "transcript.final")
        assert len(finals) == 1 and "thank" not in finals[0]["text"].lower(), finals
    finally:
        await client.ws.close()


def _kokoro(kokoro_tts, *parts: str | float) -> np.ndarray:
    """Kokoro Mandarin at elder speed, 16 kHz: text parts spoken, numbers are seconds of silence."""
    from scipy.signal import resample_poly

    out = [synth.silence(0.3)]
    for part in parts:
        if isinstance(part, float):
            out.append(synth.silence(part))
            continue
        audio, rate = kokoro_tts.synth(part, "zf_xiaobei", 0.85)
        assert rate == 24000
        out.append(resample_poly(audio, 2, 3).astype(np.float32))
    return np.concatenate(out)


@pytest.mark.slow
@pytest.mark.parametrize(("first", "rest"), [("帮我交", "电费。"), ("电费", "帮我交一下。")])
async def test_an_elder_pausing_mid_request_is_not_cut_off(turn_server, base_stt_pool, kokoro_tts, first, rest):
    """"帮我交……电费" (stops on a verb) and "电费……帮我交一下" (a bare topic first) with a 1 s pause,
    Kokoro Mandarin at elder speed: one turn, the whole request."""
    audio = _kokoro(kokoro_tts, first, 1.0, rest)
    client = await _connect(turn_server(base_stt_pool), user="u_li", lang="zh", mode="elder")
    try:
        events = await _turn(client, audio, then_silence_s=3.5)
        finals = of_type(events, "transcript.final")
        assert len(finals) == 1 and "电费" in finals[0]["text"] and "交" in finals[0]["text"], events
        intents = of_type(events, "intent")
        assert intents and intents[0]["name"] == "pay_bill", intents
        assert intents[0]["slots"].get("bill_type") == "electricity", intents
        assert events[-1]["type"] == "reply"
    finally:
        await client.ws.close()


@pytest.mark.slow
async def test_an_elder_holding_the_button_is_heard_through_any_pause(turn_server, base_stt_pool, kokoro_tts):
    """The elder page is hold-to-talk: "帮我交电费。" (a whole request, which an open microphone ends at a
    short pause: the test below), 3 s of silence with the button held, "谢谢。", release. One utterance."""
    client = await _connect(turn_server(base_stt_pool), user="u_li", lang="zh", mode="elder")
    try:
        events = await _hold_to_talk(client, _kokoro(kokoro_tts, "帮我交电费。", 3.0, "谢谢。"), 0.4)
        finals = of_type(events, "transcript.final")
        assert len(finals) == 1 and "电费" in finals[0]["text"] and "谢" in finals[0]["text"], events
        assert [e["name"] for e in of_type(events, "intent")] == ["pay_bill"], events
        assert events[-1]["type"] == "reply"
    finally:
        await client.ws.close()


@pytest.mark.slow
async def test_an_elder_finished_request_ends_before_the_long_pause(turn_server, base_stt_pool, kokoro_tts):
    """"帮我交电费。" and 1.5 s of silence, then the microphone stays open but silent: under the elder
    fixed pause (2.5 s), so only the model and the words (a whole request) can end the turn — they do,
    instead of every elder turn waiting out a long pause."""
    client = await _connect(turn_server(base_stt_pool), user="u_li", lang="zh", mode="elder")
    try:
        events = await _turn(client, _kokoro(kokoro_tts, "帮我交电费。"), then_silence_s=1.5)
        finals = of_type(events, "transcript.final")
        assert len(finals) == 1 and "电费" in finals[0]["text"], events
        assert [e["name"] for e in of_type(events, "intent")] == ["pay_bill"], events
        assert events[-1]["type"] == "reply"
    finally:
        await client.ws.close()


@pytest.mark.slow
async def test_an_elder_request_that_never_goes_on_ends_at_the_elder_pause(turn_server, base_stt_pool, kokoro_tts):
    """"帮我交" and then nothing: the words wait for more, but only up to the elder pause for unfinished
    words (turn_elder_unfinished_silence_ms, 4 s): 4.3 s of silence ends the turn (it is answered with a
    question), no audio-timeout."""
    client = await _connect(turn_server(base_stt_pool), user="u_li", lang="zh", mode="elder")
    try:
        events = await _turn(client, _kokoro(kokoro_tts, "帮我交"), then_silence_s=4.3)
        finals = of_type(events, "transcript.final")
        assert len(finals) == 1 and "交" in finals[0]["text"], events
        assert events[-1]["type"] == "reply", events
    finally:
        await client.ws.close()
