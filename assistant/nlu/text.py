"""Text normalisation and per-utterance language detection."""

from __future__ import annotations

import re
import unicodedata

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFKC (full-width → half-width), casefold, collapse white space."""
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", text).strip().casefold()


def detect_lang(text: str, default: str = "zh") -> str:
    """``zh`` when the sentence frame is Chinese, else ``en``.

    Code-switched input ("帮我 check 一下 balance") counts as Chinese as soon as it carries a few
    Chinese characters; a Chinese name or term inside English ("how do I use 医保") stays English.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if cjk == 0 and latin == 0:
        return default
    if cjk == 0:
        return "en"
    if latin == 0:
        return "zh"
    # both scripts: each Chinese character is roughly a word
    return "zh" if cjk >= 2 and cjk * 1.0 >= latin * 0.8 else "en"
