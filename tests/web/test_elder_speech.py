"""Mandarin, end to end in Chromium: a Kokoro clip through the fake microphone on the elder page gives
the Mandarin transcript, the intent, a large reply, and the server's spoken reply received and played
with Web Audio (Whisper base, smart-turn and Kokoro: the packaged models, as in production)."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from assistant.api.app import create_app
from assistant.api.audio import VoiceGateway
from assistant.api.speech import SpeechGateway
from tests.conftest import LiveServer
from tests.web.test_elder import MIN_REPLY_PX, _hold_to_talk, _px

SPOKEN_ZH = "我还有多少钱"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory, kokoro_tts):
    """Overrides the English clip of tests/web/conftest.py for this module's browser: Kokoro Mandarin,
    48 kHz mono 16-bit, 0.3 s of silence before and 1.2 s after (the fake microphone loops the file)."""
    from scipy.signal import resample_poly

    from voice import synth

    audio, rate = kokoro_tts.synth(SPOKEN_ZH, "zf_xiaobei", 1.0)
    assert rate == 24000
    audio = resample_poly(audio, 2, 1).astype(np.float32)
    audio = np.concatenate([np.zeros(int(0.3 * 48000), np.float32), audio, np.zeros(int(1.2 * 48000), np.float32)])
    out = tmp_path_factory.mktemp("zh-audio") / "zh_48k.wav"
    synth.write_wav(out, audio, 48000)
    return out


@pytest.fixture
def zh_server(settings, assistant, base_stt_pool, smart_turn, kokoro_replies):
    gateway = VoiceGateway(settings, assistant, base_stt_pool, turn=smart_turn)
    with LiveServer(create_app(settings, assistant, voice=gateway,
                               speech=SpeechGateway(settings, kokoro_replies))) as live:
        yield live


def test_mandarin_speech_in_and_server_speech_out(zh_server, open_page):
    page = open_page(f"{zh_server.http}/elder?user=u_li")
    page.wait_for_function("window.luiElder.serverSpeech === true")
    _hold_to_talk(page, seconds=2.8)
    page.wait_for_function("""() => {
        const alert = document.getElementById('alert');
        const a = window.luiElder.audio;
        return (!alert.hidden && alert.dataset.code) || (a && a.done && a.played > 0 && a.played >= a.frames);
    }""", timeout=90_000)
    events = page.evaluate("window.lui.events")
    kinds = [e["type"] for e in events]
    assert not page.locator("#alert").is_visible(), (page.inner_text("#alert"), kinds)
    final = next(e for e in events if e["type"] == "transcript.final")
    assert "多少钱" in final["text"], final
    expect(page.locator("#transcript")).to_have_text(final["text"])
    assert [e["name"] for e in events if e["type"] == "intent"] == ["check_balance"]
    reply = page.locator("#reply")
    expect(reply).to_contain_text("元")
    assert _px(page, "#reply") >= MIN_REPLY_PX
    # the server's voice: frames received, scheduled, played to the end, and audible
    audio = page.evaluate("window.luiElder.audio")
    start = next(e for e in events if e["type"] == "reply.audio.start")
    end = next(e for e in events if e["type"] == "reply.audio.end")
    assert start["format"] == "pcm16" and start["sample_rate"] == 24000 and end["id"] == start["id"] == audio["id"]
    assert "error" not in end and "interrupted" not in end
    assert audio["bytes"] == page.evaluate("window.lui.stats.binaryInBytes") > 24000  # over half a second
    assert abs(audio["scheduledMs"] - end["audio_ms"]) < 5
    assert audio["played"] == audio["frames"] >= 2
    assert audio["peak"] > 0.02, audio
    assert page.evaluate("window.luiElder.browserSpoken") == []  # the browser's voice was not needed


def test_without_server_speech_the_browser_reads_the_reply(web_server, open_page):
    page = open_page(f"{web_server.http}/elder?user=u_li")  # this server has no text-to-speech
    page.wait_for_function("window.lui.ready")
    assert page.evaluate("window.luiElder.serverSpeech") is False
    page.fill("#text", "我还有多少钱")
    page.press("#text", "Enter")
    expect(page.locator("#reply")).to_contain_text("元")
    assert page.evaluate("window.luiElder.browserSpoken.at(-1)") == page.locator("#reply").inner_text()
