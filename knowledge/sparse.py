"""A lexical sparse encoder for Chinese and English that needs no model.

Text is NFKC-normalised and lowercased, then cut into runs of Han characters and runs of Latin
letters/digits:

* Han runs give character unigrams and bigrams (Chinese has no spaces; bigrams approximate words,
  unigrams survive typos such as 点费 for 电费 and odd word splits).
* Latin runs give word tokens with a light plural/possessive stemmer, plus character trigrams of
  each longer word (``#elec``, ``ele``, ... ) so that misspellings ("electrisity", "pasword") still
  share most features with the right word.

Features are hashed into a fixed index space with ``zlib.crc32`` (stable across processes, unlike
``hash()``) and weighted by a saturating term frequency, BM25-style. Inverse document frequency is
left to the vector store (Qdrant's ``Modifier.IDF`` on the sparse vector), so the encoder holds no
corpus statistics and a document's vector never changes when other documents do.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:'[a-z]+)?")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Function words that carry no service meaning; many appear in queries far more than in documents,
# which would give them a high IDF and let them decide a match.
EN_STOPWORDS = frozenset("""
a an the and or but if of to in on at by for from with into onto about as is are was were be been
being am do does did done have has had having i me my mine myself we our us you your yours he him his
she her hers it its they them their this that these those there here what which who whom whose when
where why how can could would should will shall may might must not no so too very just also please
want wanted need needs like get got some any all one ones then than up down out off over again now
let lets im i'm i'd i've id ive it's its dont don't
""".split())
ZH_STOPCHARS = frozenset("的了吗呢啊吧呀么嘛哦我你您他她它们是在有个这那怎哪啥咋能要想把给帮一下就都也还很吧")


@dataclass(frozen=True)
class SparseVec:
    indices: tuple[int, ...]
    values: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.indices)

    def as_dict(self) -> dict[int, float]:
        return dict(zip(self.indices, self.values, strict=True))


def normalise_text(text: str) -> str:
    """NFKC (full-width → half-width), lowercase, typographic quotes folded."""
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("’", "'").replace("‘", "'")


def stem(word: str) -> str:
    """A deliberately tiny English stemmer: possessives and plurals only."""
    if word.endswith("'s"):
        word = word[:-2]
    word = word.replace("'", "")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class SparseEncoder:
    """Text → (hashed feature index, weight) pairs; identical results in every process."""

    def __init__(self, *, dim_bits: int = 22, trigram_weight: float = 0.5, min_trigram_word: int = 4,
                 han_unigram_weight: float = 0.5, k1: float = 1.2):
        self.dim_bits = dim_bits
        self.trigram_weight = trigram_weight
        self.min_trigram_word = min_trigram_word
        self.han_unigram_weight = han_unigram_weight
        self.k1 = k1
        self._mask = (1 << dim_bits) - 1

    @property
    def name(self) -> str:
        return (f"lex-v1(bits={self.dim_bits},tri={self.trigram_weight},uni={self.han_unigram_weight},"
                f"k1={self.k1})")

    def features(self, text: str, *, trigrams: bool = True) -> list[tuple[str, float]]:
        """The weighted features of a text, before hashing (handy for tests and debugging)."""
        out: list[tuple[str, float]] = []
        for run in _RUN.findall(normalise_text(text)):
            if _HAN.match(run):
                out.extend(self._han(run))
            else:
                out.extend(self._latin(run, trigrams))
        return out

    def _han(self, run: str) -> Iterable[tuple[str, float]]:
        for ch in run:
            if ch not in ZH_STOPCHARS:
                yield "h1:" + ch, self.han_unigram_weight
        for a, b in zip(run, run[1:], strict=False):
            if not (a in ZH_STOPCHARS and b in ZH_STOPCHARS):
                yield "h2:" + a + b, 1.0

    def _latin(self, word: str, trigrams: bool = True) -> Iterable[tuple[str, float]]:
        if word in EN_STOPWORDS:
            return
        word = stem(word)
        if not word:
            return
        yield "w:" + word, 1.0
        if trigrams and self.trigram_weight > 0 and len(word) >= self.min_trigram_word and not word.isdigit():
            padded = f"#{word}#"
            grams = [padded[i:i + 3] for i in range(len(padded) - 2)]
            for gram in grams:  # a query's trigrams of one word together weigh ``trigram_weight``
                yield "t:" + gram, self.trigram_weight / len(grams)

    def _hashed(self, fields: Sequence[tuple[str, float, bool]]) -> tuple[dict[int, float], dict[int, float]]:
        counts: dict[int, float] = defaultdict(float)
        weights: dict[int, float] = {}
        for text, boost, trigrams in fields:
            for feature, weight in self.features(text, trigrams=trigrams):
                index = zlib.crc32(feature.encode("utf-8")) & self._mask
                counts[index] += boost
                weights[index] = max(weights.get(index, 0.0), weight)
        return counts, weights

    def _saturate(self, tf: float) -> float:
        return tf * (self.k1 + 1) / (tf + self.k1)

    def encode_doc(self, fields: Sequence[tuple[str, float, bool]]) -> SparseVec:
        """A document: several ``(text, boost, with_trigrams)`` fields as one vector (a title may
        count more; long procedural fields may skip trigrams to keep the vector short).

        Document weights are saturated term frequencies; feature-type weights are applied on the
        query side only, so a feature's contribution to a score is not squared.
        """
        counts, _ = self._hashed(fields)
        return _vec({i: self._saturate(c) for i, c in counts.items() if c > 0})

    def encode_query(self, text: str) -> SparseVec:
        """A query: each feature weighted by its type (trigrams and Han unigrams count less)."""
        counts, weights = self._hashed([(text, 1.0, True)])
        return _vec({i: weights[i] * self._saturate(c) for i, c in counts.items() if c > 0})


def _vec(weights: dict[int, float]) -> SparseVec:
    items = sorted((i, round(w, 6)) for i, w in weights.items() if w > 0)
    return SparseVec(tuple(i for i, _ in items), tuple(v for _, v in items))

