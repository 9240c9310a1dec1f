"""Speech-to-text: one small interface and the faster-whisper backend.

``SpeechToText.transcribe`` is blocking (CPU-bound); async callers go through
:class:`voice.pool.TranscriptionPool`, which runs it in a bounded thread pool.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.hanzi import to_simplified as nlu_simplified
from voice.audio import TARGET_RATE, duration_ms
from voice.errors import VoiceError
from voice.models import SETTING, resolve_whisper_model

FULL_WINDOW_S = 30.0  # faster-whisper's own encoder window (voice/whisper_window.py)


@dataclass(frozen=True)
class Transcript:
    text: str
    lang: str | None  # ISO 639-1 ("zh", "en"); None when nothing was heard and no language was given
    duration_ms: int  # length of the audio given, not of the speech in it
    no_speech: bool
    # other readings of the same audio the backend scored nearly as well (its beam), best first; only when
    # asked for (``transcribe(..., alternatives_within=...)``) and given
    alternatives: tuple[str, ...] = ()


class SpeechToText(ABC):
    """Blocking speech-to-text on 16 kHz mono float32 samples."""

    sample_rate: int = TARGET_RATE
    # a model of the domain's Mandarin text (voice.domain_lm.CharLM) a backend may choose among its
    # hypotheses with (``transcribe(..., domain_lm=True)``), and its weight; None or 0: not used
    lm: Any = None
    lm_weight: float = 0.0
    # whether ``transcribe`` takes ``alternatives_within`` (a backend with a beam of hypotheses)
    gives_alternatives: bool = False

    @abstractmethod
    def transcribe(self, audio: np.ndarray, *, lang: str | None = None, prompt: str | None = None,
                   hotwords: str | None = None, domain_lm: bool = False) -> Transcript:
        """Transcribe one utterance. ``lang`` "zh"/"en" or None (detect); ``prompt`` is context text;
        ``hotwords`` words to expect (space-separated; the backend's own domain list when None);
        ``domain_lm``: a request to lui, so ``lm`` may choose the transcript (Mandarin). A backend that
        ``gives_alternatives`` also takes ``alternatives_within``: fill ``Transcript.alternatives`` with the
        hypotheses whose score is within that of the best (log probability per token)."""

    def load(self) -> None:  # noqa: B027 - optional hook: load weights ahead of the first request
        """Load whatever the backend needs (optional; ``transcribe`` loads lazily)."""


# Bill and service vocabulary fed to Whisper as hotwords (``domain_prompt=True``). Whisper reads them
# as text said just before the audio, so the English list ends with a full sentence and no verbs:
# a list ending in "top up, pay" made it drop a leading "top up"/"pay" and even a lone "yes".
DOMAIN_HOTWORDS: dict[str, str] = {
    "zh": "电费 水费 燃气费 话费 宽带 物业费 有线电视 医保 社保 发票 余额 缴费 账单 户号 充值 转账",
    "en": "Bills: electricity bill, water bill, gas bill, phone bill, broadband, property fee, TV bill. "
    "Balance, invoice, account number.",
}
# Steers Whisper's Mandarin to simplified characters and full-width punctuation.
ZH_PROMPT = "以下是普通话的句子。"

# Traditional -> simplified for characters Whisper commonly emits (a safety net after ZH_PROMPT);
# characters that are also valid simplified (著, 乾, 瞭 ...) are left out on purpose.
_T2S_PAIRS = (
    "電电費费氣气話话寬宽頻频帶带業业醫医險险發发餘余額额繳缴幫帮這这個个們们來来說说時时會会為为對对"
    "問问題题請请謝谢嗎吗麼么還还錢钱賬账帳账號号開开關关戶户單单裡里裏里塊块萬万億亿語语華华國国實实現现"
    "處处網网絡络線线務务車车機机當当從从點点鐘钟幾几歲岁轉转換换譯译應应該该訂订購购買买賣卖價价錯错"
    "難难聽听見见讓让給给認认確确東东廣广場场區区縣县鄉乡辦办證证銀银納纳稅税貸贷資资產产歷历記记錄录"
    "據据碼码館馆書书圖图學学習习識识門门間间陽阳陰阴雲云愛爱節节體体溫温熱热燈灯壞坏舊旧紙纸藥药員员"
    "專专經经濟济歡欢聯联係系視视訊讯簡简擔担憂忧寫写讀读邊边種种樣样後后臺台灣湾協协議议週周盡尽過过"
    "頭头動动長长張张條条筆笔總总計计結结紀纪無无與与歸归屬属際际連连設设備备標标準准嚴严緊紧報报護护"
    "療疗診诊掛挂預预約约達达聲声響响態态漢汉義义驗验測测試试壓压顯显親亲媽妈爺爷孫孙兒儿麵面於于"
    "纜缆廳厅鐵铁雙双劃划"
)
T2S = str.maketrans(dict(zip(_T2S_PAIRS[0::2], _T2S_PAIRS[1::2], strict=True)))
_LANG_ALIASES = {"zh": "zh", "cmn": "zh", "zh-cn": "zh", "zh-hans": "zh", "zh-sg": "zh", "en": "en",
                 "en-us": "en", "en-gb": "en"}
# ZH_PROMPT said back inside a transcript, before or after the words (取消？以下是普通话的句子。 for a slow 取消吧)
_PROMPT_ECHO = re.compile(re.escape(ZH_PROMPT.rstrip("。")) + r"[。.，,!！]?")
# whole-output hallucinations Whisper produces on noise (subtitle credits), never real requests
_HALLUCINATION = re.compile(r"(字幕|amara\.org|明镜|点点栏目|thanks for watching|subtitles by)", re.I)
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


_ZH_QUOTES = re.compile(r"[《》〈〉「」『』【】“”\"‘’'\[\]()（）<>]")
_ZH_SPACES = re.compile(r"(?<=[\u3400-\u9fff，。！？、])\s+|\s+(?=[\u3400-\u9fff，。！？、])")
_ZH_LEADING = re.compile(r"^[\s，。、,.!！;；:：-]+")
_ZH_REPEATS = re.compile(r"([，。！？、,.!?])\1+")
_LOOP_CHAR = re.compile(r"(.)\1{4,}")  # greedy decoding can loop: 不不不 heard as 不 x220
_LOOP_PHRASE = re.compile(r"(.{2,8}?)\1{2,}")


def repeats_itself(text: str, lang: str | None) -> bool:
    """Whether a phrase comes twice in a row: 3+ characters in Mandarin (普通那个普通那个), 2+ words
    otherwise (pay my bill pay my bill). Doubled short words (好的好的, no no) are ordinary speech."""
    if lang == "zh":
        units: list[str] = list(_NON_WORD.sub("", text))
        shortest = 3
    else:
        units = _NON_WORD.sub(" ", text.lower()).split()
        shortest = 2
    n = len(units)
    return any(units[i:i + size] == units[i + size:i + 2 * size]
               for size in range(shortest, n // 2 + 1) for i in range(n - 2 * size + 1))


def to_simplified(text: str) -> str:
    return text.translate(T2S)


def clean_zh(text: str) -> str:
    """Whisper's Mandarin as the rest of lui reads it: simplified characters, no 《》/quotes/brackets, no
    echo of its prompt, no spaces between Chinese characters, no leading or doubled punctuation. Question marks and
    ellipses stay: they tell a question or a hesitation from an answer (assistant/nlu/consent.py)."""
    text = nlu_simplified(to_simplified(text))
    text = _PROMPT_ECHO.sub("", _ZH_QUOTES.sub("", text))
    text = _ZH_SPACES.sub("", text)
    text = _ZH_REPEATS.sub(r"\1", text)
    text = _LOOP_PHRASE.sub(r"\1\1", _LOOP_CHAR.sub(r"\1\1\1", text))
    return _ZH_LEADING.sub("", text).strip()


def _alternatives(beams: list, text: str, lang: str | None, within: float) -> tuple[str, ...]:
    """The other hypotheses of a transcript decoded by one beam search (one segment, no fallback to
    sampling: otherwise none), scored within ``within`` of the beam's best, cleaned like the transcript."""
    if len(beams) != 1 or beams[0] is None:
        return ()
    best = max(score for _text, score in beams[0])
    heard = [hyp.strip() for hyp, score in beams[0] if score >= best - within]
    cleaned = [clean_zh(hyp) if lang == "zh" else hyp for hyp in heard]
    return tuple(dict.fromkeys(hyp for hyp in cleaned if hyp and hyp != text))


def normalize_lang(lang: str | None) -> str | None:
    """"zh-CN" -> "zh", "auto"/None -> None; other languages pass through lower-cased."""
    if lang is None or lang.strip().lower() in ("", "auto"):
        return None
    key = lang.strip().lower().replace("_", "-")
    return _LANG_ALIASES.get(key, key.split("-")[0])


class WhisperSTT(SpeechToText):
    """faster-whisper (CTranslate2) on CPU, loaded lazily and once.

    Silence is cut with faster-whisper's bundled Silero VAD before Whisper sees the audio (no speech
    at all -> ``no_speech`` without running Whisper). With ``lang=None`` the language is detected
    and restricted to ``languages``. ``domain_prompt`` feeds :data:`DOMAIN_HOTWORDS` as hotwords.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        compute_type: str = "int8",
        cpu_threads: int = 2,
        num_workers: int = 1,
        beam_size: int = 5,
        device: str = "cpu",
        domain_prompt: bool = True,
        languages: Sequence[str] = ("zh", "en"),
        vad: bool = True,
        vad_min_silence_ms: int = 500,
        temperature: Sequence[float] = (0.0, 0.4, 0.8),
        decode_options: dict[str, Any] | None = None,
        window_s: float = 30.0,
        window_fallback: bool = True,
    ):
        self.model_path = str(model_path)
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.num_workers = num_workers
        self.beam_size = beam_size
        self.device = device
        self.domain_prompt = domain_prompt
        self.languages = tuple(languages)
        self.vad = vad
        self.vad_min_silence_ms = vad_min_silence_ms
        self.temperature = tuple(temperature)
        # more faster-whisper transcribe() options (patience, no_repeat_ngram_size ...), for trying
        # them on clips (evals.voice_zh_errors --set decode_options=...)
        self.decode_options = dict(decode_options or {})
        # the encoder's window (voice/whisper_window.py): max(window_s, the speech + 1 s), at most 30 s
        self.window_s = float(window_s)
        # a transcript that repeats itself on a short window is decoded again on the full one
        self.window_fallback = window_fallback
        self.window_fallbacks = 0  # how often (evals)
        self._model: Any = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None

    @classmethod
    def from_settings(cls, settings: Any, model: str | None = None, **overrides: Any) -> WhisperSTT:
        """Build from lui's ``Settings`` (whisper_model, whisper_compute_type, whisper_threads, ...)."""
        path = resolve_whisper_model(model or settings.whisper_model, settings.cache_dir)
        kwargs = dict(compute_type=settings.whisper_compute_type, cpu_threads=settings.whisper_threads,
                      num_workers=max(1, settings.stt_workers), beam_size=settings.stt_beam_size,
                      device=settings.stt_device, window_s=settings.stt_window_s)
        return cls(path, **(kwargs | overrides))

    # -- loading -----------------------------------------------------------------------------
    def load(self) -> None:
        self._get_model()

    def _get_model(self) -> Any:
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self) -> Any:
        path = Path(self.model_path)
        if not (path / "model.bin").is_file() or not (path / "tokenizer.json").is_file():
            # a bare name would make faster-whisper download from a hub: never here
            raise VoiceError("stt-unavailable", f"{path} is not a local Whisper model folder; resolve names with "
                             f"voice.models.resolve_whisper_model and check {SETTING}.")
        try:
            from voice.whisper_window import WindowedWhisperModel
        except ImportError as exc:
            raise VoiceError("stt-unavailable", "faster-whisper is not installed: pip install 'lui[voice]'.") from exc
        started = time.perf_counter()
        try:
            model = WindowedWhisperModel(str(path), device=self.device, compute_type=self.compute_type,
                                 cpu_threads=self.cpu_threads, num_workers=self.num_workers)
        except (RuntimeError, ValueError, OSError) as exc:
            raise VoiceError("stt-unavailable", f"Could not load the Whisper model at {path}: {exc}. "
                             f"Check {SETTING} and LUI_WHISPER_COMPUTE_TYPE.") from exc
        self.load_seconds = time.perf_counter() - started
        return model

    @property
    def multilingual(self) -> bool:
        return bool(self._get_model().model.is_multilingual)

    # -- transcription -----------------------------------------------------------------------
    gives_alternatives = True

    def transcribe(self, audio: np.ndarray, *, lang: str | None = None, prompt: str | None = None,
                   hotwords: str | None = None, domain_lm: bool = False,
                   alternatives_within: float = 0.0) -> Transcript:
        audio = _as_float_mono(audio)
        total_ms = duration_ms(audio)
        lang = normalize_lang(lang)
        model = self._get_model()
        if lang not in (None, "en") and not model.model.is_multilingual:
            raise VoiceError("stt-unavailable", f"The Whisper model at {self.model_path} is English-only; set "
                             f"{SETTING}=base (or a multilingual model folder) for {lang!r}.")
        speech = self._speech_only(audio) if self.vad else audio
        if speech.size < TARGET_RATE // 10:  # under 100 ms of speech: nothing to transcribe
            return Transcript("", lang, total_ms, True)
        if lang is None:
            lang = self._detect_language(model, speech)
        hotwords = hotwords or self.hotwords(lang)
        initial_prompt = " ".join(p for p in (ZH_PROMPT if lang == "zh" else None, prompt) if p) or None
        options: dict[str, Any] = dict(
            language=lang, beam_size=self.beam_size, vad_filter=False, initial_prompt=initial_prompt,
            hotwords=hotwords, temperature=list(self.temperature), condition_on_previous_text=False,
            without_timestamps=True)
        options |= self.decode_options
        lm = self.lm if domain_lm and lang == "zh" else None  # the model knows Mandarin requests only
        keep = alternatives_within > 0
        text, beams = self._decode(model, speech, options, self.window_s, lm, keep)
        if self.window_fallback and self.window_s < FULL_WINDOW_S and repeats_itself(text, lang):
            self.window_fallbacks += 1  # a short window can make Whisper say the request twice
            text, beams = self._decode(model, speech, options, FULL_WINDOW_S, lm, keep)
        if lang == "zh":
            text = clean_zh(text)
        if self._is_spurious(text, [initial_prompt, hotwords]):
            text = ""
        others = _alternatives(beams, text, lang, alternatives_within) if text and keep else ()
        return Transcript(text, lang, total_ms, not text, others)

    def _decode(self, model: Any, speech: np.ndarray, options: dict[str, Any], window_s: float,
                lm: Any, keep: bool = False) -> tuple[str, list]:
        """The transcript, and (``keep``) the beams searched for it (``RerankingWhisper.keeping_beams``)."""
        try:  # segments decode lazily: join them inside the blocks
            with (model.encoder_window(window_s), model.model.reranking(lm, self.lm_weight),
                  model.model.keeping_beams() if keep else contextlib.nullcontext([]) as beams):
                segments, _info = model.transcribe(speech, **options)
                return "".join(segment.text for segment in segments).strip(), beams
        except (RuntimeError, ValueError) as exc:
            raise VoiceError("stt-failed", f"Whisper failed on this audio: {exc}") from exc

    def hotwords(self, lang: str | None) -> str | None:
        return DOMAIN_HOTWORDS.get(lang or "en") if self.domain_prompt else None

    def _speech_only(self, audio: np.ndarray) -> np.ndarray:
        from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

        options = VadOptions(min_silence_duration_ms=self.vad_min_silence_ms, speech_pad_ms=200)
        chunks = get_speech_timestamps(audio, options)
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        collected = collect_chunks(audio, chunks)  # 1.1+: (arrays, metadata); 1.0: one array
        parts = collected[0] if isinstance(collected, tuple) else [collected]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def _detect_language(self, model: Any, speech: np.ndarray) -> str:
        if not model.model.is_multilingual:
            return "en"
        with model.encoder_window(self.window_s):
            _lang, _prob, all_probs = model.detect_language(speech)
        probs = dict(all_probs)
        allowed = [code for code in self.languages if code in probs] or list(probs)
        return max(allowed, key=lambda code: probs[code])

    @staticmethod
    def _is_spurious(text: str, prompts: list[str | None]) -> bool:
        """Whisper sometimes answers noise with subtitle credits or by repeating its prompt."""
        if not text:
            return False
        if _HALLUCINATION.search(text):
            return True
        norm = _NON_WORD.sub("", text.lower())
        if len(norm) >= 3 and _NON_WORD.sub("", ZH_PROMPT).startswith(norm):  # "以下是" for a short 谢谢
            return True
        for p in prompts:
            ref = _NON_WORD.sub("", (p or "").lower())
            if norm and ref and norm in ref and len(norm) >= 0.6 * len(ref):
                return True
        return False


def _as_float_mono(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"expected 1-D mono samples at {TARGET_RATE} Hz, got shape {audio.shape}")
    if audio.dtype == np.int16:
        return audio.astype(np.float32) / 32768.0
    return np.ascontiguousarray(audio, dtype=np.float32)
