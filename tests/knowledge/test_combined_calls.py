"""Calls that wait for a busy model are embedded together in its next run (SerialEmbedder.combine)."""

from __future__ import annotations

import threading
import time

import numpy as np

from knowledge.embedders.base import SerialEmbedder


class Recording(SerialEmbedder):
    """A model whose vector of a text is its length and its first character; records each run's texts.
    Its first run waits for ``release``, so the calls made meanwhile queue up."""

    combine = True
    dim = 2
    name = "recording"

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def _embed(self, texts: list[str]) -> np.ndarray:
        self.runs.append(list(texts))
        if len(self.runs) == 1:
            self.started.set()
            assert self.release.wait(30)
        if any(t == "boom" for t in texts):
            raise ValueError("boom")
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


def _expected(texts: list[str]) -> np.ndarray:
    raw = np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def _call_while_busy(model: Recording, calls: list[list[str]]) -> dict[int, object]:
    """The first call occupies the model; ``calls`` arrive meanwhile; then the model is let go."""
    results: dict[int, object] = {}

    def call(i: int, texts: list[str]) -> None:
        try:
            results[i] = model.encode(texts)
        except BaseException as exc:  # noqa: BLE001 - an interrupted run, for the test that makes one
            results[i] = exc

    first = threading.Thread(target=call, args=(-1, ["first"]))
    first.start()
    assert model.started.wait(30)
    others = [threading.Thread(target=call, args=(i, texts)) for i, texts in enumerate(calls)]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 30
    while len(model._waiting) < len(calls) and time.monotonic() < deadline:  # all queued for the model
        time.sleep(0.005)
    model.release.set()
    for thread in [first, *others]:
        thread.join(30)
    return results


def test_calls_waiting_for_the_model_share_its_next_run_and_each_gets_its_own_rows():
    model = Recording()
    calls = [["a", "bb"], ["ccc"], ["dddd", "e", "ff"]]
    results = _call_while_busy(model, calls)
    assert model.runs[0] == ["first"]
    assert sorted(model.runs[1]) == sorted(t for texts in calls for t in texts)  # one run for the three calls
    assert len(model.runs) == 2
    for i, texts in enumerate(calls):
        assert np.allclose(results[i], _expected(texts))
    assert np.allclose(results[-1], _expected(["first"]))


def test_a_failing_call_in_a_shared_run_fails_alone():
    model = Recording()
    results = _call_while_busy(model, [["a"], ["boom"], ["cc"]])
    assert isinstance(results[1], ValueError)
    assert np.allclose(results[0], _expected(["a"])) and np.allclose(results[2], _expected(["cc"]))


class Interrupted(BaseException):
    """Not an Exception (like KeyboardInterrupt): the shared run stops without handing out errors."""


def test_calls_of_an_interrupted_shared_run_are_embedded_by_their_own_callers():
    model = Recording()
    embed = model._embed

    def interrupt_the_shared_run(texts: list[str]) -> np.ndarray:
        if len(model.runs) == 1 and len(texts) > 1:
            model.runs.append(list(texts))
            raise Interrupted
        return embed(texts)

    model._embed = interrupt_the_shared_run
    results = _call_while_busy(model, [["a"], ["bb"], ["ccc"]])
    assert sum(isinstance(r, Interrupted) for r in results.values()) == 1  # the caller that ran it
    fine = [i for i in range(3) if not isinstance(results[i], BaseException)]
    assert len(fine) == 2 and all(np.allclose(results[i], _expected([["a"], ["bb"], ["ccc"]][i][:1])) for i in fine)


def test_a_model_that_does_not_combine_runs_each_call_alone():
    model = Recording()
    model.combine = False
    _call_while_busy(model, [])  # (nothing queues: a non-combining call waits on the model itself)
    threads = [threading.Thread(target=model.encode, args=([t],)) for t in ("a", "bb", "ccc")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(len(run) == 1 for run in model.runs)


def test_use_gives_a_text_the_same_vector_alone_and_in_a_combined_run(use_embedder):
    assert use_embedder.combine
    texts = ["我还有多少钱", "how much is my water bill", "帮我交电费", "thanks"]
    alone = np.stack([use_embedder.encode([t])[0] for t in texts])
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, use_embedder.encode([texts[i]])))
               for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    together = np.stack([results[i][0] for i in range(len(texts))])
    assert np.allclose(together, alone, atol=1e-5)  # float rounding of a larger matrix product at most
