"""The local intent router: sentence embeddings + character n-grams → a linear classifier.

It answers the common cases in about a millisecond with no network. ``out_of_scope`` is a class
of its own (trained on hard negatives) *and* the answer whenever the best in-scope probability
falls under a threshold calibrated on out-of-fold predictions of the training set (the only
calibration split; the dev set is never looked at).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from assistant.nlu.bill_types import parse_bill_type
from assistant.nlu.data import Example
from assistant.nlu.fast import LinearScorer, TurnMemoEmbedder
from assistant.nlu.intents import spec
from assistant.nlu.slots import extract_slots
from assistant.nlu.text import detect_lang, normalise_text
from assistant.nlu.types import OUT_OF_SCOPE, Context, Understanding
from assistant.nlu.unsupported_bills import has_pay_word, unsupported_bill_request
from knowledge.embedders import Embedder

log = logging.getLogger(__name__)

ROUTER_VERSION = 1  # bump when features change, so cached routers are rebuilt
REPLY_ACTS = ("confirm", "deny", "cancel")
C_GRID = (4.0, 16.0)
DENSE_WEIGHT_GRID = (1.0, 2.0)


@dataclass(frozen=True)
class RouterConfig:
    c: float
    dense_weight: float
    oos_threshold: float
    context_boost: float = 4.0
    cv_accuracy: float = 0.0  # out-of-fold accuracy on the training set, for the record


@dataclass
class _Model:
    vectorizer: TfidfVectorizer
    classifier: LogisticRegression
    config: RouterConfig


class IntentRouter:
    """Maps an utterance (plus dialogue context) to an intent, a confidence and slots."""

    def __init__(self, embedder: Embedder, model: _Model):
        self.embedder = embedder
        self._model = model
        self.labels: tuple[str, ...] = tuple(str(c) for c in model.classifier.classes_)
        self._scorer = LinearScorer.build(model.vectorizer, model.classifier, model.config.dense_weight)

    @property
    def config(self) -> RouterConfig:
        return self._model.config

    # --- training -------------------------------------------------------------------------
    @staticmethod
    def out_of_fold(
        examples: Sequence[Example], embedder: Embedder, *, folds: int = 5
    ) -> tuple[np.ndarray, RouterConfig, tuple[str, ...]]:
        """Class probabilities of each training example from a router that never saw it (k-fold),
        for the best grid point, with the config (and OOS threshold) chosen on them and the labels."""
        texts = [normalise_text(e.text) for e in examples]
        labels = np.array([e.intent for e in examples])
        dense = embedder.encode(texts)
        best: tuple[float, float, float, np.ndarray] | None = None
        for c in C_GRID:
            for weight in DENSE_WEIGHT_GRID:
                oof = _out_of_fold_probs(texts, dense, labels, c, weight, folds)
                accuracy = float(np.mean(_classes(labels)[oof.argmax(1)] == labels))
                if best is None or accuracy > best[0]:
                    best = (accuracy, c, weight, oof)
        assert best is not None
        accuracy, c, weight, oof = best
        threshold = _calibrate_oos_threshold(oof, labels)
        config = RouterConfig(c=c, dense_weight=weight, oos_threshold=threshold, cv_accuracy=accuracy)
        return oof, config, tuple(str(label) for label in _classes(labels))

    @classmethod
    def train(cls, examples: Sequence[Example], embedder: Embedder, *, folds: int = 5) -> IntentRouter:
        _, config, _ = cls.out_of_fold(examples, embedder, folds=folds)
        texts = [normalise_text(e.text) for e in examples]
        dense = embedder.encode(texts)
        vectorizer, classifier = _fit(texts, dense, np.array([e.intent for e in examples]), config.c,
                                      config.dense_weight)
        log.info("router trained on %d examples: %s", len(texts), config)
        return cls(embedder, _Model(vectorizer, classifier, config))

    @classmethod
    def load_or_train(
        cls, examples: Sequence[Example], embedder: Embedder, cache_dir: Path | None
    ) -> IntentRouter:
        """Train, or reuse a router trained earlier on exactly these examples with this embedder."""
        if cache_dir is None:
            return cls.train(examples, embedder)
        key = hashlib.sha256(
            repr((ROUTER_VERSION, _code_hash(), embedder.name, [(e.text, e.intent) for e in examples])).encode()
        ).hexdigest()[:16]
        path = Path(cache_dir) / f"router-{key}.pkl"
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    return cls(embedder, pickle.load(handle))
            except Exception:  # a stale or broken cache is rebuilt, never fatal
                log.warning("ignoring unreadable router cache %s", path)
        router = cls.train(examples, embedder)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            pickle.dump(router._model, handle)
        tmp.replace(path)
        return router

    # --- inference ------------------------------------------------------------------------
    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        normalised = [normalise_text(t) for t in texts]
        dense = self.embedder.encode(normalised)
        if self._scorer is not None:  # numpy, row by row: the same numbers as predict_proba, faster
            return np.stack([self._scorer.scores(t, d) for t, d in zip(normalised, dense, strict=True)])
        return self.sklearn_probabilities(normalised, dense)

    def sklearn_probabilities(self, normalised: Sequence[str], dense: np.ndarray) -> np.ndarray:
        """The classifier's own ``predict_proba`` (the reference the numpy scorer is tested against)."""
        features = _features(self._model.vectorizer, normalised, dense, self.config.dense_weight)
        return self._model.classifier.predict_proba(features)

    def understand(self, text: str, context: Context | None = None, lang: str | None = None) -> Understanding:
        return self.decide(text, self.probabilities([text])[0], context, lang)

    def understand_many(self, texts: Sequence[str], context: Context | None = None) -> list[Understanding]:
        probs = self.probabilities(texts) if texts else []
        return [self.decide(t, p, context) for t, p in zip(texts, probs, strict=True)]

    def decide(
        self, text: str, probs: np.ndarray, context: Context | None = None, lang: str | None = None
    ) -> Understanding:
        """Turn class probabilities into one decision, applying context and the OOS threshold."""
        probs = np.asarray(probs, dtype=np.float64).copy()
        if context is not None and context.awaiting_confirmation:
            for act in REPLY_ACTS:
                if act in self.labels:
                    probs[self.labels.index(act)] *= self.config.context_boost
            probs /= probs.sum()
        order = np.argsort(-probs)
        intent, confidence = self.labels[order[0]], float(probs[order[0]])
        if intent != OUT_OF_SCOPE and confidence < self.config.oos_threshold and not named_payment(text, intent):
            intent = OUT_OF_SCOPE
            confidence = 1.0 - confidence
        intent = relabel(text, intent)
        slots = extract_slots(text, intent) if intent != OUT_OF_SCOPE else {}
        if (found := spec(intent)) is not None and found.query_from_text:
            slots["query"] = text.strip()
        alternatives = tuple((self.labels[i], round(float(probs[i]), 4)) for i in order[:3])
        return Understanding(
            intent=intent,
            confidence=round(confidence, 4),
            slots=slots,
            source="router",
            lang=lang or detect_lang(text),  # type: ignore[arg-type]
            alternatives=alternatives,
        )


def named_payment(text: str, intent: str) -> bool:
    """A payment reading that names a bill lui pays and a word for paying ("咋交电费嘞", "my son normally
    pays the gas, can you"): kept under the out-of-scope threshold, the parsers vouch for it."""
    return intent == "pay_bill" and parse_bill_type(text) is not None and has_pay_word(text)


def relabel(text: str, intent: str) -> str:
    """Parser rules over the classifier's label. A payment of a bill lui does not pay (rent, a car loan,
    a subscription, insurance, a credit card: "帮我交房租", "renew my Spotify premium") and no bill it
    does pay is ``out_of_scope`` (evals/data/ANNOTATION.md); the dialogue then names the bills it pays."""
    if intent == "pay_bill" and parse_bill_type(text) is None and unsupported_bill_request(text) is not None:
        return OUT_OF_SCOPE
    return intent


# --- helpers ---------------------------------------------------------------------------------
def _classes(labels: np.ndarray) -> np.ndarray:
    return np.unique(labels)


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=1, sublinear_tf=True)


def _features(vectorizer: TfidfVectorizer, texts, dense: np.ndarray, weight: float):
    return sparse.hstack([vectorizer.transform(texts), sparse.csr_matrix(dense * weight)]).tocsr()


def _fit(texts, dense, labels, c: float, weight: float) -> tuple[TfidfVectorizer, LogisticRegression]:
    vectorizer = _vectorizer().fit(texts)
    classifier = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    classifier.fit(_features(vectorizer, texts, dense, weight), labels)
    return vectorizer, classifier


def _out_of_fold_probs(texts, dense, labels, c, weight, folds) -> np.ndarray:
    classes = _classes(labels)
    oof = np.zeros((len(texts), len(classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    texts_arr = np.array(texts, dtype=object)
    for train_idx, test_idx in splitter.split(texts_arr, labels):
        vectorizer, classifier = _fit(list(texts_arr[train_idx]), dense[train_idx], labels[train_idx], c, weight)
        probs = classifier.predict_proba(_features(vectorizer, list(texts_arr[test_idx]), dense[test_idx], weight))
        oof[np.ix_(test_idx, np.searchsorted(classes, classifier.classes_))] = probs
    return oof


def _calibrate_oos_threshold(oof: np.ndarray, labels: np.ndarray) -> float:
    """The threshold under which a reading becomes out_of_scope, from out-of-fold readings.

    The score is the mean of in-scope accuracy and out-of-scope recall. It is nearly flat over a wide
    range (its standard error on ~1,800 lines is about 0.01), so taking its maximum would follow noise
    and can turn many right in-scope answers away for a gain within that error. One-standard-error
    rule: the lowest threshold whose score is within one standard error of the best."""
    classes = _classes(labels)
    in_scope = labels != OUT_OF_SCOPE
    grid = np.round(np.arange(0.0, 0.71, 0.02), 2)
    top, confidence = classes[oof.argmax(1)].astype(object), oof.max(1)
    scores, errors = [], []
    for t in grid:
        pred = top.copy()
        pred[confidence < t] = OUT_OF_SCOPE
        correct = pred == labels
        acc_in = correct[in_scope].mean()
        recall = correct[~in_scope].mean() if (~in_scope).any() else 1.0
        scores.append(0.5 * acc_in + 0.5 * recall)
        var = acc_in * (1 - acc_in) / max(in_scope.sum(), 1) + recall * (1 - recall) / max((~in_scope).sum(), 1)
        errors.append(0.5 * float(np.sqrt(var)))
    best = int(np.argmax(scores))
    floor = scores[best] - errors[best]
    return float(next(t for t, score in zip(grid, scores, strict=True) if score >= floor - 1e-12))


def _code_hash() -> str:
    """The router's own code and text normalisation: an edit there retrains the cached router."""
    from assistant.nlu import text

    blob = b"".join(Path(f).read_bytes() for f in (__file__, text.__file__))
    return hashlib.sha256(blob).hexdigest()[:12]


def build_router(settings) -> IntentRouter:
    """The router the app runs: embedder and training data from ``Settings``, cached in data_dir."""
    from assistant.nlu.data import load_training_examples
    from knowledge.embedders import make_embedder

    examples = load_training_examples(settings.router_train_path)
    # within one turn, the same text is embedded once (the router, then service lookup): fast.py
    embedder = TurnMemoEmbedder(make_embedder(settings.embedder, threads=settings.embedder_threads))
    cache = settings.cache_dir if settings.router_cache else None
    return IntentRouter.load_or_train(examples, embedder, cache)
