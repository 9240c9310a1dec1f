"""Semantic end-of-turn: is what the person said so far a finished request, or are they pausing mid-sentence?

The model is smart-turn v3.2 (BSD-2-Clause, pipecat-ai): a Whisper-tiny encoder with a classifier, on the
last 8 s of 16 kHz audio, 23 languages including Mandarin. ``scripts/setup.sh`` takes the ONNX file out of
the ``pipecat-ai==1.14.0`` wheel (downloaded without its dependencies) into ``.cache/smart-turn/``;
nothing is fetched at run time. The features are Whisper's log-mel spectrogram, computed here in numpy
(the same computation as pipecat's ``_whisper_features.py`` and Hugging Face's WhisperFeatureExtractor with
an 8 s window): 400-point periodic Hann window, hop 160, 80 Slaney mel bands, log10, clamped to 8 below
the maximum, scaled to about [-1, 1]; the waveform is normalised to zero mean and unit variance first.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from pathlib import Path

import numpy as np

from voice.audio import TARGET_RATE
from voice.errors import VoiceError

SMART_TURN_FILE = "smart-turn-v3.2-cpu.onnx"
SMART_TURN_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
SMART_TURN_PACKAGE = "pipecat-ai==1.14.0"
WINDOW_S = 8
N_FFT, HOP, N_MELS = 400, 160, 80


def _mel_filters() -> np.ndarray:
    """Slaney-scale, Slaney-normalised triangular filters, shape (n_fft//2+1, n_mels), 0..8 kHz."""

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) * 27.0 / np.log(6.4), 3.0 * f / 200.0)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        return np.where(m >= 15.0, 1000.0 * np.exp((m - 15.0) * np.log(6.4) / 27.0), 200.0 * m / 3.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(TARGET_RATE / 2), N_MELS + 2))
    bins = np.linspace(0, TARGET_RATE // 2, N_FFT // 2 + 1)
    slopes = edges[None, :] - bins[:, None]
    widths = np.diff(edges)
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    return filters * (2.0 / (edges[2:] - edges[:-2]))[None, :]


_MEL = _mel_filters()
_HANN = np.hanning(N_FFT + 1)[:-1]  # periodic, like torch.hann_window


def last_window(audio: np.ndarray) -> np.ndarray:
    """The last 8 s of 16 kHz audio, zeros in front when shorter (what the model was trained on)."""
    n = WINDOW_S * TARGET_RATE
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) >= n:
        return audio[-n:]
    return np.concatenate([np.zeros(n - len(audio), dtype=np.float32), audio])


def log_mel(window: np.ndarray) -> np.ndarray:
    """Whisper log-mel features of exactly 8 s of 16 kHz audio: float32 (80, 800)."""
    x = np.asarray(window, dtype=np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), (N_FFT // 2, N_FFT // 2), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _HANN, axis=-1)) ** 2  # (frames, bins)
    mel = np.log10(np.maximum(power @ _MEL, 1e-10)).T[:, :-1]  # (80, 800): the last frame dropped
    mel = np.maximum(mel, mel.max() - 8.0)
    return ((mel + 4.0) / 4.0).astype(np.float32)


def smart_turn_path(folder: Path) -> Path:
    """The model file set up by scripts/setup.sh, checked by sha256; else ``turn-unavailable``."""
    path = Path(folder).expanduser() / SMART_TURN_FILE
    if not path.is_file():
        raise VoiceError("turn-unavailable", f"The end-of-turn model {path} is missing. Run scripts/setup.sh (it "
                         f"takes {SMART_TURN_FILE} out of `pip download {SMART_TURN_PACKAGE} --no-deps`), "
                         "set LUI_SMART_TURN_DIR to the folder holding it, or set LUI_TURN_DETECTOR=silence "
                         "to end turns on a fixed pause.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SMART_TURN_SHA256:
        raise VoiceError("turn-unavailable", f"{path} has sha256 {digest}, expected {SMART_TURN_SHA256} (the file "
                         f"from {SMART_TURN_PACKAGE}); run scripts/setup.sh again.")
    return path


class SmartTurn:
    """Blocking: ``complete_probability(audio)`` in [0, 1]. Thread-safe (one ONNX session, one lock)."""

    def __init__(self, path: Path, threads: int = 1):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise VoiceError("turn-unavailable", "onnxruntime is required for the end-of-turn model: "
                             "pip install 'lui[voice]'.") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> SmartTurn:
        return cls(smart_turn_path(settings.smart_turn_dir), threads=settings.turn_threads)

    def complete_probability(self, audio: np.ndarray) -> float:
        """How likely the speech in ``audio`` (16 kHz mono, ending now) is a finished turn."""
        features = log_mel(last_window(audio))[None]
        with self._lock:
            out = self._session.run(None, {"input_features": features})[0]
        return float(np.asarray(out).reshape(-1)[0])


# Words a request does not end on: a verb still waiting for its object, a preposition, a particle that
# introduces more ("帮我交……", "这个月的……", "I want to pay my ..."). Checked on the transcript of a pause
# before a "complete" from the model ends the turn: the model alone hears many mid-sentence pauses in
# Mandarin as finished.
_UNFINISHED_ZH = tuple(sorted((
    "的", "把", "给", "交", "缴", "查", "充", "付", "办", "帮", "帮我", "我要", "我想", "和", "跟", "还有", "有",
    "然后", "那个", "这个", "就是", "一下", "在", "到", "从", "往", "被", "让", "请", "用", "去", "看看", "呃", "那",
    "我", "上个", "这个月", "上个月",  # not 要/是/对/嗯: 不要, 是, 对 and 嗯 are whole answers
), key=len, reverse=True))
_UNFINISHED_EN = frozenset((
    "the", "a", "an", "my", "your", "to", "and", "or", "for", "of", "in", "on", "at", "with", "from", "pay", "check",
    "is", "are", "was", "um", "uh", "like", "i", "want", "need", "what's", "how", "much", "top", "last", "next",
))
_TRAILING = re.compile(r"[\s\W_]+$", re.UNICODE)
# a verb after a question word ends a question ("违章罚款怎么交", "在哪查", "咋办", "几号扣的")
_ASKING_ZH = ("怎么", "怎样", "咋", "哪", "什么", "啥", "多少", "几", "这么", "那么", "为什么", "为啥")
_WHOLE_ZH = ("是的", "好的", "对的", "支付", "没有", "没")  # endings that close a request (确认支付, 交了没有)
# what may stand before a verb + 一下 without being its object ("帮我查一下" waits for 电费; "水费查一下" does not)
_NO_OBJECT_ZH = re.compile(r"^(?:请|麻烦|麻烦你|你|您|帮|帮我|帮忙|给我|我|我要|我想|再|先)*$")


def sounds_unfinished(text: str) -> bool:
    """The transcript stops on a word that needs more after it (see the lists above)."""
    text = _TRAILING.sub("", text or "")
    if not text:
        return False
    if re.search(r"[\u3400-\u9fff]$", text):
        if text.endswith(_WHOLE_ZH) or not text.endswith(_UNFINISHED_ZH):
            return False
        ending = next(w for w in _UNFINISHED_ZH if text.endswith(w))
        head = text[: -len(ending)]
        if ending == "一下":  # the object may have come first: "電費幫我繳一下", "宽带到期时间查一下"
            return bool(_NO_OBJECT_ZH.match(head[:-1] if head else head))
        return not any(word in head[-4:] for word in _ASKING_ZH)
    words = text.lower().split()
    return bool(words) and words[-1] in _UNFINISHED_EN


# parts of speech (jieba) that name a thing or a time but say nothing about it
_QUESTION_ZH = ("吗", "呢", "么", "没")
# (y: a modal particle after the name, 电费呀, 电费吧: still only the topic)
_NAMING_TAGS = ("n", "r", "t", "m", "q", "j", "f", "s", "x", "eng", "uj", "b", "z", "l", "y")


def names_only(text: str) -> bool:
    """Mandarin words that only name something ("电费", "我家电费", "电子社保卡"): a topic waiting for
    what to do with it ("电费……交一下"). An answer to a question (浦东那个, 三百块) is one too; the caller
    knows when one is expected. Not Mandarin: False."""
    words = _statement_words(text)  # 电费多少钱: a question, None
    return words is not None and all(flag.startswith(_NAMING_TAGS) for _, flag in words)


@functools.lru_cache(maxsize=64)
def _statement_words(text: str) -> tuple[tuple[str, str], ...] | None:
    """(blocking: jieba) The words and part-of-speech tags of Mandarin text that is not a question (no ?,
    no asking or question word), trailing punctuation dropped; None otherwise. Cached: the elder word rules
    (:func:`waits_for_more`) each read the same pause's text."""
    if not re.search(r"[\u3400-\u9fff]", text or "") or re.search(r"[?？]", text):
        return None
    text = _TRAILING.sub("", text)
    if any(word in text for word in _ASKING_ZH + _QUESTION_ZH):
        return None
    import jieba.posseg

    return tuple((w, flag) for w, flag in jieba.posseg.lcut(text, HMM=False) if w.strip())


_ASKING_EN = frozenset(("what", "what's", "where", "where's", "when", "why", "how", "which", "who", "can", "could",
                        "is", "are", "do", "does", "did", "will", "would", "should", "may"))
_ENDS_ASKING_ZH = re.compile(r"(?:吗|呢|么|吧|没|没有)$")


def asks(text: str) -> bool:
    """The words ask something: a question mark; in Mandarin an asking word (在哪, 怎么, 多少, 几……) or a
    question particle at the end (交了吗, 交了没); in English a question word or an auxiliary first. Not
    没 inside the words: 那个没气 states something."""
    if re.search(r"[?？]", text or ""):
        return True
    bare = _TRAILING.sub("", text or "")
    if re.search(r"[\u3400-\u9fff]", bare):
        return any(word in bare for word in _ASKING_ZH) or bool(_ENDS_ASKING_ZH.search(bare))
    first = bare.lower().split(maxsplit=1)
    return bool(first) and first[0] in _ASKING_EN


# coverbs that bring in who or what a verb acts on: "给189……这个号交五十话费", "把……电费交了"
_COVERBS_ZH = frozenset(("给", "把", "替", "跟", "往", "从", "向", "被", "让", "用", "在"))  # not 对: 对账单
# verbs that work as coverbs before a thing: 拿余额……交话费, 拿钱包里的钱……交 (jieba tags them verbs; 拿快递 has
# its verb after, a two-character 快递 that jieba tags as one)
_TAKING_ZH = frozenset(("拿",))


def verb_pending(text: str) -> bool:
    """Mandarin words that bring in a thing or a person with a coverb (给, 把, 替……, 拿 before a thing) whose
    verb has not come yet ("给18912345678", "把浦东那个", "拿钱包里"): the request is still being said. A question is not
    waiting (在哪 ends one). Not Mandarin: False."""
    words = _statement_words(text)
    if words is None:
        return False
    at = max((i for i, (w, flag) in enumerate(words) if (flag == "p" and w in _COVERBS_ZH)
              or (w in _TAKING_ZH and i + 1 < len(words) and words[i + 1][1].startswith("n"))), default=-1)
    return at >= 0 and not any(flag.startswith("v") for _, flag in words[at + 1:])


def verb_in_a_name(text: str) -> bool:
    """Mandarin words that name a thing by what was done with it ("交过的钱", "之前交过的费用"): the
    only verb stands in a clause before the last 的, and only naming words follow it — a topic still
    waiting for what to do with it ("交过的钱……给我列一下"). Not a question. Not Mandarin: False."""
    words = _statement_words(text)
    if words is None:
        return False
    at = max((i for i, (w, _) in enumerate(words) if w == "的"), default=-1)
    verbs = [i for i, (_, flag) in enumerate(words) if flag.startswith("v")]
    tail = words[at + 1:]
    return (at > 0 and len(verbs) == 1 and verbs[0] < at and bool(tail)
            and all(flag.startswith(_NAMING_TAGS) for _, flag in tail))


# words jieba tags as pronouns or numerals that name no thing a verb acts on: the one who speaks, and the
# month of a time phrase ("我上个月充了", "这个月交了", and 上个月 misheard as "以上各月充了")
_SUBJECTS_ZH = frozenset(("我", "你", "您", "他", "她", "咱", "我们", "咱们", "你们", "他们", "各", "每", "月"))
_MONTH_DEICTIC_ZH = frozenset(("这个", "那个", "上个", "下个"))


_MODALS_ZH = frozenset(("想", "要", "得", "需要", "打算", "准备"))


def object_pending(text: str) -> bool:
    """Mandarin words that end on a verb + 了 ("上个月充了……几次话费") or on a want + a one-character verb
    ("我想交……", misheard 我想教……) with no thing named anywhere: what is done is said, what it is done to
    is still to come. A person (我) or a month (这个月, 各月) is no thing. Not a question. Not Mandarin: False."""
    words = _statement_words(text)
    if words is None or len(words) < 2 or not words[-2 if words[-1][0] == "了" else -1][1].startswith("v"):
        return False
    if words[-1][0] != "了" and not (words[-2][0] in _MODALS_ZH and len(words[-1][0]) == 1):
        return False
    things = [w for i, (w, flag) in enumerate(words) if flag.startswith(("n", "r", "m", "q", "j", "eng"))
              and w not in _SUBJECTS_ZH
              and not (w in _MONTH_DEICTIC_ZH and i + 1 < len(words) and words[i + 1][0] == "月")]
    return not things


# adverbs a request may end on: answers (不, 没有, 别, 随便, 当然), and words jieba tags as adverbs that are
# not (到期, 好处, 正常 and 真的 end whole training lines)
_WHOLE_ADVERBS_ZH = frozenset(("不", "没", "没有", "别", "不用", "甭", "随便", "当然", "马上", "立刻", "一起", "好好",
                               "真的", "到期", "好处", "正常", "一下", "算了"))
# words that bring in a verb or a clause: modals ("停车费能……用手机付吗") and conjunctions ("如果……的话")
_LEADING_ZH = frozenset(("能", "会", "要", "得", "还是", "或者", "但是", "可是", "而且", "所以", "因为", "如果", "要是",
                         "不过", "并且", "的话"))


def verb_to_come(text: str) -> bool:
    """Mandarin words that end on an adverb (话费还……剩多少, 上个月都……交了啥, 水费又……涨了吗), a modal
    (公积金能……取出来吗) or a conjunction: what they modify or bring in is still to come. Answers (不, 随便),
    要 alone and A-not-A questions (能不能) are not waiting; 还 waits only after a noun (帮我还, 不还: repay).
    Not Mandarin: False."""
    words = _statement_words(text)
    if not words or len(words) < 2:  # one word alone (要, 可以, 不) is an answer
        return False
    word, flag = words[-1]
    before, before_flag = words[-2]
    said = "".join(w for w, _ in words)  # without the trailing punctuation (能不能。)
    if word in _WHOLE_ADVERBS_ZH or said.endswith(f"{word}不{word}"):
        return False
    if word == "还":
        return before_flag.startswith("n")
    if word in ("要", "得"):  # 不要 and 要得 are answers
        return before not in ("不", "要", "还")
    return flag == "d" or word in _LEADING_ZH


def waits_for_more(text: str) -> bool:
    """(blocking: jieba) The words only name a topic (:func:`names_only`, :func:`verb_in_a_name`) or a
    coverb waits for its verb (:func:`verb_pending`), a verb for its object (:func:`object_pending`), an
    adverb or a modal for its verb (:func:`verb_to_come`): in elder mode the person is still saying the
    request."""
    return (names_only(text) or verb_pending(text) or verb_in_a_name(text) or object_pending(text)
            or verb_to_come(text))
