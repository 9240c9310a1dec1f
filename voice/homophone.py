"""Homophones of everyday Mandarin words, corrected with a word-frequency language model.

Whisper base hears the right syllables and writes characters that form a rare or impossible word
sequence: 睡废 for 水费, 千费 for 欠费, 殿子 for 电子, 焦了没 for 交了没. The domain corrector
(:mod:`voice.correct`) only knows the domain's terms; this one knows every word of jieba's
dictionary (dict.txt, MIT, with its counts) by its toneless pinyin (pypinyin).

A Chinese run is segmented the way jieba's DAG does it — the word path of highest unigram
probability — except that a span of one to four characters may also be spelled as another word of
the same toneless syllables. Each such re-spelling costs ``margin`` (natural log): a change is made
only where it makes the run that much more probable than Whisper's own characters (睡/废 -> 水费
gains 5.0; 她 -> 他 gains 1.1 and stays). The domain's words (bill types, commands, catalogue
titles and the words in them: 交, 话费 ...) count ``domain_boost`` more, so 胶 before an amount is 交.

Guards: a numeral or a particle is never rewritten and never written in (一元 is not 医院, 吗 is not
码); characters inside a domain term or one of the user's account labels stay; while a payment
waits, nothing is corrected into a consent word (确认, 取消, 对 ... see assistant/nlu/consent.py); a
person's name is never a candidate (a name written is one Whisper heard).

The pinyin -> words index is built once, lazily, shared by every corrector (~2-3 s, at start-up).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

MAX_WORD = 4  # longest re-spelled span (characters)
MIN_COUNT = 3  # jieba count below which a word is not a candidate
NUMERALS = set("零〇一二两三四五六七八九十百千万亿元块毛角")
PARTICLES = set("吗呢吧啊呀嘛了的么哦")
CONSENT_CHARS = frozenset("对是好行嗯")  # one-character answers to a pending payment
_NAME_TAGS = ("nr", "nrfg")  # person names: never a candidate

_lock = threading.Lock()


@dataclass(frozen=True)
class Respelling:
    position: int  # in the run
    heard: str
    word: str
    gain: float  # log-probability over the characters heard (before the margin)


class HomophoneIndex:
    """jieba's words by toneless pinyin (``shui'fei``), most frequent first; ``counts`` is jieba's own
    table, shared, not copied."""

    def __init__(self, counts: Mapping[str, int], names: Iterable[str] = ()):
        self.counts = counts
        self.log_total = math.log(sum(counts.values()))
        self.floor = -self.log_total  # a character not in the dictionary: a count of 1
        skip = set(names)
        by_sound: dict[str, list[str]] = {}
        for word, count in counts.items():
            if count < MIN_COUNT or len(word) > MAX_WORD or word in skip:
                continue
            key = sound(word)
            if key is not None:
                by_sound.setdefault(key, []).append(word)
        self.by_sound = {k: tuple(sorted(v, key=counts.__getitem__, reverse=True)) for k, v in by_sound.items()}

    def logp(self, word: str) -> float | None:
        count = self.counts.get(word)
        return math.log(count) - self.log_total if count else None


@cache
def _toneless(reading: str) -> str:
    from pypinyin.contrib.tone_convert import to_normal

    return to_normal(reading).replace("ü", "v")


@cache
def _char_sound(char: str) -> str | None:
    from pypinyin.constants import PINYIN_DICT

    reading = PINYIN_DICT.get(ord(char))
    return _toneless(reading.split(",")[0]) if reading else None


def sound(word: str) -> str | None:
    """Toneless syllables of a dictionary word, joined by ' (pypinyin's phrase reading, else each
    character's first reading)."""
    from pypinyin.constants import PHRASES_DICT

    phrase = PHRASES_DICT.get(word)
    if phrase and len(phrase) == len(word):
        return "'".join(_toneless(p[0]) for p in phrase)
    syllables = [_char_sound(c) for c in word]
    return None if None in syllables else "'".join(syllables)


_index: HomophoneIndex | None = None


def shared_index() -> HomophoneIndex:
    """The index of jieba's dictionary, built on first use and shared."""
    global _index
    with _lock:
        if _index is None:
            _index = _load()
        return _index


def _load() -> HomophoneIndex:
    import jieba

    jieba.dt.check_initialized()
    names = []
    with jieba.get_dict_file() as f:
        for raw in f:
            parts = raw.split()
            if len(parts) >= 3 and parts[2].decode() in _NAME_TAGS:
                names.append(parts[0].decode("utf-8"))
    return HomophoneIndex(jieba.dt.FREQ, names)


class HomophoneCorrector:
    """Re-spells spans of a Chinese run as more probable words of the same toneless syllables."""

    def __init__(self, margin: float = 5.0, domain_words: Iterable[str] = (), domain_boost: float = 3.0,
                 single_margin: float = math.inf, single_words: Iterable[str] = (), word_bonus: float = 5.0,
                 index: HomophoneIndex | None = None):
        self.margin = margin
        self.word_bonus = word_bonus  # per word of a path: a run of common one-character words is not improbable
        self.single_margin = single_margin  # a one-character word for one character heard ...
        self.single_words = frozenset(single_words)  # ... only one of these (the domain's verb 交)
        self.domain_boost = domain_boost
        self.domain = frozenset(domain_words)
        self._index = index

    @property
    def index(self) -> HomophoneIndex:
        if self._index is None:
            self._index = shared_index()
        return self._index

    def _logp(self, word: str) -> float | None:
        lp = self.index.logp(word)
        if lp is None:
            return None
        return lp + self.domain_boost if word in self.domain else lp

    def correct_run(self, run: str, syllables: tuple[str, ...], protected: Iterable[int] = (),
                    awaiting_consent: bool = False, around: str = "") -> list[Respelling]:
        """The re-spellings of ``run`` (one Chinese run, one syllable per character) on its most
        probable path; characters at ``protected`` positions stay. ``around``: the characters just
        before and after the run (a numeral next to a digit is part of a number)."""
        n = len(run)
        if n == 0 or len(syllables) != n:
            return []
        index = self.index
        keep = set(protected)
        alone = _one_character_words(run) if self.single_margin < math.inf else set()
        padded = (around[:1] or " ") + run + (around[1:2] or " ")
        lone = {i for i in range(n) if run[i] in NUMERALS
                and not any(c in NUMERALS or c.isdigit() for c in (padded[i], padded[i + 2]))}
        # best[i]: (score of run[i:], next position, re-spelling or None) — jieba's right-to-left DP
        best: list[tuple[float, int, Respelling | None]] = [(0.0, n, None)] * (n + 1)
        for i in range(n - 1, -1, -1):
            options: list[tuple[float, int, Respelling | None]] = []
            for j in range(i + 1, min(n, i + MAX_WORD) + 1):
                span = run[i:j]
                lp = self._logp(span)
                if lp is None and j == i + 1:
                    lp = index.floor
                if lp is not None:
                    options.append((lp + self.word_bonus + best[j][0], j, None))
                if keep.intersection(range(i, j)) or (j - i > 1 and span == span[0] * len(span)):
                    continue  # protected, or one character said again (喂喂 is not 微微)
                margin = self.margin if j - i > 1 else self.single_margin
                if margin == math.inf or (j - i == 1 and i not in alone):
                    continue  # one character only where jieba reads it as a word of its own (浇水 stays)
                word = self._candidate(span, syllables[i:j], awaiting_consent, lone.issuperset(
                    k for k in range(i, j) if run[k] in NUMERALS))
                if word is not None:
                    wlp = self._logp(word)
                    gain = wlp - (lp if lp is not None else self._heard_logp(span))
                    options.append((wlp + self.word_bonus - margin + best[j][0], j, Respelling(i, span, word, gain)))
            best[i] = max(options, key=lambda o: o[0])
        out = []
        i = 0
        while i < n:
            _, j, rep = best[i]
            if rep is not None:
                out.append(rep)
            i = j
        return out

    def _heard_logp(self, span: str) -> float:
        index = self.index
        return sum(index.logp(c) or index.floor for c in span)

    def _candidate(self, span: str, key: tuple[str, ...], awaiting_consent: bool, lone: bool) -> str | None:
        """The most probable word of ``key``'s sound that ``span`` may be re-spelled as."""
        candidates = self.index.by_sound.get("'".join(key), ())
        if len(span) == 1:  # one character: only into one of the domain's own one-character words (交)
            candidates = [w for w in candidates if w in self.single_words]
        best, best_lp = None, -math.inf
        for word in candidates:
            lp = self.index.logp(word)
            if word in self.domain:
                lp += self.domain_boost
            elif best is not None and lp <= best_lp - self.domain_boost:
                break  # sorted by count: nothing further can win, even boosted
            if lp <= best_lp or word == span or not self._allowed(span, word, awaiting_consent, lone):
                continue
            best, best_lp = word, lp
        return best

    def _allowed(self, span: str, word: str, awaiting_consent: bool, lone: bool) -> bool:
        """Not a numeral (except a lone one inside a domain word: 千费 is 欠费), not a particle, not
        缴/交 (the same verb), not a consent word while a payment waits."""
        from voice.lexicon import CONSENT_TERMS

        numeral_ok = lone and len(word) >= 2 and word in self.domain
        for a, b in zip(span, word, strict=True):
            if a == b:
                continue
            if ((a in NUMERALS or b in NUMERALS) and not numeral_ok) or a in PARTICLES or b in PARTICLES \
                    or {a, b} == {"缴", "交"}:
                return False
        if awaiting_consent and (word in CONSENT_CHARS or any(t in word for t in CONSENT_TERMS)):
            return False
        return True


def _one_character_words(run: str) -> set[int]:
    """Positions of the characters jieba's segmentation reads as one-character words."""
    import jieba

    out, pos = set(), 0
    for word in jieba.lcut(run, HMM=False):
        if len(word) == 1:
            out.add(pos)
        pos += len(word)
    return out
