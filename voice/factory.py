"""``make_stt``: the speech-to-text backend named by ``LUI_STT``, like ``make_embedder`` for embeddings.

* ``whisper`` — faster-whisper on ``LUI_WHISPER_MODEL`` (the packaged ``base`` by default);
* ``whisper:<name or folder>`` — faster-whisper on that model (``base``, ``tiny.en`` or a local
  CTranslate2 folder, e.g. a converted large-v3 on a GPU worker with ``LUI_STT_DEVICE=cuda``).

Another backend implements :class:`voice.stt.SpeechToText` in its own module and gets a prefix here.
"""

from __future__ import annotations

from typing import Any

from voice.errors import VoiceError
from voice.stt import SpeechToText

SETTING = "LUI_STT"


def make_stt(settings: Any) -> SpeechToText:
    spec = (settings.stt or "whisper").strip()
    kind, _, arg = spec.partition(":")
    if kind == "whisper":
        from voice.stt import WhisperSTT

        return WhisperSTT.from_settings(settings, model=arg.strip() or None)
    raise VoiceError("stt-unavailable", f"Unknown speech-to-text backend {spec!r}: set {SETTING} to 'whisper' or "
                     "'whisper:<model name or folder>'.")
