"""make_stt: the backend named by LUI_STT."""

from __future__ import annotations

import pytest

from voice.errors import VoiceError
from voice.factory import make_stt
from voice.stt import WhisperSTT


def test_whisper_backends(settings):
    stt = make_stt(settings.model_copy(update={"stt": "whisper:tiny.en", "stt_beam_size": 3}))
    assert isinstance(stt, WhisperSTT) and stt.model_path.endswith("model") and stt.beam_size == 3
    default = make_stt(settings.model_copy(update={"whisper_model": "tiny.en"}))
    assert default.beam_size == 5 and default.device == "cpu"


def test_unknown_backend_names_the_setting(settings):
    with pytest.raises(VoiceError) as err:
        make_stt(settings.model_copy(update={"stt": "sensevoice"}))
    assert err.value.code == "stt-unavailable" and "LUI_STT" in err.value.message
