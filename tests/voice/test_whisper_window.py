"""Whisper's encoder on a shorter window (voice/whisper_window.py), on the packaged models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from faster_whisper.audio import pad_or_trim

from voice.audio import TARGET_RATE, decode_audio
from voice.stt import WhisperSTT, repeats_itself
from voice.whisper_window import FULL_FRAMES, content_frames, encoder_frames

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_the_window_is_the_setting_or_the_content_plus_a_margin_never_over_30_s():
    assert encoder_frames(250, 10.0) == 1000  # 2.5 s of speech: the 10 s window
    assert encoder_frames(950, 10.0) == 1050  # 9.5 s: the speech + 1 s
    assert encoder_frames(1201, 10.0) == 1302  # even: the encoder's first convolution has stride 2
    assert encoder_frames(2950, 10.0) == FULL_FRAMES  # never over 30 s
    assert encoder_frames(3000, 6.0) == FULL_FRAMES  # a full segment of long audio is encoded whole
    assert encoder_frames(250, 30.0) == FULL_FRAMES  # 30 = faster-whisper's own window
    assert encoder_frames(0, 0.0) == 100


def test_content_ends_at_the_last_column_that_is_not_padding():
    features = np.full((80, 420), -0.7, dtype=np.float32)
    features[:, 400:] = 0.0
    features[3, 410] = 0.2  # one non-zero bin keeps a column
    assert content_frames(pad_or_trim(features)) == 411
    assert content_frames(pad_or_trim(features)[None]) == 411  # batched (1, mels, frames)
    assert content_frames(np.zeros((80, 3000), dtype=np.float32)) == 0


def _encoded_frames(model, audio: np.ndarray) -> int:
    features = pad_or_trim(model.feature_extractor(audio)[..., :-1])
    return model.encode(features).shape[1]  # (batch, frames / 2, width)


def test_the_encoder_sees_the_window_only_inside_the_block(tiny_stt, clips):
    model = tiny_stt._get_model()
    audio = decode_audio(clips.wav[16000].read_bytes(), "wav")  # ~2 s
    assert _encoded_frames(model, audio) == FULL_FRAMES // 2  # outside a block: faster-whisper's 30 s
    with model.encoder_window(10.0):
        assert _encoded_frames(model, audio) == 500
        with model.encoder_window(30.0):
            assert _encoded_frames(model, audio) == FULL_FRAMES // 2
        assert _encoded_frames(model, audio) == 500
    assert _encoded_frames(model, audio) == FULL_FRAMES // 2


def test_a_short_window_transcribes_the_same_words(tiny_stt, clips):
    audio = decode_audio(clips.wav[16000].read_bytes(), "wav")
    short = WhisperSTT(tiny_stt.model_path, window_s=8.0)
    short._model = tiny_stt._model  # same weights
    text = short.transcribe(audio, lang="en").text.lower()
    assert "electricity" in text and "bill" in text, text


def test_audio_over_30_s_is_transcribed_whole(tiny_stt, clips, monkeypatch):
    """Speech at 0 s and at 31 s (no VAD): the first 30 s segment is encoded whole, the 2-3 s rest
    on the short window, and both sentences come out."""
    speech = decode_audio(clips.wav[16000].read_bytes(), "wav")
    gap = np.zeros(29 * TARGET_RATE, dtype=np.float32)
    audio = np.concatenate([speech, gap, speech])
    model = tiny_stt._get_model()
    frames: list[int] = []
    encode = model.encode
    monkeypatch.setattr(model, "encode", lambda features: frames.append(model.window_frames(features)) or encode(features))
    stt = WhisperSTT(tiny_stt.model_path, window_s=6.0, vad=False, domain_prompt=False)
    stt._model = model
    text = stt.transcribe(audio, lang="en").text.lower()
    assert text.count("electric") == 2, text
    assert frames[0] == FULL_FRAMES and 600 <= frames[-1] < FULL_FRAMES, frames


def test_the_setting_reaches_whisper(tmp_path, monkeypatch):
    from assistant.settings import Settings

    assert WhisperSTT.from_settings(Settings(whisper_model="tiny.en", stt_window_s=12.5)).window_s == 12.5
    monkeypatch.setenv("LUI_STT_WINDOW_S", "8")
    stt = WhisperSTT.from_settings(Settings(whisper_model="tiny.en", data_dir=tmp_path))
    assert stt.window_s == 8.0


@pytest.mark.slow
def test_mandarin_on_a_short_window(base_stt):
    audio = decode_audio((FIXTURES / "zh_pay_electricity.ogg").read_bytes(), "ogg")
    short = WhisperSTT(base_stt.model_path, window_s=8.0)
    short._model = base_stt._model
    assert short.transcribe(audio, lang="zh").text.rstrip("。") == "帮我交电费"
    detected = short.transcribe(audio)  # language detection on the short window too
    assert detected.lang == "zh" and "电费" in detected.text, detected


def test_a_phrase_said_twice_in_a_row_is_a_repetition():
    assert repeats_itself("普通那个普通那个", "zh") and repeats_itself("电子驾照在哪?电子驾照在哪?", "zh")
    assert not repeats_itself("好的好的", "zh") and not repeats_itself("不不不", "zh")  # doubled short words are speech
    assert not repeats_itself("帮我交电费", "zh") and not repeats_itself("", "zh")
    assert repeats_itself("Pay my bill. Pay my bill.", "en") and not repeats_itself("no no, pay it", "en")
    assert not repeats_itself("Mississippi", "en")


class _Looping(WhisperSTT):
    """Whisper as it sometimes answers on a short window (the request twice); right on 30 s."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.windows: list[float] = []

    def _decode(self, model, speech, options, window_s, lm, keep=False):
        self.windows.append(window_s)
        return ("pay my bill" if window_s >= 30 else "pay my bill pay my bill"), []


def test_a_repetition_on_the_short_window_is_decoded_again_on_the_full_one(tiny_stt, clips):
    audio = decode_audio(clips.wav[16000].read_bytes(), "wav")
    stt = _Looping(tiny_stt.model_path, window_s=8.0)
    stt._model = tiny_stt._model
    assert stt.transcribe(audio, lang="en").text == "pay my bill"
    assert stt.windows == [8.0, 30.0] and stt.window_fallbacks == 1
    off = _Looping(tiny_stt.model_path, window_s=8.0, window_fallback=False)
    off._model = tiny_stt._model
    assert off.transcribe(audio, lang="en").text == "pay my bill pay my bill" and off.windows == [8.0]
