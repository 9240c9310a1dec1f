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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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
from assistant.nlu.sound_grams import pinyin_grams
from assistant.nlu.text import detect_lang, normalise_text
from assistant.nlu.types import OUT_OF_SCOPE, Context, Understanding
from assistant.nlu.unsupported_bills import has_pay_word, unsupported_bill_request
from knowledge.embedders import Embedder

log = logging.getLogger(__name__)

# bump when features change, so cached routers are rebuilt (2: the e5 second stage; 3: the analyzer switch)
ROUTER_VERSION = 3
# the n-grams of the bag: "char_wb", characters 1-3 within word boundaries. sound_grams (sound_grams.py) adds
# the toneless pinyin of Chinese characters (攻击金 reads like 公积金); measured on the training side it did not
# move intent from audio and left typed text flat (README, Mandarin voice), so it is an option for
# evals.voice_zh_intent --pinyin, not the default
ANALYZER: str | Callable[[str], list[str]] = "char_wb"
REPLY_ACTS = ("confirm", "deny", "cancel")
C_GRID = (4.0, 16.0)
DENSE_WEIGHT_GRID = (1.0, 2.0)
# the second stage: (C, weight of the first embedding, weight of the second), chosen by evals/select_router.py
SECOND_GRID = ((16.0, 1.0, 2.0),)
# a cap on the share of out-of-fold readings sent to the second stage (e5 costs ~8-13 ms a turn). None: with a
# cap of 3-5% the one-standard-error rule keeps τ at 0 on every held-out source (evals/select_router.py --chosen),
# i.e. no gain at all; uncapped τ sends 5-10% of new wording to e5 (README)
MAX_SECOND_SHARE: float | None = None


@dataclass(frozen=True)
class RouterConfig:
    c: float
    dense_weight: float
    oos_threshold: float
    context_boost: float = 4.0
    cv_accuracy: float = 0.0  # out-of-fold accuracy on the training set, for the record
    second_weight: float = 0.0  # a second stage's weight of the second embedding (dense_weight: the first's)
    escalate_below: float = 0.0  # the first stage's: under this top probability the second stage decides


@dataclass
class _Model:
    vectorizer: TfidfVectorizer
    classifier: LogisticRegression
    config: RouterConfig
    second: _Model | None = None  # the two-stage router's second stage (the first's embedding + another)


class IntentRouter:
    """Maps an utterance (plus dialogue context) to an intent, a confidence and slots.

    One stage: the embedder's vector and character n-grams → logistic regression. Two stages (when
    trained with a ``second_embedder``): that first stage answers when its top probability is at least
    ``config.escalate_below``; under it, a second classifier that also sees the second embedder's vector
    (multilingual e5, slower and better on wording never seen) decides, with its own OOS threshold.
    """

    def __init__(self, embedder: Embedder, model: _Model, second_embedder: Embedder | None = None):
        self.embedder = embedder
        self._model = model
        self.labels: tuple[str, ...] = tuple(str(c) for c in model.classifier.classes_)
        self._scorer = LinearScorer.build(model.vectorizer, model.classifier, model.config.dense_weight)
        pinyin_grams("预热")  # pypinyin (the voice corrector's, and sound_grams') loads its dictionaries on first
        # use (~0.5 s): here, not in a user's first Chinese voice turn
        # the second stage runs only with its embedder (a router loaded without it is the first stage alone)
        self.second_embedder = second_embedder if model.second is not None else None
        self._second_scorer = None
        if self.second_embedder is not None:
            second = model.second
            assert tuple(str(c) for c in second.classifier.classes_) == self.labels
            self._second_scorer = LinearScorer.build(second.vectorizer, second.classifier, second.config.dense_weight)

    @property
    def config(self) -> RouterConfig:
        return self._model.config

    @property
    def second_config(self) -> RouterConfig | None:
        return self._model.second.config if self.second_embedder is not None else None

    # --- training -------------------------------------------------------------------------
    @staticmethod
    def out_of_fold(
        examples: Sequence[Example], embedder: Embedder, *, folds: int = 5
    ) -> tuple[np.ndarray, RouterConfig, tuple[str, ...]]:
        """Class probabilities of each training example from a router that never saw it (k-fold),
        for the best grid point, with the config (and OOS threshold) chosen on them and the labels."""
        texts = [normalise_text(e.text) for e in examples]
        labels = np.array([e.intent for e in examples])
        oof, config = _search(texts, labels, [embedder.encode(texts)], _first_grid(), folds)
        return oof, config, tuple(str(label) for label in _classes(labels))

    @classmethod
    def train(cls, examples: Sequence[Example], embedder: Embedder, *, folds: int = 5,
              second_embedder: Embedder | None = None) -> IntentRouter:
        texts = [normalise_text(e.text) for e in examples]
        labels = np.array([e.intent for e in examples])
        first = embedder.encode(texts)
        oof, config = _search(texts, labels, [first], _first_grid(), folds)
        second = None
        if second_embedder is not None:
            blocks = [first, second_embedder.encode(texts)]
            second_oof, second_config = _search(texts, labels, blocks, SECOND_GRID, folds)
            tau = choose_cascade_threshold(oof, config.oos_threshold, second_oof, second_config.oos_threshold, labels,
                                           MAX_SECOND_SHARE)
            config = replace(config, escalate_below=tau)
            second = _fit_model(texts, labels, blocks, second_config)
            log.info("router second stage (%s): %s", second_embedder.name, second_config)
        model = _fit_model(texts, labels, [first], config)
        model.second = second
        log.info("router trained on %d examples: %s", len(texts), config)
        return cls(embedder, model, second_embedder)

    @classmethod
    def load_or_train(
        cls, examples: Sequence[Example], embedder: Embedder, cache_dir: Path | None,
        second_embedder: Embedder | None = None,
    ) -> IntentRouter:
        """Train, or reuse a router trained earlier on exactly these examples with these embedders."""
        if cache_dir is None:
            return cls.train(examples, embedder, second_embedder=second_embedder)
        names = (embedder.name, second_embedder.name if second_embedder is not None else None)
        key = hashlib.sha256(
            repr((ROUTER_VERSION, _code_hash(), names, [(e.text, e.intent) for e in examples])).encode()
        ).hexdigest()[:16]
        path = Path(cache_dir) / f"router-{key}.pkl"
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    return cls(embedder, pickle.load(handle), second_embedder)
            except Exception:  # a stale or broken cache is rebuilt, never fatal
                log.warning("ignoring unreadable router cache %s", path)
        router = cls.train(examples, embedder, second_embedder=second_embedder)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            pickle.dump(router._model, handle)
        tmp.replace(path)
        return router

    # --- inference ------------------------------------------------------------------------
    def readings(self, texts: Sequence[str]) -> list[tuple[np.ndarray, RouterConfig]]:
        """Class probabilities of each text, with the config of the stage that read it (its OOS threshold)."""
        normalised = [normalise_text(t) for t in texts]
        dense = self.embedder.encode(normalised)
        probs = self._scores(self._model, self._scorer, normalised, dense)
        out = [(p, self.config) for p in probs]
        if self.second_embedder is not None:
            under = [i for i, p in enumerate(probs) if p.max() < self.config.escalate_below]
            if under:
                second = self._model.second
                extra = self.second_embedder.encode([normalised[i] for i in under])
                stacked = _stack([dense[under], extra], second.config)
                second_probs = self._scores(second, self._second_scorer, [normalised[i] for i in under], stacked)
                for i, p in zip(under, second_probs, strict=True):
                    out[i] = (p, second.config)
        return out

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([p for p, _ in self.readings(texts)]) if texts else np.zeros((0, len(self.labels)))

    def _scores(self, model: _Model, scorer: LinearScorer | None, normalised: Sequence[str], dense) -> np.ndarray:
        if scorer is not None:  # numpy, row by row: the same numbers as predict_proba, faster
            return np.stack([scorer.scores(t, d) for t, d in zip(normalised, dense, strict=True)])
        return _sklearn_probabilities(model, normalised, dense)

    def sklearn_probabilities(self, normalised: Sequence[str], dense: np.ndarray) -> np.ndarray:
        """The classifier's own ``predict_proba`` (the reference the numpy scorer is tested against)."""
        return _sklearn_probabilities(self._model, normalised, dense)

    def understand(self, text: str, context: Context | None = None, lang: str | None = None) -> Understanding:
        probs, config = self.readings([text])[0]
        return self.decide(text, probs, context, lang, config=config)

    def understand_many(self, texts: Sequence[str], context: Context | None = None) -> list[Understanding]:
        readings = self.readings(texts) if texts else []
        return [self.decide(t, p, context, config=c) for t, (p, c) in zip(texts, readings, strict=True)]

    def decide(
        self, text: str, probs: np.ndarray, context: Context | None = None, lang: str | None = None,
        *, config: RouterConfig | None = None,
    ) -> Understanding:
        """Turn class probabilities into one decision, applying context and the OOS threshold (of
        ``config``, the stage that read them; default the first)."""
        config = config or self.config
        probs = np.asarray(probs, dtype=np.float64).copy()
        if context is not None and context.awaiting_confirmation:
            for act in REPLY_ACTS:
                if act in self.labels:
                    probs[self.labels.index(act)] *= config.context_boost
            probs /= probs.sum()
        order = np.argsort(-probs)
        intent, confidence = self.labels[order[0]], float(probs[order[0]])
        if intent != OUT_OF_SCOPE and confidence < config.oos_threshold and not named_payment(text, intent):
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
    if ANALYZER == "char_wb":
        return TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=1, sublinear_tf=True)
    return TfidfVectorizer(analyzer=ANALYZER, min_df=1, sublinear_tf=True)


def _features(vectorizer: TfidfVectorizer, texts, dense: np.ndarray, weight: float):
    return sparse.hstack([vectorizer.transform(texts), sparse.csr_matrix(dense * weight)]).tocsr()


def _fit(texts, dense, labels, c: float, weight: float) -> tuple[TfidfVectorizer, LogisticRegression]:
    vectorizer = _vectorizer().fit(texts)
    classifier = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    classifier.fit(_features(vectorizer, texts, dense, weight), labels)
    return vectorizer, classifier


def _first_grid() -> list[tuple[float, ...]]:
    return [(c, weight) for c in C_GRID for weight in DENSE_WEIGHT_GRID]


def _stack(blocks: Sequence[np.ndarray], config: RouterConfig) -> np.ndarray:
    """The dense features of a stage before its ``dense_weight``: the first embedding, then (a second
    stage) the second one scaled so that it ends up weighted ``second_weight``."""
    if len(blocks) == 1:
        return blocks[0]
    first, second = blocks
    return np.hstack([first, second * np.float32(config.second_weight / config.dense_weight)])


def _config(point: tuple[float, ...], threshold: float, accuracy: float) -> RouterConfig:
    c, weight, *second = point
    return RouterConfig(c=c, dense_weight=weight, oos_threshold=threshold, cv_accuracy=accuracy,
                        second_weight=second[0] if second else 0.0)


def _search(texts, labels, blocks, grid, folds) -> tuple[np.ndarray, RouterConfig]:
    """The grid point (C, weights) with the best out-of-fold accuracy, its readings and config."""
    best: tuple[float, tuple[float, ...], np.ndarray] | None = None
    for point in grid:
        probe = _config(point, 0.0, 0.0)
        oof = _out_of_fold_probs(texts, _stack(blocks, probe), labels, probe.c, probe.dense_weight, folds)
        accuracy = float(np.mean(_classes(labels)[oof.argmax(1)] == labels))
        if best is None or accuracy > best[0]:
            best = (accuracy, point, oof)
    assert best is not None
    accuracy, point, oof = best
    return oof, _config(point, _calibrate_oos_threshold(oof, labels), accuracy)


def _fit_model(texts, labels, blocks, config: RouterConfig) -> _Model:
    vectorizer, classifier = _fit(texts, _stack(blocks, config), labels, config.c, config.dense_weight)
    return _Model(vectorizer, classifier, config)


def _sklearn_probabilities(model: _Model, normalised: Sequence[str], dense: np.ndarray) -> np.ndarray:
    features = _features(model.vectorizer, normalised, dense, model.config.dense_weight)
    return model.classifier.predict_proba(features)


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
    grid = np.round(np.arange(0.0, 0.71, 0.02), 2)
    top, confidence = classes[oof.argmax(1)].astype(object), oof.max(1)
    return _one_standard_error(grid, [_balanced_score(_with_oos(top, confidence < t), labels) for t in grid])


def choose_cascade_threshold(fast_oof: np.ndarray, fast_threshold: float, slow_oof: np.ndarray,
                             slow_threshold: float, labels: np.ndarray, max_share: float | None = None) -> float:
    """τ of the two-stage router: under a fast top probability of τ the second stage decides.

    Both stages' out-of-fold readings of the same lines, each with its own OOS threshold; the score is
    the OOS threshold's (mean of in-scope accuracy and OOS recall) and the same one-standard-error rule
    picks the lowest τ, i.e. the fewest slow turns, whose score is within one standard error of the best.
    ``max_share``: only τ sending at most that share of the lines to the second stage (the latency budget)."""
    classes = _classes(labels)
    fast = _with_oos(classes[fast_oof.argmax(1)].astype(object), fast_oof.max(1) < fast_threshold)
    slow = _with_oos(classes[slow_oof.argmax(1)].astype(object), slow_oof.max(1) < slow_threshold)
    confidence = fast_oof.max(1)
    grid = np.round(np.arange(0.0, 1.001, 0.05), 2)
    if max_share is not None:
        grid = np.array([t for t in grid if t == 0.0 or np.mean(confidence < t) <= max_share])
    return _one_standard_error(grid, [_balanced_score(np.where(confidence < t, slow, fast), labels) for t in grid])


def _with_oos(top: np.ndarray, under: np.ndarray) -> np.ndarray:
    pred = top.copy()
    pred[under] = OUT_OF_SCOPE
    return pred


def _balanced_score(pred: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean of in-scope accuracy and out-of-scope recall, and its standard error."""
    in_scope = labels != OUT_OF_SCOPE
    correct = pred == labels
    acc_in = correct[in_scope].mean()
    recall = correct[~in_scope].mean() if (~in_scope).any() else 1.0
    var = acc_in * (1 - acc_in) / max(in_scope.sum(), 1) + recall * (1 - recall) / max((~in_scope).sum(), 1)
    return 0.5 * acc_in + 0.5 * recall, 0.5 * float(np.sqrt(var))


def _one_standard_error(grid: np.ndarray, scored: list[tuple[float, float]]) -> float:
    """The lowest grid value whose score is within one standard error of the best one's."""
    scores = [score for score, _ in scored]
    best = int(np.argmax(scores))
    floor = scores[best] - scored[best][1]
    return float(next(t for t, score in zip(grid, scores, strict=True) if score >= floor - 1e-12))


def _code_hash() -> str:
    """The router's own code and text normalisation: an edit there retrains the cached router."""
    from assistant.nlu import sound_grams as grams
    from assistant.nlu import text

    blob = b"".join(Path(f).read_bytes() for f in (__file__, text.__file__, grams.__file__))
    return hashlib.sha256(blob).hexdigest()[:12]


def build_router(settings, embedder: Embedder | None = None) -> IntentRouter:
    """The router the app runs: embedders and training files from ``Settings``, cached in cache_dir.
    ``embedder``: the first-stage embedder when the caller already has it (``lui prepare``)."""
    from assistant.nlu.data import load_training_sources
    from knowledge.embedders import make_embedder
    from knowledge.errors import EmbedderUnavailable

    examples = load_training_sources(settings.router_training_files)
    # within one turn, the same text is embedded once (the router, then service lookup): fast.py
    embedder = embedder or TurnMemoEmbedder(make_embedder(settings.embedder, threads=settings.embedder_threads))
    second = None
    if settings.router_second_embedder:
        try:  # not memoised: the turn memo holds the first embedder's vectors, which lookup reuses
            second = make_embedder(settings.router_second_embedder, threads=settings.router_second_threads)
        except EmbedderUnavailable as exc:
            log.warning("router: no second stage (%s); the first stage answers alone", exc)
    cache = settings.cache_dir if settings.router_cache else None
    return IntentRouter.load_or_train(examples, embedder, cache, second)
