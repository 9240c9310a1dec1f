"""Hold-to-talk on the elder page in Chromium: a pause longer than the server's end-of-speech silence,
with the button still held, does not end the utterance; the words after it are heard in the same turn
(the page sends ``audio.start`` with ``endpoint: client``)."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.web.test_elder import _hold_to_talk, watch_sent_frames

FIRST, THEN, PAUSE_S = "what is my balance", "thank you", 2.5


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    """Overrides the clip of tests/web/conftest.py for this module's browser: "what is my balance", 2.5 s
    of silence (over the server's 1.5 s end-of-speech pause), "thank you"; espeak-ng, 48 kHz mono 16-bit."""
    from scipy.signal import resample_poly

    from voice import synth

    d = tmp_path_factory.mktemp("hold-audio")
    try:
        parts = [synth.samples_16k(synth.speak(text, d / f"{i}.wav", pad_s=0.3)) for i, text in enumerate((FIRST, THEN))]
    except synth.MissingTool as exc:
        pytest.fail(str(exc), pytrace=False)
    audio = np.concatenate([parts[0], synth.silence(PAUSE_S), parts[1], synth.silence(0.3)])
    out = d / "hold_48k.wav"
    synth.write_wav(out, resample_poly(audio, 3, 1).astype(np.float32), 48000)
    return out


def test_a_long_pause_with_the_button_held_is_one_utterance(voice_server, open_page, settings):
    assert PAUSE_S * 1000 > settings.stt_endpoint_silence_ms > 0  # an open microphone would be cut here
    page = open_page(f"{voice_server.http}/elder?user=u_amy&lang=en")
    # the fake microphone loops the ~6 s file: a 7.5 s hold hears both phrases whole, the pause between
    _hold_to_talk(page, seconds=7.5)
    # cut off at the pause, the page was answered while still recording, and its audio.end (the release)
    # then got nothing: it hung in "sending" and this wait timed out
    page.wait_for_function("() => window.luiElder.talk === 'idle' && window.luiElder.replied", timeout=60_000)
    events = page.evaluate("window.lui.events")
    finals = [e["text"].lower() for e in events if e["type"] == "transcript.final"]
    assert len(finals) == 1, finals
    assert "balance" in finals[0] and "thank" in finals[0], finals
    assert sum(e["type"] == "reply" for e in events) == 1


@pytest.fixture
def voice_server_with(settings, assistant, tiny_stt_pool):
    """The voice server (tiny.en) with some settings changed: ``voice_server_with(max_audio_seconds=4.0)``."""
    from assistant.api.audio import VoiceGateway
    from tests.web.conftest import _server

    servers = []

    def _make(**update):
        changed = settings.model_copy(update=update)
        assistant.settings = changed
        live = _server(changed, assistant, voice=VoiceGateway(changed, assistant, tiny_stt_pool)).__enter__()
        servers.append(live)
        return live

    yield _make
    for live in servers:
        live.__exit__(None, None, None)


def test_a_button_held_past_the_longest_utterance_is_let_go_before_it(voice_server_with, open_page):
    """Held for 8 s against a 4 s limit: the page lets go by itself 1.5 s before the limit (session.started
    says it), so what was said is transcribed and answered instead of refused as audio-too-long."""
    page = open_page(f"{voice_server_with(max_audio_seconds=4.0).http}/elder?user=u_amy&lang=en")
    assert page.evaluate("window.luiElder.maxAudioS") == 4.0
    page.hover("#talk")
    page.mouse.down()
    page.wait_for_function("window.luiElder.lastTake !== null")
    # answered while the button is still down
    page.wait_for_function("() => window.luiElder.talk === 'idle' && window.luiElder.replied", timeout=60_000)
    assert page.evaluate("window.luiElder.pressed") is False
    page.wait_for_timeout(3000)
    page.mouse.up()
    events = page.evaluate("window.lui.events")
    assert not [e for e in events if e["type"] == "error"], events
    finals = [e for e in events if e["type"] == "transcript.final"]
    assert len(finals) == 1 and finals[0]["duration_ms"] < 4000, finals
    assert sum(e["type"] == "reply" for e in events) == 1
    assert page.evaluate("window.luiElder.talk") == "idle"


def test_an_utterance_the_server_ends_while_the_button_is_held_does_not_hang_the_page(voice_server_with, open_page):
    """The server ends the utterance with audio-cpu-limit while the button is still held: the page stops
    recording then (the error is shown), sends no audio.end that nothing would answer, and is ready again —
    it used to sit in "sending" after the release."""
    # a CPU cap no utterance stays under (LUI_MAX_AUDIO_CPU_S)
    page = open_page(f"{voice_server_with(max_audio_cpu_s=1e-6).http}/elder?user=u_amy&lang=en")
    sent = watch_sent_frames(page)
    page.hover("#talk")
    page.mouse.down()
    page.wait_for_function("() => document.getElementById('alert').dataset.code === 'audio-cpu-limit'",
                           timeout=30_000)
    assert page.evaluate("window.luiElder.talk") == "idle"  # stopped while the button is still down
    page.mouse.up()
    page.wait_for_timeout(1000)
    assert page.evaluate("window.luiElder.talk") == "idle"
    assert not [p for p in sent if isinstance(p, str) and '"audio.end"' in p], sent
    page.fill("#text", "what is my balance")  # the session goes on
    page.click("#text-send")
    expect(page.locator("#reply")).to_contain_text("one thousand yuan")
