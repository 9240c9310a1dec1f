"""Mandarin voice set for ``python -m evals.voice --lang zh``: Kokoro speech, elder variants, CER.

Every Mandarin line of the DEV split (never train) is spoken by one of the Kokoro voices (round
robin over the voices in a stable-hash order), as Ogg/Opus the way the elder page sends it.
Elder-like variants, each on a deterministic third of the lines:

* ``slow``: Kokoro at speed 0.8;
* ``pause``: the sentence cut near its middle (at a word boundary) with 0.6-1.2 s of silence between the
  last sound of the first half and the first sound of the second (Kokoro's own edge silence, about 1.2 s
  after each half, is cut first: see :func:`join_with_pause`);
* ``noise``: the normal clip plus pink noise at 10-20 dB SNR.

Generation is deterministic (voice, pause and SNR from the line's hash; noise from a seeded
generator) and cached in ``.cache/voice-eval/zh`` (outside git) by a key of all of it.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import unicodedata
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.nlu.data import Example
from assistant.settings import REPO_ROOT

CACHE = REPO_ROOT / ".cache" / "voice-eval" / "zh"
# Clips of TRAINING lines, for tuning the recogniser's options, prompt and corrector; the dev clips
# above are only the measure (``python -m evals.voice --lang zh --source train``).
TRAIN_DATA = REPO_ROOT / "evals" / "data" / "intent_train.jsonl"
SOURCES = {"dev": CACHE, "train": CACHE.with_name("zh-train")}
VOICES = ("zf_xiaobei", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunjian", "zm_yunxi", "zm_yunxia", "zm_yunyang")
WEAK_VOICE = "zf_xiaoni"  # mispronounces (see MODELS.md): reported on its own with --voices
VARIANTS = ("normal", "slow", "pause", "noise")
GEN_VERSION = "1"  # bump when generation changes: the cache key includes it
# pause clips only (the others keep their keys): 2 = Kokoro's edge silence cut before the pause is inserted
# (version 1 held the pause + ~1.2 s after the first half, 1.8-2.4 s of silence in all)
PAUSE_VERSION = "2"


def _h(*parts: object) -> int:
    return int(hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()[:12], 16)


@dataclass(frozen=True)
class ClipSpec:
    index: int
    example: Example
    voice: str
    variant: str
    speed: float = 1.0
    pause_s: float = 0.0
    snr_db: float | None = None

    @property
    def key(self) -> str:
        raw = f"{GEN_VERSION}|{self.example.text}|{self.voice}|{self.variant}|{self.speed}|{self.pause_s}|{self.snr_db}"
        if self.variant == "pause":
            raw += f"|p{PAUSE_VERSION}"
        return hashlib.sha1(raw.encode()).hexdigest()[:16]


def plan(examples: list[Example], voices: tuple[str, ...], variants: tuple[str, ...]) -> list[ClipSpec]:
    """Mandarin lines in stable-hash order; voice round robin; each elder variant on a third of them."""
    lines = sorted((ex for ex in examples if ex.lang == "zh"), key=lambda ex: _h(ex.text, ex.intent))
    specs: list[ClipSpec] = []
    for i, ex in enumerate(lines):
        voice = voices[i % len(voices)]
        if "normal" in variants:
            specs.append(ClipSpec(len(specs), ex, voice, "normal"))
        elder = ("slow", "pause", "noise")[i % 3]
        if elder == "pause" and split_for_pause(ex.text) is None:  # one word: nowhere to pause
            elder = "slow"
        if elder not in variants:
            continue
        other = voices[(i + 3) % len(voices)]  # the variant in another voice: every voice gets every variant
        if elder == "slow":
            specs.append(ClipSpec(len(specs), ex, other, "slow", speed=0.8))
        elif elder == "pause":
            specs.append(ClipSpec(len(specs), ex, other, "pause", pause_s=round(0.6 + (_h(ex.text, "p") % 61) / 100, 2)))
        else:
            specs.append(ClipSpec(len(specs), ex, other, "noise", snr_db=float(10 + _h(ex.text, "n") % 11)))
    return specs


def split_for_pause(text: str) -> tuple[str, str] | None:
    """Two halves at the word boundary nearest the middle ("帮我交" / "电费"); None when too short."""
    import jieba

    words = [w for w in jieba.lcut(text) if w]
    if len(words) < 2:
        return None
    bounds = np.cumsum([len(w) for w in words])[:-1]
    cut = int(bounds[np.argmin(np.abs(bounds - len(text) / 2))])
    left, right = text[:cut].strip(), text[cut:].strip()
    if not re.search(r"\w", left) or not re.search(r"\w", right):
        return None
    return left, right


def sound_bounds(audio: np.ndarray, rate: int, frame_ms: int = 10, below_db: float = 40.0) -> tuple[int, int] | None:
    """(first sample of the first sound, end of the last sound): frames within ``below_db`` of the loudest
    one (as :func:`voice.tts.last_sound_end`); None when nothing is louder than silence."""
    from voice.tts import loud_frames

    frame, loud = loud_frames(audio, rate, frame_ms, below_db)
    return (int(loud[0]) * frame, (int(loud[-1]) + 1) * frame) if loud.size else None


def join_with_pause(first: np.ndarray, second: np.ndarray, rate: int, pause_s: float) -> tuple[np.ndarray, int]:
    """``first`` up to its last sound, ``pause_s`` of silence, ``second`` from its first sound on (its own
    trailing silence kept, as a microphone left open); -> (audio, sample where ``second`` starts). Kokoro
    ends every piece with about 1.2 s of silence, which would otherwise add to the pause."""
    a, b = sound_bounds(first, rate), sound_bounds(second, rate)
    head = first[: a[1]] if a else first
    tail = second[b[0]:] if b else second
    gap = np.zeros(int(round(pause_s * rate)), np.float32)
    return np.concatenate([head, gap, tail]).astype(np.float32), len(head) + len(gap)


def pink_noise(n: int, seed: int) -> np.ndarray:
    """1/f noise (Voss-McCartney-like, by filtering white noise in the frequency domain)."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(len(spectrum), dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return (noise / (np.std(noise) + 1e-12)).astype(np.float32)


def add_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    speech = audio[np.abs(audio) > 0.02]  # the power of the speech, not of its pauses
    power = float(np.mean((speech if speech.size else audio) ** 2))
    noise = pink_noise(len(audio), seed) * np.sqrt(power / 10 ** (snr_db / 10))
    mixed = audio + noise
    return (mixed / max(1.0, float(np.max(np.abs(mixed))))).astype(np.float32)


def render(tts, spec: ClipSpec) -> tuple[np.ndarray, int]:
    text = spec.example.text
    if spec.variant == "pause":
        halves = split_for_pause(text)
        if halves is not None:
            a, rate = tts.synth(halves[0], spec.voice, spec.speed)
            b, _ = tts.synth(halves[1], spec.voice, spec.speed)
            return join_with_pause(a, b, rate, spec.pause_s)[0], rate
    audio, rate = tts.synth(text, spec.voice, spec.speed)
    if spec.variant == "noise" and spec.snr_db is not None:
        audio = add_noise(audio, spec.snr_db, _h(text, spec.voice))
    return audio, rate


def write_ogg(audio: np.ndarray, rate: int, out: Path, pad_s: float = 0.3) -> Path:
    """float32 -> Ogg/Opus 48 kHz mono 32 kb/s (as MediaRecorder), with ``pad_s`` of silence around."""
    from voice.synth import need

    pad = np.zeros(int(pad_s * rate), np.float32)
    pcm = (np.clip(np.concatenate([pad, audio, pad]), -1, 1) * 32767).astype("<i2").tobytes()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_wav = out.with_suffix(".tmp.wav")
    with wave.open(str(tmp_wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    tmp = out.with_suffix(".tmp.ogg")
    subprocess.run([need("ffmpeg"), "-hide_banner", "-loglevel", "error", "-y", "-i", str(tmp_wav), "-ar", "48000",
                    "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-f", "ogg", str(tmp)], check=True)
    tmp_wav.unlink()
    tmp.replace(out)
    return out


def clip_path(spec: ClipSpec, cache: Path = CACHE) -> Path:
    return cache / f"{spec.key}.ogg"


def generate(specs: list[ClipSpec], tts, cache: Path = CACHE,
             unsayable: list[ClipSpec] | None = None) -> list[tuple[ClipSpec, Path, float]]:
    """(spec, Ogg path, seconds) for every spec, synthesising only what the cache lacks. A line Kokoro's
    Mandarin voice has nothing to say for (a Mandarin-labelled line in kana, say) is left out and, given
    ``unsayable``, listed there, so the eval reports how many lines it could not speak."""
    from voice.errors import VoiceError

    out = []
    for spec in specs:
        path = clip_path(spec, cache)
        meta = path.with_suffix(".s")
        if not (path.is_file() and meta.is_file()):
            try:
                audio, rate = render(tts, spec)
            except VoiceError as exc:
                if exc.code != "tts-failed":
                    raise
                if unsayable is not None:
                    unsayable.append(spec)
                continue
            write_ogg(audio, rate, path)
            meta.write_text(f"{len(audio) / rate + 0.6:.3f}")
        out.append((spec, path, float(meta.read_text())))
    return out


# --- character error rate ---------------------------------------------------------------------------
_NUMERAL_RUN = re.compile(r"[0-9零〇一二两三四五六七八九十百千万亿点]+")
_DIGITS_UNIT = re.compile(r"\d{1,3}[十百千万亿]")
_DECIMAL_POINT = re.compile(r"(?<=\d)[.．](?=\d)")
_PERCENT = re.compile(r"(\d+(?:[.．]\d+)?)[%％]")
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


def _numerals(text: str) -> str:
    """Every numeral run as digits, the same way whether it was written in characters or digits:
    一百二十 and 120, 三点 and 3点 (o'clock), 零点五 and 0.5 (-> 0点5), 一万 and 1万, 第一 and 第1,
    百分之十 and 10%. A lone 一 is a digit too (一下 -> 1下 on both sides: only agreement matters)."""
    from assistant.nlu.numerals import chinese_to_number

    def number(s: str) -> str | None:
        value = chinese_to_number(s)
        if value is None:
            return None
        return str(int(value)) if float(value).is_integer() else f"{value:g}".replace(".", "点")

    def sub(m: re.Match) -> str:
        s = m.group(0)
        if s.isascii():  # digits as written stay as they are (0571 keeps its 0)
            return s
        if re.search(r"\d", s) and not _DIGITS_UNIT.fullmatch(s):
            return s  # 1万 is 10000, but 4520亿 is a digit string with 一 heard as 亿: left as written
        if s in ("点", "百", "千", "万", "亿"):  # alone they are words (一点 is a run; 点 alone is 点菜 ...)
            return s
        whole = number(s)
        if whole is not None:
            return whole
        head = s.rstrip("点")  # 三点 / 3点: a time, not a decimal
        if head != s and head:
            digits = number(head)
            if digits is not None:
                return digits + s[len(head):]
        return s

    text = _PERCENT.sub(r"百分之\1", text)
    text = _DECIMAL_POINT.sub("点", text)
    return _NUMERAL_RUN.sub(sub, text)


def normalise_zh(text: str) -> str:
    """Simplified characters, numerals unified to digits, punctuation and spaces removed, lowercase."""
    from assistant.nlu.hanzi import to_simplified as nlu_simplified
    from voice.stt import to_simplified

    text = unicodedata.normalize("NFKC", text).lower()
    text = nlu_simplified(to_simplified(text))
    return _PUNCT.sub("", _numerals(text))


def raw_chars(text: str) -> list[str]:
    return [c for c in text if not c.isspace()]


def norm_chars(text: str) -> list[str]:
    return list(normalise_zh(text))


# terms whose recognition the issue tracked, by error class: (said, how it went wrong)
TRACKED_TERMS = ("取消", "确认", "话费", "水费", "电费", "燃气费", "公积金", "医院", "转人工", "社保", "医保",
                 "宽带", "物业费", "激活", "浦东", "静安", "怎么交")
