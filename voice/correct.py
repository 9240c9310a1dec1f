"""Pinyin-level correction of Mandarin transcripts against the domain lexicon.

Whisper base mostly hears the right syllables and writes the wrong characters: 取消 -> 取笑,
公积金 -> 攻击金, 燃气费 -> 人气费, 浦东 -> 普通. A span of the transcript whose toneless pinyin
matches a lexicon term (same number of syllables, a small phonetic distance) is replaced by the
term, and every replacement is returned so the caller can log it.

Guards against over-correction:

* a span that is itself a lexicon term is never replaced, nor a numeral in a span (一元 is not 医院;
  教一下 is 交一下, the 一 stays) unless the span is all of a 3+ syllable term's syllables exactly
  (一包卡 is 医保卡);
* an inexact match (a near syllable: 人气费/燃气费) needs a term of 3+ syllables sharing a
  character with the span, or a context term (the user's account labels: 普通 -> 浦东 only for a
  user who has 浦东); and it must start and end on word boundaries (普通话 stays 普通话);
* two-syllable general terms need the exact syllables (取笑 is 取消), and a catalogue term does not
  replace a common word (买点 stays, though the catalogue has 买电); particles (吗, 呢 ...) stay;
* while a payment waits, nothing is corrected to a consent word (确认, 取消 ...): a near miss is
  asked again instead of guessed (assistant/nlu/consent.py), money moves only on a clear yes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from voice.homophone import HomophoneCorrector
from voice.lexicon import CONSENT_TERMS, CORE_TERMS, SpeechContext, base_terms

_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z",
             "c", "s", "y", "w")
_NEAR_INITIALS = {frozenset(p) for p in (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("l", "r"), ("f", "h"),
                                         ("d", "t"), ("b", "p"), ("g", "k"), ("j", "q"), ("q", "x"), ("j", "x"))}
_NEAR_FINALS = {frozenset(p) for p in (("an", "ang"), ("en", "eng"), ("in", "ing"), ("ian", "iang"),
                                       ("uan", "uang"), ("u", "uo"), ("o", "uo"), ("en", "an"), ("e", "o"),
                                       ("ong", "eng"), ("i", "ie"), ("ei", "ui"))}
_RUN = re.compile(r"[\u3400-\u9fff]+")
_NUMERALS = set("零〇一二两三四五六七八九十百千万亿元块毛角")
_PARTICLES = set("吗呢吧啊呀嘛了的么哦")  # a question or a tone: never rewritten into a content character
_COMMON_WORD_FREQ = 100  # jieba's count above which a two-character span is a real word


def _lone_numeral_in(run: str, start: int, span: str, term: str) -> bool:
    """千费 is 欠费: a bill type or command heard exactly, its numeral alone (no numeral next to it)."""
    if term not in CORE_TERMS or pinyin(span) != pinyin(term):
        return False
    padded = " " + run + " "
    return all(padded[start + k] not in _NUMERALS and padded[start + k + 2] not in _NUMERALS
               for k, a in enumerate(span) if a in _NUMERALS)


@dataclass(frozen=True)
class Replacement:
    heard: str
    term: str
    position: int
    distance: float


@lru_cache(maxsize=65536)
def _split(syllable: str) -> tuple[str, str]:
    for initial in _INITIALS:
        if syllable.startswith(initial) and len(syllable) > len(initial):
            return initial, syllable[len(initial):]
    return "", syllable


def syllable_distance(a: str, b: str) -> float:
    if a == b:
        return 0.0
    (ia, fa), (ib, fb) = _split(a), _split(b)
    if ia == ib and frozenset((fa, fb)) in _NEAR_FINALS:
        return 0.5
    if fa == fb and frozenset((ia, ib)) in _NEAR_INITIALS:
        return 0.5
    return 1.0


@lru_cache(maxsize=4096)
def pinyin(text: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(text))


class PinyinCorrector:
    """Corrects transcripts against ``terms`` (default: the domain lexicon) plus a context's terms."""

    def __init__(self, terms: Iterable[str] | None = None, homophones: HomophoneCorrector | bool = False):
        self.terms = tuple(dict.fromkeys(terms if terms is not None else base_terms()))
        self._known = set(self.terms)
        if homophones is True:  # off by default (LUI_STT_HOMOPHONES): within noise on held-out training clips
            # margins chosen on clips of half the training lines (README, Mandarin voice)
            homophones = HomophoneCorrector(domain_words=domain_words(CORE_TERMS), single_words=("交",),
                                            single_margin=4.0)
        self.homophones = homophones or None  # everyday words (voice/homophone.py), after the domain terms

    def correct(self, text: str, context: SpeechContext | None = None) -> tuple[str, list[Replacement]]:
        context = context or SpeechContext()
        extra = tuple(t for t in context.terms if _RUN.fullmatch(t))
        candidates = [(t, False) for t in self.terms] + [(t, True) for t in extra]
        if context.awaiting == "confirmation":
            candidates = [(t, ctx) for t, ctx in candidates if t not in CONSENT_TERMS]
        known = self._known | set(extra) | CONSENT_TERMS
        replacements: list[Replacement] = []
        out = []
        last = 0
        for match in _RUN.finditer(text):
            fixed, found = self._correct_run(match.group(0), candidates, known, match.start())
            if self.homophones is not None:
                around = (text[match.start() - 1] if match.start() else " ") + (text[match.end():] or " ")[0]
                fixed, more = self._respell(fixed, known, match.start(), context.awaiting == "confirmation", around)
                found += more
            out.append(text[last:match.start()] + fixed)
            last = match.end()
            replacements += found
        out.append(text[last:])
        text, particles = _fix_particles("".join(out))
        text, digits = _join_digit_groups(text)
        return text, sorted(replacements + particles, key=lambda r: r.position) + digits

    def _correct_run(self, run: str, candidates, known: set[str], offset: int) -> tuple[str, list[Replacement]]:
        syl = pinyin(run)
        if len(syl) != len(run):  # pypinyin keeps one syllable per character for Chinese text
            return run, []
        bounds = None
        found: list[Replacement] = []
        taken = [False] * len(run)
        # longest terms first, so 公积金贷款 wins over 公积金
        for term, is_context in sorted(candidates, key=lambda c: -len(c[0])):
            n = len(term)
            if n < 2 or n > len(run):
                continue
            target = pinyin(term)
            if len(target) != n:
                continue
            for start in range(len(run) - n + 1):
                span = run[start:start + n]
                if span == term or any(taken[start:start + n]) or span in known:
                    continue
                numeral = any(a in _NUMERALS and a != b for a, b in zip(span, term, strict=True))
                if numeral and n < 3 and not _lone_numeral_in(run, start, span, term):
                    continue  # a numeral is never rewritten (一元 is not 医院); kept, it may stay (教一下)
                if any(run[i:j] in known for i in range(start, start + n) for j in range(i + 2, start + n + 1)
                       if (i, j) != (start, start + n) and run[i:j] not in term):
                    continue  # a known word inside the span that the term does not contain: leave it
                cost = 0.0
                for a, b in zip(syl[start:start + n], target, strict=True):
                    step = syllable_distance(a, b)
                    cost += step if step < 1.0 else 9.0  # a wholly different syllable: never a match
                    if cost > 1.0:
                        break
                if not self._acceptable(cost, n, is_context, span, term) or (numeral and cost > 0.0):
                    continue  # a numeral only in a 3+ syllable term heard exactly (一包卡 is 医保卡)
                diff = [(a, b) for a, b in zip(span, term, strict=True) if a != b]
                if any(a in _PARTICLES for a, _ in diff) or all({a, b} == {"缴", "交"} for a, b in diff):
                    continue  # particles stay; 缴 and 交 are the same verb
                if n == 2 and not is_context and term not in CORE_TERMS and _word_freq(span) >= _COMMON_WORD_FREQ:
                    continue  # 买点 stays 买点 (the catalogue's 买电 is not worth rewriting a common word)
                bounds = bounds if bounds is not None else _word_bounds(run)
                if start not in bounds or start + n not in bounds:
                    continue
                found.append(Replacement(span, term, offset + start, cost))
                for i in range(start, start + n):
                    taken[i] = True
        if not found:
            return run, []
        chars = list(run)
        for rep in sorted(found, key=lambda r: -r.position):
            i = rep.position - offset
            chars[i:i + len(rep.heard)] = list(rep.term)
        return "".join(chars), sorted(found, key=lambda r: r.position)

    def _respell(self, run: str, known: set[str], offset: int, awaiting_consent: bool, around: str) -> tuple[str, list[Replacement]]:
        """Everyday words heard with the wrong characters (睡废 -> 水费, 焦了没 -> 交了没); the domain's
        terms (those the domain step wrote too) and the user's labels stay."""
        syl = pinyin(run)
        if len(syl) != len(run):
            return run, []
        protected = set()
        for term in known:
            start = run.find(term)
            while start >= 0:
                protected.update(range(start, start + len(term)))
                start = run.find(term, start + 1)
        found = self.homophones.correct_run(run, syl, protected, awaiting_consent, around)
        if not found:
            return run, []
        chars = list(run)
        for rep in found:
            chars[rep.position:rep.position + len(rep.heard)] = list(rep.word)
        return "".join(chars), [Replacement(r.heard, r.word, offset + r.position, 0.0) for r in found]

    @staticmethod
    def _acceptable(cost: float, n: int, is_context: bool, span: str, term: str) -> bool:
        if cost == 0.0:
            return True
        if is_context:
            return cost <= 0.5
        shared = len(set(span) & set(term))
        # two near syllables (人计费 for 燃气费) only in a longer term that keeps a character
        return n >= 3 and shared >= 1 and (cost <= 0.5 or (cost <= 1.0 and n - shared <= 2))


# Whisper writes a few particles and measure words as another character of the same syllable:
# 谢谢阿 (啊), 该交了把 (吧), 那格 (个). Fixed only where the character written cannot be meant.
_PARTICLE_FIXES = (
    (re.compile(r"把(?=[，。！？、,.!?…~]|$)"), "吧"),  # a clause never ends on 把
    (re.compile(r"(?<=[那这哪])格(?![式子局外调])"), "个"),  # 那格 is 那个 (格式, 格子 stay)
    (re.compile(r"(?<=了)[美每](?=[，。！？、,.!?…~]|$)"), "没"),  # 欠费了美 is 欠费了没 (a question)
)


def _fix_particles(text: str) -> tuple[str, list[Replacement]]:
    """Length-preserving fixes of particles (see :data:`_PARTICLE_FIXES`; a lone 阿 after another
    character, not 阿姨 or 阿拉, is the interjection 啊)."""
    import jieba

    chars = list(text)
    found: list[Replacement] = []
    for pattern, char in _PARTICLE_FIXES:
        for m in pattern.finditer(text):
            found.append(Replacement(m.group(0), char, m.start(), 0.0))
    for run in _RUN.finditer(text):
        pos = run.start()
        for word in jieba.lcut(run.group(0), HMM=False):
            if word == "阿" and pos > run.start():
                found.append(Replacement("阿", "啊", pos, 0.0))
            pos += len(word)
    for rep in found:
        chars[rep.position] = rep.term
    return "".join(chars), found


# Whisper writes a long digit string said digit by digit as a number in 万 and 亿 groups: 13812345678 ->
# 138亿1234万5678. The digits are all there, four to a group: joined again, the phone number is found.
_DIGIT_GROUPS = re.compile(r"(?<![\d.])(\d{1,4})亿(\d{4})万(\d{4})(?![\d.])|(?<![\d.亿])(\d{1,4})万(\d{4})(?![\d.])")


def _join_digit_groups(text: str) -> tuple[str, list[Replacement]]:
    """138亿1234万5678 -> 13812345678, 3万5000 -> 35000 (the same number, as digits); 3万 or 1万20 stay."""
    found: list[Replacement] = []

    def join(m: re.Match) -> str:
        digits = "".join(g for g in m.groups() if g)
        found.append(Replacement(m.group(0), digits, m.start(), 0.0))
        return digits

    return _DIGIT_GROUPS.sub(join, text), found


def sounds_alike(a: str, b: str, max_distance: float = 0.5) -> bool:
    """Whether two transcripts are the same sounds: equal letters and digits, and Chinese characters
    whose toneless pinyin differs by at most ``max_distance`` (确认/却认 yes, 确认/缺乡 no)."""
    def key(text: str) -> tuple[str, str]:
        norm = re.sub(r"[\W_]+", "", text.casefold())
        return "".join(ch for ch in norm if not _RUN.match(ch)), "".join(_RUN.findall(norm))

    (latin_a, han_a), (latin_b, han_b) = key(a), key(b)
    if latin_a != latin_b or len(han_a) != len(han_b):
        return False
    return sum(syllable_distance(x, y) for x, y in zip(pinyin(han_a), pinyin(han_b), strict=False)) <= max_distance


def _word_freq(word: str) -> int:
    import jieba

    jieba.dt.check_initialized()
    return jieba.dt.FREQ.get(word, 0) or 0


def _word_bounds(run: str) -> set[int]:
    import jieba

    bounds, pos = {0}, 0
    for word in jieba.lcut(run, HMM=False):
        pos += len(word)
        bounds.add(pos)
    return bounds


def domain_words(terms: Iterable[str]) -> tuple[str, ...]:
    """The domain's terms and the words they are made of (交 of 帮我交, 一下 of 查一下), which the
    homophone step counts as more probable than jieba's general counts say."""
    import jieba

    terms = sorted(terms)
    words = list(terms)
    for term in terms:
        words += jieba.lcut(term, HMM=False)
    return tuple(dict.fromkeys(w for w in words if _RUN.fullmatch(w)))
