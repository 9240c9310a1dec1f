"""The hot path of a text turn, kept out of the sklearn and embedder call overhead.

- :class:`LinearScorer`: the router's fitted tf-idf + logistic regression as plain numpy, with the
  same probabilities as ``predict_proba`` (tests/nlu/test_router_fast.py holds it to 1e-9).
- :class:`TurnMemoEmbedder`: an embedder that remembers the texts it embedded *during the current
  turn* only (the router embeds the utterance; service lookup then embeds the same query again).
  The memo lives in a context variable that each turn starts afresh (:func:`start_turn_memo`), so
  nothing is reused from one turn to the next.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from knowledge.embedders import Embedder

MEMO_MAX = 8  # texts remembered per turn (a turn embeds one or two)
_TURN_MEMO: contextvars.ContextVar[dict[str, np.ndarray] | None] = contextvars.ContextVar("lui_turn_memo",
                                                                                          default=None)


def start_turn_memo() -> None:
    """A new, empty memo for the turn running in this context (and the pool jobs it starts)."""
    _TURN_MEMO.set({})


class LinearScorer:
    """The fitted vectorizer + classifier's ``predict_proba`` in plain numpy, one text at a time.

    Same numbers as sklearn (tf-idf of the character n-grams, the weighted embedding, then the
    multinomial softmax over ``coef_ @ x + intercept_``) without its per-call input validation,
    sparse-matrix construction and config look-ups, which cost more than the arithmetic for one
    short utterance. ``None`` from :meth:`build` when the fitted model is of a kind it does not cover.
    """

    def __init__(self, vectorizer: TfidfVectorizer, classifier: LogisticRegression, weight: float):
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear, self.binary, self.l2 = vectorizer.sublinear_tf, vectorizer.binary, vectorizer.norm == "l2"
        coef = np.asarray(classifier.coef_, dtype=np.float64)
        n_vocab = len(self.idf)
        self.coef_ngrams = np.ascontiguousarray(coef[:, :n_vocab].T)  # (n-grams, classes): rows gathered
        self.coef_dense = np.ascontiguousarray(coef[:, n_vocab:].T)  # (embedding, classes)
        self.intercept = np.asarray(classifier.intercept_, dtype=np.float64)
        self.weight = weight

    @classmethod
    def build(cls, vectorizer: TfidfVectorizer, classifier: LogisticRegression, weight: float) -> LinearScorer | None:
        covered = (len(classifier.classes_) > 2 and getattr(vectorizer, "use_idf", False)
                   and vectorizer.norm in ("l2", None) and getattr(classifier, "multi_class", None) != "ovr")
        return cls(vectorizer, classifier, weight) if covered else None

    def scores(self, text: str, dense: np.ndarray) -> np.ndarray:
        counts: dict[int, int] = {}
        vocabulary = self.vocabulary
        for gram in self.analyze(text):
            index = vocabulary.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        # weighted in the embedder's own dtype first, as the sparse features sklearn sees are
        decision = np.asarray(dense * self.weight, dtype=np.float64) @ self.coef_dense + self.intercept
        if counts:
            columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if self.binary:
                tf.fill(1.0)
            if self.sublinear:
                np.log(tf, out=tf)
                tf += 1.0
            tf *= self.idf[columns]
            if self.l2:
                norm = np.sqrt(np.dot(tf, tf))
                if norm > 0:
                    tf /= norm
            decision = decision + tf @ self.coef_ngrams[columns]
        decision = decision - decision.max()
        np.exp(decision, out=decision)
        return decision / decision.sum()


class TurnMemoEmbedder(Embedder):
    """Wraps an embedder; within a turn (see :func:`start_turn_memo`) a text already embedded is
    not embedded again. Outside a turn it simply delegates."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        memo = _TURN_MEMO.get()
        if memo is None or not texts:
            return self.inner.encode(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in memo]
        if len(memo) + len(missing) > MEMO_MAX:  # a turn that embeds many texts: no memo for those
            return self.inner.encode(texts)
        if missing:
            memo.update(zip(missing, self.inner.encode(missing), strict=True))
        return np.stack([memo[t] for t in texts])

    def __getattr__(self, name: str):  # the wrapped embedder's other attributes (its model, ...)
        return getattr(self.inner, name)
