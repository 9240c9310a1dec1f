"""A character n-gram model of how people word requests to lui, for choosing among Whisper's hypotheses.

Whisper base hears most of a Mandarin request with the right sounds and some wrong characters
(把鲜有多么柔 for 把 "see you tomorrow", 攻击金 for 公积金), and its beam often holds a better
transcript than the one it ranks first. :class:`CharLM` is a small count-based model of the
domain's text (the router's training lines and the lexicon's terms): interpolated absolute
discounting over characters, with sentence start and end. ``per_char`` is its log probability per
character (plus the end), which :mod:`voice.nbest` adds, weighted, to Whisper's own per-token score.

Only Chinese characters, Latin letters and digits count; punctuation and spaces are dropped, so a
hypothesis is not preferred for its commas. A character never seen gets a share of a fixed
vocabulary size, so traditional characters and rare homophones cost more than the usual ones.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

_KEEP = re.compile(r"[\u3400-\u9fffa-z0-9]")
_START, _END = "\x02", "\x03"


def units(text: str) -> list[str]:
    """The characters the model reads: Chinese characters, Latin letters and digits, lower-cased."""
    return [c for c in text.lower() if _KEEP.match(c)]


class CharLM:
    def __init__(self, texts: Iterable[str], order: int = 4, discount: float = 0.75, vocabulary: int = 8000):
        if order < 1 or not 0 < discount < 1:
            raise ValueError("order must be >= 1 and discount in (0, 1)")
        self.order, self.discount, self.vocabulary = order, discount, vocabulary
        self._grams: list[Counter] = [Counter() for _ in range(order + 1)]  # k -> (history..., char) counts
        self._seen: list[Counter] = [Counter() for _ in range(order + 1)]  # k -> history counts
        self._kinds: list[Counter] = [Counter() for _ in range(order + 1)]  # k -> distinct chars after history
        self.lines = 0
        for text in texts:
            chars = units(text)
            if not chars:
                continue
            self.lines += 1
            padded = [_START] * (order - 1) + chars + [_END]
            for i in range(order - 1, len(padded)):
                for k in range(1, order + 1):
                    gram = tuple(padded[i - k + 1:i + 1])
                    if not self._grams[k][gram]:
                        self._kinds[k][gram[:-1]] += 1
                    self._grams[k][gram] += 1
                    self._seen[k][gram[:-1]] += 1

    def _prob(self, history: tuple[str, ...], char: str) -> float:
        p = 1.0 / self.vocabulary
        for k in range(1, self.order + 1):
            h = history[len(history) - k + 1:] if k > 1 else ()
            seen = self._seen[k][h]
            if seen:
                p = (max(self._grams[k][h + (char,)] - self.discount, 0.0)
                     + self.discount * self._kinds[k][h] * p) / seen
        return p

    def logprob(self, text: str) -> float:
        """Natural log probability of the text's characters and its end."""
        padded = [_START] * (self.order - 1) + units(text) + [_END]
        return sum(math.log(self._prob(tuple(padded[i - self.order + 1:i]), padded[i]))
                   for i in range(self.order - 1, len(padded)))

    def per_char(self, text: str) -> float:
        return self.logprob(text) / (len(units(text)) + 1)


def domain_texts(lines: Iterable[str]) -> list[str]:
    """What the model learns: the given Mandarin lines (the router's training lines) and the lexicon's terms
    (bill types, commands, catalogue titles and synonyms)."""
    from voice.lexicon import base_terms

    return [*lines, *base_terms()]
