"""Word error rate for the voice eval: word tokens, spoken-number folding, Levenshtein over words."""

from __future__ import annotations

import re
import unicodedata

_ONES = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"hundred": 100, "thousand": 1000}


def words(text: str) -> list[str]:
    """Lowercase, drop apostrophes ("what's" = "whats"), split on every other punctuation or symbol."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"['’‘`]", "", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    return re.findall(r"\d+(?:\.\d+)?|[^\W_]+", text)


def fold_numbers(tokens: list[str]) -> list[str]:
    """Number words to digits ("two hundred" -> "200"), for the secondary, format-blind WER."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j, total, current, seen = i, 0, 0, False
        while j < len(tokens):
            t = tokens[j]
            if t in _ONES:
                current += _ONES[t]
            elif t in _TENS:
                current += _TENS[t]
            elif t in _SCALES and seen:
                if _SCALES[t] == 100:
                    current *= 100
                else:
                    total, current = (total + current) * 1000, 0
            elif t == "and" and seen and j + 1 < len(tokens) and (tokens[j + 1] in _ONES or tokens[j + 1] in _TENS):
                pass
            else:
                break
            seen = True
            j += 1
        if seen:
            out.append(str(total + current))
            i = j
        else:
            out.append(tokens[i])
            i += 1
    return out


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance over words (substitution, insertion, deletion all cost 1)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def has_cjk(text: str) -> bool:
    return any(unicodedata.east_asian_width(ch) in ("W", "F") for ch in text)


