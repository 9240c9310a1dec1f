"""The router's numpy scorer gives sklearn's own probabilities, and the per-turn embedding memo
reuses an embedding within one turn only."""

from __future__ import annotations

import contextvars
import random
from pathlib import Path

import numpy as np

from assistant.nlu.data import load_examples
from assistant.nlu.fast import TurnMemoEmbedder, start_turn_memo
from assistant.nlu.router import IntentRouter, _sklearn_probabilities, _stack
from assistant.nlu.text import normalise_text

REPO = Path(__file__).resolve().parents[2]


def random_texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz ABCXYZ 电费水燃气交我的钱多少余额？！,.0123456789 \u3000ｆｕｌｌ"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]
    return texts + ["", " ", "zzzzqqq", "😀😀", "a" * 300]


def test_numpy_scores_are_sklearns_predict_proba(router):
    assert router._scorer is not None  # the fitted model is of the kind the scorer covers
    first_stage = IntentRouter(router.embedder, router._model)  # without its second embedder: one stage
    texts = [e.text for e in load_examples(REPO / "evals" / "data" / "intent_dev.jsonl")] + random_texts(300)
    fast = first_stage.probabilities(texts)
    normalised = [normalise_text(t) for t in texts]
    dense = router.embedder.encode(normalised)
    reference = router.sklearn_probabilities(normalised, dense)
    assert fast.shape == reference.shape
    assert np.abs(fast - reference).max() < 1e-9
    assert (fast.argmax(1) == reference.argmax(1)).all()
    labels = [first_stage.understand(t).intent for t in texts[:50]]
    assert labels == [router.decide(t, p).intent for t, p in zip(texts[:50], reference[:50], strict=True)]
    # the second stage's numpy scorer too, on the same texts
    second = router._model.second
    assert router._second_scorer is not None
    stacked = _stack([dense, router.second_embedder.encode(normalised)], second.config)
    numpy_second = router._scores(second, router._second_scorer, normalised, stacked)
    assert np.abs(numpy_second - _sklearn_probabilities(second, normalised, stacked)).max() < 1e-9


def test_an_embedding_is_reused_within_a_turn_and_never_across_turns(use_embedder):
    calls: list[list[str]] = []

    class Recording:
        name, dim = use_embedder.name, use_embedder.dim

        def encode(self, texts):
            calls.append(list(texts))
            return use_embedder.encode(texts)

    memo = TurnMemoEmbedder(Recording())

    def turn() -> tuple[np.ndarray, np.ndarray]:
        start_turn_memo()
        first = memo.encode(["怎么开电子发票"])  # the router
        again = memo.encode(["怎么开电子发票"])  # service lookup, same query
        return first, again

    first, again = contextvars.copy_context().run(turn)
    assert calls == [["怎么开电子发票"]]
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, use_embedder.encode(["怎么开电子发票"]))
    contextvars.copy_context().run(turn)  # the next turn embeds afresh
    assert calls == [["怎么开电子发票"]] * 2
    memo.encode(["怎么开电子发票"])  # outside any turn: no memo at all
    memo.encode(["怎么开电子发票"])
    assert len(calls) == 4
    # a mixed batch embeds only what this turn has not embedded yet, in order
    def mixed() -> np.ndarray:
        start_turn_memo()
        memo.encode(["a"])
        return memo.encode(["b", "a", "b"])

    calls.clear()
    out = contextvars.copy_context().run(mixed)
    assert calls == [["a"], ["b"]]
    np.testing.assert_allclose(out, use_embedder.encode(["b", "a", "b"]), atol=1e-6)  # batched: float noise
