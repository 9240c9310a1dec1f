"""Whisper's beam, re-ranked by a domain language model (:class:`voice.domain_lm.CharLM`).

faster-whisper keeps only the best of the beam's hypotheses. :class:`RerankingWhisper` stands in for
its CTranslate2 model: inside ``with model.reranking(lm, weight):`` (per thread, like the encoder
window) a beam search returns every hypothesis of the beam (CTranslate2's ``num_hypotheses``; the
search itself is the same), ordered by Whisper's score (log probability per token) plus ``weight``
times the language model's log probability per character. faster-whisper then reads the first one as
its transcript; its fallback rules judge the beam by Whisper's best score (average log probability)
and the chosen text (compression ratio).
Sampling at a higher temperature, and every call outside the block, pass through unchanged.
Inside ``with model.keeping_beams() as beams:`` the beam's hypotheses are also kept beside the transcript
(with Whisper's scores), for a caller that weighs Whisper's other readings (a yes ranked just under 切认).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_DIGIT = "0-9零〇二两三四五六七八九十百千万亿"
# 一 is in too many words (一下, 一点, 一个) to count on its own; beside another numeral (一百, 十一, 1一) or
# before a unit of money (一块, 一元) it is part of a number
_NUMERALS = re.compile(rf"[{_DIGIT}]|一(?=[{_DIGIT}块元角毛])|(?<=[{_DIGIT}])一")
# the same character three times or more in a row (转转转转): Whisper's looping failure, which a model of
# wording can favour (its probability per character grows with each repeat)
_LOOP = re.compile(r"(.)\1\1")


def numerals(text: str) -> str:
    """The digits and Chinese numerals of a text, in order: what re-ranking may not change."""
    return "".join(_NUMERALS.findall(text))


def _loops(text: str) -> int:
    return len(_LOOP.findall(re.sub(r"\s+", "", text)))


def eligible(text: str, first: str) -> bool:
    """Whether re-ranking may put ``text`` before Whisper's ``first``: the same numbers, no new loop."""
    return numerals(text) == numerals(first) and _loops(text) <= _loops(first)


@dataclass(frozen=True)
class Reranked:
    """The fields of CTranslate2's ``WhisperGenerationResult`` that faster-whisper reads, reordered."""

    sequences: list[list[str]]
    sequences_ids: list[list[int]]
    scores: list[float]
    no_speech_prob: float


class RerankingWhisper:
    """A CTranslate2 ``Whisper`` whose beam search can be re-ranked (see the module)."""

    def __init__(self, inner: Any, decode: Callable[[list[int]], str]):
        self._inner = inner
        self._decode = decode  # token ids -> text
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @contextmanager
    def keeping_beams(self) -> Iterator[list[list[tuple[str, float]] | None]]:
        """Inside the block (this thread), every beam search's hypotheses are appended to the list given,
        as (text, Whisper's score) in the order they come back (Whisper's first first); a sampling pass
        (faster-whisper's fallback at a higher temperature) appends None. The transcript is unchanged."""
        previous = getattr(self._local, "beams", None)
        self._local.beams = beams = []
        try:
            yield beams
        finally:
            self._local.beams = previous

    @contextmanager
    def reranking(self, lm: Any, weight: float) -> Iterator[None]:
        previous = getattr(self._local, "ranker", None)
        self._local.ranker = (lm, weight) if lm is not None and weight > 0 else None
        try:
            yield
        finally:
            self._local.ranker = previous

    def generate(self, features: Any, prompts: Any, **options: Any) -> list[Any]:
        ranker = getattr(self._local, "ranker", None)
        beams = getattr(self._local, "beams", None)
        beam = options.get("beam_size", 1)
        if beam < 2 or "sampling_temperature" in options:
            if beams is not None:
                beams.append(None)
            return self._inner.generate(features, prompts, **options)
        if ranker is None and beams is None:
            return self._inner.generate(features, prompts, **options)
        options = options | {"num_hypotheses": beam, "return_scores": True}
        results = self._inner.generate(features, prompts, **options)
        if beams is not None:
            beams.extend([list(zip(map(self._decode, r.sequences_ids), r.scores, strict=True)) for r in results])
        return [self._rerank(result, *ranker) if ranker else result for result in results]

    def _rerank(self, result: Any, lm: Any, weight: float) -> Reranked:
        texts = [self._decode(ids) for ids in result.sequences_ids]
        # a model of wording never changes a number (an amount, a phone or account number) nor makes a
        # character repeat: hypotheses that would keep their places after Whisper's first
        same = [eligible(t, texts[0]) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: (
            not same[i], -(result.scores[i] + weight * lm.per_char(texts[i])) if same[i] else i))
        # faster-whisper judges the decode by scores[0] (too unsure: sample again at a higher temperature).
        # That is the beam's best score: the model only chooses among hypotheses of a beam Whisper trusts,
        # and a choice Whisper ranked lower is not sent back to sampling for being lower.
        scores = [max(result.scores), *(result.scores[i] for i in order[1:])]
        return Reranked([result.sequences[i] for i in order], [result.sequences_ids[i] for i in order],
                        scores, getattr(result, "no_speech_prob", 0.0))
