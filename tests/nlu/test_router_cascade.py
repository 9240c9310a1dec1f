"""The two-stage router: the USE stage answers when sure, the e5 stage decides under its threshold τ."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from assistant.nlu.data import Example
from assistant.nlu.router import IntentRouter, _sklearn_probabilities, _stack, choose_cascade_threshold
from assistant.nlu.text import normalise_text
from knowledge.embedders import Embedder

EXAMPLES = [Example(t, "greet") for t in ("hi", "hello", "你好", "早上好", "hey there", "嗨")] + [
    Example(t, "check_balance") for t in ("余额多少", "my balance", "还有多少钱", "how much money do I have", "查余额",
                                          "what's in my account")
] + [Example(t, "pay_bill") for t in ("交电费", "pay the water bill", "帮我交燃气费", "pay my gas bill", "缴水费",
                                      "settle the power bill")
] + [Example(t, "out_of_scope") for t in ("天气", "weather today", "讲个笑话", "a joke", "股票", "who won the match")]


class Counting(Embedder):
    """The real e5 embedder, recording which texts it was asked to embed."""

    def __init__(self, inner: Embedder):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def two_stage(use_embedder, e5_embedder):
    return IntentRouter.train(EXAMPLES, use_embedder, folds=3, second_embedder=e5_embedder)


def _with_tau(router: IntentRouter, tau: float, second: Embedder | None) -> IntentRouter:
    model = replace(router._model, config=replace(router.config, escalate_below=tau))
    return IntentRouter(router.embedder, model, second)


def test_a_reading_under_the_threshold_goes_to_the_second_stage_and_above_it_does_not(two_stage, e5_embedder):
    text = "could you tell me what my balance is"
    first_only = IntentRouter(two_stage.embedder, two_stage._model)  # no second embedder: the first stage alone
    assert first_only.second_config is None
    top = float(first_only.probabilities([text])[0].max())

    counting = Counting(e5_embedder)
    under = _with_tau(two_stage, top + 0.01, counting)
    (probs, config), = under.readings([text])
    assert counting.calls == [[normalise_text(text)]]
    assert config is under.second_config and config.oos_threshold == two_stage.second_config.oos_threshold
    # the second stage's numpy scores are its classifier's predict_proba on [USE, e5] features
    normalised = [normalise_text(text)]
    stacked = _stack([two_stage.embedder.encode(normalised), e5_embedder.encode(normalised)], config)
    assert np.abs(probs - _sklearn_probabilities(two_stage._model.second, normalised, stacked)[0]).max() < 1e-9

    counting.calls.clear()
    over = _with_tau(two_stage, top - 0.01, counting)
    (probs, config), = over.readings([text])
    assert counting.calls == [] and config is over.config
    assert np.allclose(probs, first_only.probabilities([text])[0])


def test_only_the_unsure_texts_of_a_batch_are_embedded_again(two_stage, e5_embedder):
    texts = ["hello", "交电费", "what is the capital of peru", "查一下余额"]
    tops = IntentRouter(two_stage.embedder, two_stage._model).probabilities(texts).max(1)
    tau = float(np.sort(tops)[1]) + 1e-6  # the two least sure go to the second stage
    counting = Counting(e5_embedder)
    router = _with_tau(two_stage, tau, counting)
    results = router.understand_many(texts)
    unsure = sorted(normalise_text(t) for t, p in zip(texts, tops, strict=True) if p < tau)
    assert len(unsure) == 2 and [sorted(c) for c in counting.calls] == [unsure]
    assert len(results) == 4 and all(r.source == "router" for r in results)


def test_tau_is_chosen_where_the_second_stage_is_better():
    # 300 lines: the first stage is right when sure (0.9) and wrong on the 100 it reads at 0.4;
    # the second stage is right everywhere. Escalating under 0.45..0.9 fixes them; the lowest τ is taken.
    labels = np.array(["pay_bill"] * 150 + ["greet"] * 150)
    classes = np.array(["greet", "pay_bill"])
    gold = (labels == "pay_bill").astype(int)
    fast = np.zeros((300, 2))
    sure = np.arange(300) % 3 != 0
    fast[sure, gold[sure]] = 0.9
    fast[sure, 1 - gold[sure]] = 0.1
    fast[~sure, 1 - gold[~sure]] = 0.6  # wrong and unsure
    fast[~sure, gold[~sure]] = 0.4
    slow = np.eye(2)[gold] * 0.8 + 0.1
    assert classes[slow.argmax(1)].tolist() == labels.tolist()
    tau = choose_cascade_threshold(fast, 0.0, slow, 0.0, labels)
    assert 0.6 < tau <= 0.9
    # a second stage no better than the first: nothing is escalated
    assert choose_cascade_threshold(fast, 0.0, fast, 0.0, labels) == 0.0
    # the latency budget: at most 20% of the lines may go to the second stage, and a third would
    assert choose_cascade_threshold(fast, 0.0, slow, 0.0, labels, max_share=0.2) <= 0.6
    assert choose_cascade_threshold(fast, 0.0, slow, 0.0, labels, max_share=0.34) == tau


def test_the_cache_key_names_the_second_embedder(tmp_path, use_embedder, e5_embedder):
    one = IntentRouter.load_or_train(EXAMPLES, use_embedder, tmp_path)
    two = IntentRouter.load_or_train(EXAMPLES, use_embedder, tmp_path, e5_embedder)
    assert one.second_config is None and two.second_config is not None
    assert len(list(tmp_path.glob("router-*.pkl"))) == 2
    again = IntentRouter.load_or_train(EXAMPLES, use_embedder, tmp_path, e5_embedder)  # from the cache
    assert again.config == two.config and again.second_config == two.second_config
