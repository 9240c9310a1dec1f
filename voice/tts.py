"""Text-to-speech behind one small interface, and the pieces of a spoken reply.

``Synthesizer.synth(text, voice, speed) -> (float32 mono samples, sample rate)`` is blocking; the
server runs it in its own bounded thread pool (``assistant.api.speech``). Backends:

* ``kokoro``: Kokoro-82M v1.0 int8 (:mod:`voice.kokoro`), Mandarin and English voices, 24 kHz;
* ``espeak``: espeak-ng (a Debian package), robotic but tiny; for machines without the Kokoro files;
* any object with the same ``synth`` method (a GPU TTS service, a test double).

A reply is spoken in pieces (:func:`speakable_pieces`): sentence by sentence, and the first piece is
short (about ``first_units`` syllables: its first clause or clauses, a long first clause cut at a word
boundary), so its audio starts early while the rest is made. Synthesis time grows with the audio made
(Kokoro: about 0.3 s per second on 2 cores; the server's copy skips the silence the model puts around each
piece, :mod:`voice.kokoro_graph`), so the first piece decides when the first audio frame goes out. Each
piece ends with the same short pause (:func:`trim_trailing_silence`) before the next.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voice.errors import VoiceError
from voice.kokoro import split_sentences

_CLAUSE = re.compile(r"(?<=[，,、：:；;])")
FIRST_PIECE_UNITS = 6  # syllables (about) in the first spoken piece: ~2 s of audio at elder speed
MIN_PIECE_UNITS = 2  # a first piece is never cut shorter than this
TAIL_KEEP_S = 0.3  # silence kept after each spoken piece
_HAN = re.compile(r"[\u3400-\u9fff]")
_UNIT = re.compile(r"[\u3400-\u9fff]|[0-9]|[A-Za-z]+(?:'[A-Za-z]+)?")


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


def spoken_units(text: str) -> int:
    """About how many syllables ``text`` takes to say: Han characters, digits and Latin words."""
    return len(_UNIT.findall(text or ""))


def speakable_pieces(text: str, max_chars: int = 600, first_units: int = FIRST_PIECE_UNITS,
                     openings: Sequence[str] = ()) -> list[str]:
    """The reply cut into the pieces spoken one after another (at most ``max_chars`` in all): sentences,
    the first one cut after about ``first_units`` syllables (:func:`first_piece`; 0 = not cut) — or
    after the longest of ``openings`` (of at most ``first_units``) it starts with ("您还有" of 您还有五百元:
    a fixed phrase of the replies, whose audio may be cached), when that leaves words to say."""
    pieces = [p for p in split_sentences((text or "")[:max_chars]) if any(ch.isalnum() for ch in p)]
    if pieces and first_units > 0:
        opening = _opening(pieces[0], [o for o in openings if spoken_units(o) <= first_units])
        if opening:  # the rest of the sentence is cut too: its synthesis is the wait after the opening
            pieces[:1] = [opening[0], *(p for p in first_piece(opening[1], first_units) if p)]
        else:
            head, rest = first_piece(pieces[0], first_units)
            if rest:
                pieces[:1] = [head, rest]
    return pieces


def _opening(sentence: str, openings: Sequence[str]) -> tuple[str, str] | None:
    heads = [o for o in openings if sentence.startswith(o) and spoken_units(o) >= MIN_PIECE_UNITS
             and spoken_units(sentence[len(o):])]
    if not heads:
        return None
    head = max(heads, key=len)
    return head.strip(), sentence[len(head):].strip()


def reply_openings(templates: Iterable[str], max_units: int = 8) -> list[str]:
    """The fixed phrases replies start with: a template's first clause when it has no field in it
    ("好的，", "抱歉，"), else the words before its first field ("您还有" of "您还有{amount}。", at least
    3 syllables: not "您的"); those of up to ``max_units`` syllables, once each."""
    out: dict[str, None] = {}
    for template in templates:
        clause = re.match(r"[^{]*?[，,、：:；;。！？!?]", template)
        head = clause.group(0) if clause else template.split("{", 1)[0]
        least = MIN_PIECE_UNITS if clause else MIN_PIECE_UNITS + 1
        if head != template and least <= spoken_units(head) <= max_units:
            out[head] = None
    return list(out)


class PhraseCache:
    """Synthesised audio of short phrases (reply openings, short replies), least recently used out
    first; key (text, voice, speed). Thread-safe."""

    def __init__(self, entries: int = 64):
        self.entries = entries
        self._items: OrderedDict[tuple[str, str, float], tuple[np.ndarray, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, text: str, voice: str, speed: float) -> tuple[np.ndarray, int] | None:
        with self._lock:
            item = self._items.get((text, voice, speed))
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end((text, voice, speed))
            self.hits += 1
            return item

    def put(self, text: str, voice: str, speed: float, audio: tuple[np.ndarray, int]) -> None:
        if self.entries <= 0:
            return
        with self._lock:
            self._items[(text, voice, speed)] = audio
            self._items.move_to_end((text, voice, speed))
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def first_piece(sentence: str, units: int) -> tuple[str, str]:
    """(head, rest) of a sentence: the head is its first clauses up to ``units`` syllables (at least one
    clause); a first clause over ``units`` + 2 is cut at the last word boundary within ``units`` instead,
    and one under ``MIN_PIECE_UNITS`` ("嗯，") takes words of the next.
    A head under ``MIN_PIECE_UNITS``, or a rest without words, is not cut off: (sentence, "")."""
    if spoken_units(sentence) <= units:
        return sentence, ""
    clauses = [c for c in _CLAUSE.split(sentence) if c]
    head = clauses[0]
    for clause in clauses[1:]:
        if spoken_units(head + clause) > units:
            break
        head += clause
    if spoken_units(head) > units + 2:
        head = _words_within(head, units)
    elif spoken_units(head) < MIN_PIECE_UNITS and len(head) < len(sentence):  # "嗯，": take words of the next
        head += _words_within(sentence[len(head):], units - spoken_units(head))
    rest = sentence[len(head):]
    if spoken_units(head) < MIN_PIECE_UNITS or not spoken_units(rest):
        return sentence, ""
    return head.strip(), rest.strip()


def _words_within(clause: str, units: int) -> str:
    """The longest run of whole words from the start of ``clause`` within ``units`` syllables (jieba
    words for Mandarin, spaces for other text); the first word alone when it is longer."""
    if _HAN.search(clause):
        import jieba

        words = list(jieba.cut(clause, HMM=False))
    else:
        words = re.findall(r"\S+\s*", clause)
    head = words[0]
    for word in words[1:]:
        if spoken_units(head + word) > units:
            break
        head += word
    return head


def loud_frames(samples: np.ndarray, rate: int, frame_ms: int = 10, below_db: float = 40.0) -> tuple[int, np.ndarray]:
    """(samples per ``frame_ms`` frame, indices of the frames within ``below_db`` of the loudest one)."""
    frame = max(1, rate * frame_ms // 1000)
    n = len(samples) // frame
    if n == 0:
        return frame, np.zeros(0, dtype=np.int64)
    rms = np.sqrt(np.mean(np.square(samples[: n * frame].reshape(n, frame), dtype=np.float64), axis=1))
    return frame, np.flatnonzero(rms > rms.max() * 10 ** (-below_db / 20))


def last_sound_end(samples: np.ndarray, rate: int, frame_ms: int = 10, below_db: float = 40.0) -> int | None:
    """The sample where the last sound ends (the end of the last ``frame_ms`` frame within ``below_db`` of
    the loudest one); None when no frame is louder than silence."""
    frame, loud = loud_frames(samples, rate, frame_ms, below_db)
    return (int(loud[-1]) + 1) * frame if loud.size else None


def trim_trailing_silence(samples: np.ndarray, rate: int, keep_s: float = TAIL_KEEP_S,
                          frame_ms: int = 10, below_db: float = 40.0) -> np.ndarray:
    """``keep_s`` of silence after the last sound (:func:`last_sound_end`), the pause before the next piece:
    Kokoro's whole model leaves about a second (cut), its trimmed decoder ~0.1 s (padded with zeros)."""
    end = last_sound_end(samples, rate, frame_ms, below_db)
    if end is None:
        return samples
    keep = end + int(keep_s * rate)
    if keep <= len(samples):
        return samples[:keep]
    return np.concatenate([samples, np.zeros(keep - len(samples), dtype=samples.dtype)])


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

    kokoro = Kokoro(settings.kokoro_dir, threads=settings.tts_threads,  # tts-unavailable names what is missing
                    trim_silence=settings.tts_trim_silence)
    kokoro.load()
    return kokoro
