"""Kokoro in two parts (voice/kokoro_graph.py): the same samples whole, the silence around a piece skipped."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from voice import kokoro_graph
from voice.kokoro import SAMPLE_RATE, Kokoro
from voice.tts import loud_frames


def _sound_span_s(audio: np.ndarray) -> float:
    frame, loud = loud_frames(audio, SAMPLE_RATE, frame_ms=20)
    return (loud[-1] + 1 - loud[0]) * frame / SAMPLE_RATE


def test_speech_frames_keep_the_sound_and_a_margin():
    energy = np.full(2 * 60, -9.4, np.float32)
    energy[2 * 20: 2 * 41] = 3.0  # frames 20..40 have sound
    assert kokoro_graph.speech_frames(energy.reshape(1, -1), margin=4) == slice(16, 45)
    energy[:4] = 0.0  # sound from the very start: nothing before frame 0
    assert kokoro_graph.speech_frames(energy, margin=4).start == 0
    assert kokoro_graph.speech_frames(np.full(40, -9.4)) == slice(0, 20)  # no sound at all: every frame


def test_a_graph_without_the_decoder_inputs_is_not_split(tmp_path, kokoro_replies):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["tokens"], ["audio"])], "other",
                              [helper.make_tensor_value_info("tokens", TensorProto.FLOAT, [None])],
                              [helper.make_tensor_value_info("audio", TensorProto.FLOAT, [None])])
    onnx.save(helper.make_model(graph), tmp_path / "other.onnx")
    assert kokoro_graph.split(tmp_path / "other.onnx") is None
    assert kokoro_graph.split(kokoro_replies.files.model) is not None  # the packaged model is
    assert kokoro_replies.background().trim_silence  # the warm-up caches openings as replies say them


def test_the_two_parts_on_every_frame_are_the_whole_model(kokoro_tts, kokoro_replies):
    ids = [kokoro_tts._vocab[c] for c in kokoro_tts.phonemes("好的，已经为您交了。", "zh") if c in kokoro_tts._vocab]
    style = np.asarray(kokoro_tts._style("zf_xiaobei")[len(ids) - 1].reshape(1, 256), np.float32)
    feed = {"tokens": np.array([[0, *ids, 0]], np.int64), "style": style, "speed": np.array([0.85], np.float32)}
    whole = kokoro_tts._session.run(None, feed)[0].reshape(-1)
    asr, f0, energy = kokoro_replies._session.run(None, feed)
    every = slice(0, asr.shape[-1])
    parts = kokoro_replies._decoder.run(None, kokoro_graph.decoder_inputs(asr, f0, energy, style, every))[0]
    assert np.array_equal(parts.reshape(-1), whole)
    trimmed = kokoro_graph.speech_frames(energy)
    assert trimmed.stop - trimmed.start < 0.8 * asr.shape[-1]  # a third or so is silence


@pytest.mark.parametrize("voice, text", [("zf_xiaobei", "您这个月的电费是八十六元。"), ("zm_yunxi", "好的，"),
                                         ("af_heart", "Your water bill is paid.")])
def test_trimmed_speech_keeps_all_the_sound_without_the_silence(kokoro_tts, kokoro_replies, voice, text):
    whole, _ = kokoro_tts.synth(text, voice, 0.85)
    trimmed, rate = kokoro_replies.synth(text, voice, 0.85)
    assert rate == SAMPLE_RATE
    assert len(whole) - len(trimmed) > 0.1 * SAMPLE_RATE  # the trailing silence (up to ~1 s) not made
    assert abs(_sound_span_s(whole) - _sound_span_s(trimmed)) < 0.1  # every syllable still there
    assert len(trimmed) / SAMPLE_RATE - _sound_span_s(trimmed) < 0.45  # little silence left (whole: ~1.5 s)


@pytest.mark.slow
def test_whisper_hears_the_trimmed_mandarin(kokoro_replies, base_stt):
    from voice.audio import Resampler

    audio, rate = kokoro_replies.synth("帮我交一下电费。", "zf_xiaoxiao", 0.85)
    resampler = Resampler(rate)
    pcm = np.concatenate([np.zeros(8000, np.float32), resampler.push(audio), resampler.flush()])
    assert "电费" in base_stt.transcribe(pcm, lang="zh").text


def test_another_export_is_synthesised_whole_with_a_warning(tmp_path, kokoro_replies, caplog, monkeypatch):
    monkeypatch.setattr(kokoro_graph, "split", lambda model: None)
    tts = Kokoro(kokoro_replies.files, trim_silence=True)
    with caplog.at_level(logging.WARNING, logger="voice.kokoro"):
        audio, _ = tts.synth("好的。", "zf_xiaobei")
    assert tts._decoder is None and "synthesising silence too" in caplog.text and len(audio) > SAMPLE_RATE // 2
