from __future__ import annotations

import numpy as np
import pytest

from voice.audio import TARGET_RATE, decode_audio
from voice.errors import VoiceError
from voice.stt import ZH_PROMPT, Transcript, WhisperSTT, clean_zh, normalize_lang, to_simplified

from .conftest import speak


def words(t: Transcript) -> str:
    return t.text.lower()


def test_tiny_en_transcribes_the_english_clip(tiny_stt, clips):
    audio = decode_audio(clips.wav[16000].read_bytes(), "wav")
    t = tiny_stt.transcribe(audio, lang="en")
    assert "electricity" in words(t) and "bill" in words(t), t
    assert t.lang == "en" and not t.no_speech
    assert abs(t.duration_ms - clips.seconds * 1000) < 80


@pytest.mark.parametrize("fmt", ["webm", "ogg", "pcm16-48k"])
def test_tiny_en_transcribes_browser_audio(tiny_stt, clips, fmt):
    # (8 kHz telephone-band espeak is beyond tiny.en and base: "pay my left trip, any meal")
    if fmt == "pcm16-48k":
        audio = decode_audio(clips.pcm16[48000].read_bytes(), "pcm16", 48000)
    else:
        audio = decode_audio(getattr(clips, fmt).read_bytes(), fmt)
    t = tiny_stt.transcribe(audio, lang=None)  # English-only model: detection is skipped
    assert "electricity" in words(t) and "bill" in words(t), t
    assert t.lang == "en"


def test_silence_is_no_speech_without_running_whisper(tiny_stt, clips, monkeypatch):
    audio = decode_audio(clips.silence_wav.read_bytes(), "wav")

    def never(*args, **kwargs):
        raise AssertionError("Whisper decoded silence that the VAD should have dropped")

    monkeypatch.setattr(tiny_stt, "_decode", never)
    t = tiny_stt.transcribe(audio, lang="en")
    assert t.no_speech and t.text == "" and t.duration_ms == 2000


def test_noise_is_no_speech(tiny_stt):
    noise = (np.random.default_rng(7).standard_normal(3 * TARGET_RATE) * 0.03).astype(np.float32)
    t = tiny_stt.transcribe(noise, lang="en")
    assert t.no_speech and t.text == ""


def test_empty_audio_is_no_speech(tiny_stt):
    assert tiny_stt.transcribe(np.zeros(0, dtype=np.float32)).no_speech


def test_int16_input_is_accepted(tiny_stt, clips):
    audio = np.frombuffer(clips.pcm16[16000].read_bytes(), dtype="<i2")
    assert "electricity" in words(tiny_stt.transcribe(audio, lang="en"))


def test_domain_prompt_can_be_switched_off(tiny_stt, clips):
    plain = WhisperSTT(tiny_stt.model_path, domain_prompt=False)
    plain._model = tiny_stt._model  # share the loaded weights; only the prompt differs
    assert plain.hotwords("en") is None and tiny_stt.hotwords("en")
    assert "electric" in words(plain.transcribe(decode_audio(clips.wav[16000].read_bytes(), "wav"), lang="en"))


def test_english_only_model_refuses_mandarin(tiny_stt, clips):
    with pytest.raises(VoiceError) as err:
        tiny_stt.transcribe(decode_audio(clips.wav[16000].read_bytes(), "wav"), lang="zh")
    assert err.value.code == "stt-unavailable" and "LUI_WHISPER_MODEL" in err.value.message


def test_a_folder_that_is_not_a_model_is_unavailable(tmp_path):
    stt = WhisperSTT(tmp_path)
    with pytest.raises(VoiceError) as err:
        stt.transcribe(np.zeros(16000, dtype=np.float32))
    assert err.value.code == "stt-unavailable"


def test_built_from_settings(tmp_path):
    from assistant.settings import Settings

    settings = Settings(whisper_model="tiny.en", whisper_threads=1, stt_workers=1, data_dir=tmp_path)
    stt = WhisperSTT.from_settings(settings, beam_size=2)
    assert stt.model_path.endswith("model") and stt.cpu_threads == 1 and stt.beam_size == 2
    with pytest.raises(VoiceError) as err:
        WhisperSTT.from_settings(Settings(whisper_model="medium", data_dir=tmp_path))
    assert err.value.code == "stt-unavailable"


def test_model_loads_once(tiny_stt):
    model = tiny_stt._get_model()
    tiny_stt.load()
    assert tiny_stt._get_model() is model


def test_lang_normalisation_and_simplified_output():
    assert [normalize_lang(x) for x in ("zh-CN", "cmn", "EN-us", "auto", None, "")] == ["zh", "zh", "en", None, None, None]
    assert to_simplified("幫我繳這個月的電費，查餘額") == "帮我缴这个月的电费，查余额"
    assert to_simplified("寬頻和話費、發票") == "宽频和话费、发票"
    assert to_simplified(ZH_PROMPT) == ZH_PROMPT


def test_prompt_echo_is_not_a_transcript():
    assert WhisperSTT._is_spurious("Bills: electricity bill, water bill.", ["Bills: electricity bill, water bill."])
    assert not WhisperSTT._is_spurious("electricity bill", ["Bills: electricity bill, water bill, gas bill, phone."])
    assert WhisperSTT._is_spurious("字幕由Amara.org社区提供", [None])
    assert WhisperSTT._is_spurious("以下是", [None])  # the start of ZH_PROMPT, heard for a short 谢谢
    assert not WhisperSTT._is_spurious("以下", [None]) and not WhisperSTT._is_spurious("确认", ["确认还是取消？"])


def test_the_prompt_said_back_inside_a_transcript_is_dropped():
    """Heard on slow and noisy Kokoro answers while a payment waits (evals.voice_consent): the words, then
    or after them ZH_PROMPT; kept, 确认取消？以下是… would read as the words plus a sentence of noise."""
    assert clean_zh("取消？以下是普通话的句子。") == "取消？"
    assert clean_zh("以下是普通话的句子。确认取消") == "确认取消"
    assert clean_zh("以下是普通话的句子") == "" and clean_zh("帮我交电费。") == "帮我交电费。"


@pytest.mark.slow
def test_base_detects_english_and_transcribes(base_stt, clips):
    t = base_stt.transcribe(decode_audio(clips.webm.read_bytes(), "webm"), lang=None)
    assert t.lang == "en" and "electricity" in words(t) and "bill" in words(t), t


@pytest.mark.slow
def test_base_restricts_detection_to_zh_and_en(base_stt, tmp_path):
    """German speech, auto language: the answer is still zh or en, never de."""
    audio = decode_audio(speak("Ich möchte meine Stromrechnung bezahlen", tmp_path / "de.wav", voice="de").read_bytes(), "wav")
    assert base_stt.languages == ("zh", "en")
    assert base_stt.transcribe(audio).lang in ("zh", "en")
    unrestricted = WhisperSTT(base_stt.model_path, languages=())
    unrestricted._model = base_stt._model  # same weights, no restriction
    assert unrestricted.transcribe(audio).lang == "de"


def test_extra_decoding_options_reach_whisper(tiny_stt, clips):
    """``decode_options`` go to faster-whisper as they are (here: stop after two tokens)."""
    audio = decode_audio(clips.wav[16000].read_bytes(), "wav")
    full = tiny_stt.transcribe(audio, lang="en").text
    short = WhisperSTT(tiny_stt.model_path, decode_options={"max_new_tokens": 2})
    short._model = tiny_stt._model  # same weights
    cut = short.transcribe(audio, lang="en").text
    assert cut and len(cut.split()) < len(full.split()), (cut, full)
