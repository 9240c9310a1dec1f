from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from voice.audio import TARGET_RATE, Resampler, decode_audio
from voice.errors import VoiceError


def envelope(audio: np.ndarray, frame: int = 320) -> np.ndarray:
    n = len(audio) // frame
    return np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))


def similar(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two loudness envelopes (robust to codec and resampler differences)."""
    ea, eb = envelope(a), envelope(b)
    n = min(len(ea), len(eb))
    return float(np.corrcoef(ea[:n], eb[:n])[0, 1])


@pytest.fixture(scope="module")
def reference(clips) -> np.ndarray:
    return decode_audio(clips.wav[16000].read_bytes(), "wav")


def check_clip(audio: np.ndarray, clips, reference: np.ndarray) -> None:
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / TARGET_RATE - clips.seconds) < 0.08  # Opus adds a few ms of pre-skip at most
    assert 0.1 < np.abs(audio).max() <= 1.0
    assert similar(audio, reference) > 0.9


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_wav_any_rate(clips, reference, rate):
    check_clip(decode_audio(clips.wav[rate].read_bytes(), "wav"), clips, reference)


def test_wav_stereo(clips, reference):
    check_clip(decode_audio(clips.wav_stereo_48k.read_bytes(), "wav"), clips, reference)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_pcm16_any_rate(clips, reference, rate):
    check_clip(decode_audio(clips.pcm16[rate].read_bytes(), "pcm16", rate), clips, reference)


def test_pcm16_defaults_to_16k(clips, reference):
    check_clip(decode_audio(clips.pcm16[16000].read_bytes(), "pcm16"), clips, reference)


@pytest.mark.parametrize("fmt", ["webm", "ogg"])
def test_opus_containers(clips, reference, fmt):
    data = getattr(clips, fmt).read_bytes()
    check_clip(decode_audio(data, fmt), clips, reference)


def test_mislabelled_container_is_probed(clips, reference):
    check_clip(decode_audio(clips.ogg.read_bytes(), "webm"), clips, reference)


@pytest.mark.parametrize("fmt", ["webm", "ogg", "wav"])
def test_truncated_container_keeps_what_decodes(clips, fmt):
    path = clips.wav[48000] if fmt == "wav" else getattr(clips, fmt)
    data = path.read_bytes()
    audio = decode_audio(data[: int(len(data) * 0.6)], fmt)
    assert 0.3 * clips.seconds < len(audio) / TARGET_RATE < 0.8 * clips.seconds


@pytest.mark.parametrize("fmt", ["wav", "webm", "ogg"])
@pytest.mark.parametrize("data", [b"definitely not audio" * 50, os.urandom(4096), b"RIFF\x00\x00\x00\x00WAVEjunk"])
def test_broken_bytes_are_undecodable(fmt, data):
    with pytest.raises(VoiceError) as err:
        decode_audio(data, fmt)
    assert err.value.code == "audio-undecodable" and not err.value.retryable


def test_header_only_container_is_undecodable(clips):
    with pytest.raises(VoiceError) as err:
        decode_audio(clips.webm.read_bytes()[:60], "webm")
    assert err.value.code == "audio-undecodable"


@pytest.mark.parametrize("fmt", ["pcm16", "wav", "webm", "ogg"])
def test_empty_is_undecodable(fmt):
    with pytest.raises(VoiceError) as err:
        decode_audio(b"", fmt)
    assert err.value.code == "audio-undecodable"


def test_odd_pcm16_and_bad_format_and_bad_rate():
    for args in [(b"\x00\x01\x02", "pcm16", 16000), (b"\x00\x00", "mp3", None), (b"\x00\x00", "pcm16", 100)]:
        with pytest.raises(VoiceError) as err:
            decode_audio(*args)
        assert err.value.code == "audio-undecodable"


@pytest.mark.parametrize("rate", [8000, 22050, 24000, 44100, 48000])
def test_resampler_keeps_pitch_and_length(rate):
    """A 440 Hz tone pushed in odd-sized pieces comes out at 16 kHz, same pitch, same length."""
    t = np.arange(rate * 2) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    resampler = Resampler(rate)
    parts = [resampler.push(tone[i : i + 1234]) for i in range(0, len(tone), 1234)]
    out = np.concatenate([*parts, resampler.flush()])
    assert abs(len(out) - 2 * TARGET_RATE) <= 2
    spectrum = np.abs(np.fft.rfft(out[1000:-1000]))
    peak_hz = np.argmax(spectrum) * TARGET_RATE / len(out[1000:-1000])
    assert abs(peak_hz - 440) < 2
    assert abs(np.sqrt(np.mean(out[1000:-1000] ** 2)) - 0.5 / np.sqrt(2)) < 0.01


def test_resampler_removes_what_16k_cannot_hold():
    """A 12 kHz tone at 48 kHz would alias to 4 kHz without a low-pass filter."""
    t = np.arange(48000) / 48000
    tone = (0.5 * np.sin(2 * np.pi * 12000 * t) * 32767).astype(np.int16)
    resampler = Resampler(48000)
    out = np.concatenate([resampler.push(tone), resampler.flush()])
    assert np.sqrt(np.mean(out[500:-500] ** 2)) < 0.01


def test_long_opus_silence_stops_at_the_duration_limit(tmp_path):
    """Two minutes of Opus silence fit in a few kilobytes; decoding must stop at the limit."""
    from .conftest import need

    cmd = [need("ffmpeg"), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono",
           "-t", "120", "-c:a", "libopus", "-b:a", "6k", "-f", "webm", "pipe:1"]
    data = subprocess.run(cmd, check=True, capture_output=True).stdout
    assert len(data) < 200_000
    with pytest.raises(VoiceError) as err:
        decode_audio(data, "webm", max_seconds=30)
    assert err.value.code == "audio-too-long"
    assert len(decode_audio(data, "webm")) == 120 * TARGET_RATE  # no limit: all of it
