"""Kokoro-82M v1.0 text-to-speech (int8 ONNX, onnxruntime), Mandarin and English voices.

    tts = Kokoro(settings.kokoro_dir)             # or Kokoro(assemble(...)) / Kokoro(kokoro_files(dir))
    audio, rate = tts.synth("帮我交电费", "zf_xiaoxiao", speed=0.8)   # float32 mono, 24 kHz

Text -> phonemes: Mandarin (voices ``z*``) with misaki's ``ZHG2P`` (PyPI ``misaki[zh]==0.9.4``),
English (``a*``/``b*``) with espeak-ng's IPA mapped to Kokoro's phoneme set like misaki's espeak
fallback. Sentences are synthesised one at a time (the model takes at most 510 phonemes) and
joined with a short pause. Leading non-speech is trimmed: at slow speeds Kokoro often puts a short
blip before the first syllable, which Whisper hears as 一/不/是/我.

``Kokoro(..., trim_silence=True)`` (the server's spoken replies) runs the model in two parts and decodes
only the frames with sound (:mod:`voice.kokoro_graph`): the ~1.5 s of silence Kokoro puts around every
piece is not synthesised. Test and eval speech keep the whole model's output, silence included.

``synth`` is blocking (about 0.3x real time on 2 cores); async callers run it in a thread pool.
One instance may be shared by threads (the ONNX session is thread-safe; the G2P is locked).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np

from voice import kokoro_graph
from voice.errors import VoiceError
from voice.kokoro_assets import KokoroFiles, kokoro_files

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
MAX_PHONEMES = 510
SENTENCE_GAP_S = 0.25
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])|(?<=[.](?=\s))")
# espeak-ng IPA -> Kokoro (misaki's EspeakFallback table, American English)
_E2M = sorted({
    "ʔˌn\u0329": "ʔn", "ʔn\u0329": "ʔn", "a^ɪ": "I", "a^ʊ": "W", "d^ʒ": "ʤ", "e^ɪ": "A", "e": "A",
    "t^ʃ": "ʧ", "ɔ^ɪ": "Y", "ə^l": "ᵊl", "ʲo": "jo", "ʲə": "jə", "ʲ": "", "ɚ": "əɹ", "r": "ɹ", "x": "k",
    "ç": "k", "ɐ": "ə", "ɬ": "l", "\u0303": "", "o^ʊ": "O", "ɜːɹ": "ɜɹ", "ɜː": "ɜɹ", "ɪə": "iə", "ː": "",
}.items(), key=lambda kv: -len(kv[0]))
_EN_PUNCT = re.compile(r"([,.!?;:])")


def voice_lang(voice: str) -> str:
    """"zh" for ``z*`` voices, "en" for ``a*``/``b*`` ones."""
    if voice[:1] == "z":
        return "zh"
    if voice[:1] in ("a", "b"):
        return "en"
    raise VoiceError("tts-unavailable", f"Voice {voice!r} is neither Mandarin (z*) nor English (a*, b*).")


class Kokoro:
    """Kokoro synthesis from an assembled folder (see :mod:`voice.kokoro_assets`)."""

    sample_rate = SAMPLE_RATE

    def __init__(self, files: KokoroFiles | Path | str, *, threads: int = 2, trim_silence: bool = False):
        self.files = files if isinstance(files, KokoroFiles) else kokoro_files(Path(files))
        self.threads = threads
        self.trim_silence = trim_silence
        self._session = None  # the whole model, or its front part when trimming (then _decoder is the rest)
        self._decoder = None
        self._vocab: dict[str, int] = {}
        self._styles: dict[str, np.ndarray] = {}
        self._zh_g2p = None
        self._lock = threading.Lock()

    def background(self) -> Kokoro:
        """Another Kokoro on the same files with one onnxruntime thread, loaded on its first use: all its work
        runs in the calling thread, so a low-priority caller (the spoken replies' warm-up) stays low priority
        (a shared session's worker threads keep the priority of the thread that loaded it)."""
        return Kokoro(self.files, threads=1, trim_silence=self.trim_silence)

    @property
    def voices(self) -> list[str]:
        return sorted(self.files.voices)

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise VoiceError("tts-unavailable", "Kokoro needs onnxruntime: pip install 'lui[tts]'.") from exc
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            self._vocab = json.loads(self.files.vocab.read_text(encoding="utf-8"))["vocab"]
            parts = kokoro_graph.split(self.files.model) if self.trim_silence else None
            if self.trim_silence and parts is None:
                log.warning("%s has no decoder inputs by the expected names: synthesising silence too",
                            self.files.model)
            if parts is None:
                self._session = ort.InferenceSession(str(self.files.model), sess_options=opts,
                                                     providers=["CPUExecutionProvider"])
                return
            self._decoder = ort.InferenceSession(parts[1], sess_options=opts, providers=["CPUExecutionProvider"])
            self._session = ort.InferenceSession(parts[0], sess_options=opts, providers=["CPUExecutionProvider"])

    def _style(self, voice: str) -> np.ndarray:
        style = self._styles.get(voice)
        if style is None:
            path = self.files.voices.get(voice)
            if path is None:
                raise VoiceError("tts-unavailable", f"Unknown Kokoro voice {voice!r}; have {', '.join(self.voices)}.")
            style = np.fromfile(path, dtype="<f4").reshape(-1, 1, 256)
            self._styles[voice] = style
        return style

    # -- text -> phonemes ----------------------------------------------------------------------
    def phonemes(self, text: str, lang: str) -> str:
        if lang == "zh":
            with self._lock:
                if self._zh_g2p is None:
                    try:
                        from misaki.zh import ZHG2P
                    except ImportError as exc:
                        raise VoiceError("tts-unavailable", "Mandarin Kokoro needs misaki[zh]==0.9.4: "
                                         "pip install 'lui[tts]'.") from exc
                    self._zh_g2p = ZHG2P()
                result = self._zh_g2p(text)
            return (result[0] if isinstance(result, tuple) else result) or ""
        return english_phonemes(text)

    # -- synthesis -----------------------------------------------------------------------------
    def synth(self, text: str, voice: str, speed: float = 1.0) -> tuple[np.ndarray, int]:
        """``text`` spoken by ``voice`` -> (float32 mono samples in [-1, 1], 24000)."""
        lang = voice_lang(voice)
        style = self._style(voice)
        self.load()
        pieces: list[np.ndarray] = []
        gap = np.zeros(int(SENTENCE_GAP_S * SAMPLE_RATE), np.float32)
        for sentence in split_sentences(text):
            ids = [self._vocab[c] for c in self.phonemes(sentence, lang) if c in self._vocab]
            for start in range(0, len(ids), MAX_PHONEMES):
                chunk = ids[start:start + MAX_PHONEMES]
                if pieces:
                    pieces.append(gap)
                pieces.append(self._infer(chunk, style, speed))
        if not pieces:
            raise VoiceError("tts-failed", f"Nothing to say in {text!r}.", retryable=False)
        return trim_leading_blip(np.concatenate(pieces)), SAMPLE_RATE

    def _infer(self, ids: list[int], style: np.ndarray, speed: float) -> np.ndarray:
        ref = np.asarray(style[min(len(ids), len(style)) - 1].reshape(1, 256), dtype=np.float32)
        feed = {"tokens": np.array([[0, *ids, 0]], dtype=np.int64), "style": ref,
                "speed": np.array([speed], dtype=np.float32)}
        try:
            if self._decoder is None:
                audio = self._session.run(None, feed)[0]
            else:  # the frames with sound only (voice/kokoro_graph.py)
                asr, f0, energy = self._session.run(None, feed)
                frames = kokoro_graph.speech_frames(energy)
                audio = self._decoder.run(None, kokoro_graph.decoder_inputs(asr, f0, energy, ref, frames))[0]
                audio = kokoro_graph.fade_edges(np.asarray(audio, np.float32).reshape(-1))
        except Exception as exc:  # onnxruntime raises its own exception types
            raise VoiceError("tts-failed", f"Kokoro failed: {type(exc).__name__}: {exc}") from exc
        return np.clip(np.asarray(audio, np.float32).reshape(-1), -1.0, 1.0)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def english_phonemes(text: str) -> str:
    """English text -> Kokoro phonemes via espeak-ng (a Debian package), punctuation kept."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise VoiceError("tts-unavailable", "English Kokoro voices need espeak-ng: apt-get install espeak-ng.")
    out: list[str] = []
    for part in _EN_PUNCT.split(text):
        if not part.strip():
            continue
        if _EN_PUNCT.fullmatch(part):
            out.append(part)
            continue
        ipa = subprocess.run([espeak, "-q", "--ipa", "--tie=^", "-v", "en-us", part], check=True,
                             capture_output=True, text=True).stdout
        ps = " ".join(ipa.split())
        for old, new in _E2M:
            ps = ps.replace(old, new)
        ps = re.sub(r"(\S)\u0329", r"ᵊ\1", ps).replace("ɾ", "T").replace("ʔ", "t").replace("^", "")
        out.append((" " if out else "") + ps)
    return "".join(out)


def trim_leading_blip(audio: np.ndarray, rate: int = SAMPLE_RATE, *, frame_ms: int = 10,
                      min_speech_ms: int = 120, pad_ms: int = 40) -> np.ndarray:
    """Drop everything before the first stretch of sustained sound (``min_speech_ms`` of frames
    within 24 dB of the loudest frame, short dips allowed), keeping ``pad_ms`` before it.

    A blip (a click or a short burst before the first syllable) is shorter than any syllable."""
    frame = rate * frame_ms // 1000
    n = len(audio) // frame
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = rms > rms.max() * 10 ** (-24 / 20)
    need = max(1, min_speech_ms // frame_ms)
    if n < need:
        return audio
    share = np.convolve(loud.astype(np.float32), np.ones(need, np.float32), "valid") / need
    onsets = np.flatnonzero((share >= 0.8) & loud[: len(share)])
    if onsets.size == 0:
        return audio
    return audio[max(0, onsets[0] * frame - rate * pad_ms // 1000):]
