"""The router's bag of n-grams: characters, plus the toneless pinyin of Chinese characters.

Whisper mostly hears the right syllables of a Mandarin sentence and writes the wrong characters (公积金 →
攻击金, 话费 → 花费, 取消 → 去校). Character n-grams see two different words there; the syllable n-grams
(``~gong ~ji ~jin ~gong_ji ~ji_jin``) see the same one, so a transcript with a homophone error still reads
like the lines the router learnt from. English text has no pinyin grams: its features are unchanged.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sklearn.feature_extraction.text import TfidfVectorizer

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CHARS = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)).build_analyzer()
PREFIX = "~"  # a syllable gram never equals a character gram (those are 1-3 characters of the text)


@lru_cache(maxsize=8192)
def syllables(run: str) -> tuple[str, ...]:
    """Toneless pinyin of a run of Chinese characters, one syllable a character (公积金 → gong ji jin)."""
    from pypinyin import lazy_pinyin

    out = tuple(lazy_pinyin(run, errors=lambda chars: ["?"] * len(chars)))
    return out if len(out) == len(run) else ()


def pinyin_grams(text: str) -> list[str]:
    """Syllable unigrams and bigrams of each run of Chinese characters: 交公积金 → ~jiao ~gong ... ~gong_ji."""
    grams: list[str] = []
    for run in _HAN.findall(text):
        syl = syllables(run)
        grams += [PREFIX + s for s in syl]
        grams += [f"{PREFIX}{a}_{b}" for a, b in zip(syl, syl[1:], strict=False)]
    return grams


def sound_grams(text: str) -> list[str]:
    """Character 1-3-grams within word boundaries (as ``TfidfVectorizer(analyzer="char_wb")``) and pinyin grams.
    A module-level function: the fitted vectorizer that calls it is pickled in the router cache."""
    return _CHARS(text) + pinyin_grams(text)
