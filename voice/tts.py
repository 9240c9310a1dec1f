"""Text-to-speech behind one small interface, and the pieces of a spoken reply.

``Synthesizer.synth(text, voice, speed) -> (float32 mono samples, sample rate)`` is blocking; the
server runs it in its own bounded thread pool (``assistant.api.speech``). Backends:

* ``kokoro``: Kokoro-82M v1.0 int8 (:mod:`voice.kokoro`), Mandarin and English voices, 24 kHz;
* ``espeak``: espeak-ng (a Debian package), robotic but tiny; for machines without the Kokoro files;
* any object with the same ``synth`` method (a GPU TTS service, a test double).

A reply is spoken in pieces (:func:`speakable_pieces`): sentence by sentence, and a long first
sentence is cut at its first comma, so the first piece is short and its audio starts early while
the rest is made.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voice.errors import VoiceError
from voice.kokoro import split_sentences

_CLAUSE = re.compile(r"(?<=[，,、：:])")
FIRST_PIECE_CHARS = 16  # a first sentence longer than this is cut at a comma
_HAN = re.compile(r"[\u3400-\u9fff]")


class Synthesizer(Protocol):
    def synth(self, text: str, voice: str, speed: float = 1.0) -> tuple[np.ndarray, int]:
        """``text`` spoken by ``voice`` at ``speed`` (1.0 = normal) -> (float32 mono samples, rate)."""
        ...


@dataclass(frozen=True)
class Voices:
    """Which voice speaks which language, and how fast (elder mode speaks slower)."""

    zh: str = "zf_xiaobei"
    en: str = "af_heart"
    speed: float = 1.0
    elder_speed: float = 0.85

    def pick(self, text: str, elder: bool) -> tuple[str, float]:
        return (self.zh if text_lang(text) == "zh" else self.en), (self.elder_speed if elder else self.speed)


def text_lang(text: str) -> str:
    """"zh" when the text has Han characters, else "en"."""
    return "zh" if _HAN.search(text or "") else "en"


def speakable_pieces(text: str, max_chars: int = 600) -> list[str]:
    """The reply cut into the pieces spoken one after another (at most ``max_chars`` in all)."""
    pieces = split_sentences((text or "")[:max_chars])
    if pieces and len(pieces[0]) > FIRST_PIECE_CHARS:
        head = [c for c in _CLAUSE.split(pieces[0]) if c.strip()]
        if len(head) > 1:
            pieces[:1] = [head[0], "".join(head[1:])]
    return [p for p in pieces if any(ch.isalnum() for ch in p)]


def to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class EspeakSynth:
    """espeak-ng through a pipe: Mandarin for ``z*`` voices (and Han text), English otherwise."""

    def synth(self, text: str, voice: str, speed: float = 1.0) -> tuple[np.ndarray, int]:
        from voice.synth import MissingTool, need

        try:
            espeak = need("espeak-ng")
        except MissingTool as exc:
            raise VoiceError("tts-unavailable", str(exc)) from exc
        lang = "cmn" if voice[:1] == "z" or text_lang(text) == "zh" else "en-us"
        wav = subprocess.run([espeak, "-v", lang, "-s", str(int(160 * speed)), "--stdout", text],
                             capture_output=True, check=False).stdout
        if len(wav) <= 44:
            raise VoiceError("tts-failed", f"espeak-ng said nothing for {text[:40]!r}.")
        rate = int.from_bytes(wav[24:28], "little")
        return np.frombuffer(wav[44 : 44 + (len(wav) - 44) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0, rate


def make_synthesizer(settings) -> Synthesizer | None:
    """The synthesizer Settings ask for (``LUI_TTS``): kokoro, espeak, or off (None)."""
    if settings.tts == "off":
        return None
    if settings.tts == "espeak":
        return EspeakSynth()
    from voice.kokoro import Kokoro

    kokoro = Kokoro(settings.kokoro_dir, threads=settings.tts_threads)  # tts-unavailable names what is missing
    kokoro.load()
    return kokoro
