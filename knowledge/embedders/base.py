"""The one interface every sentence embedder implements."""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import ModuleType

import numpy as np

from knowledge.errors import EmbedderUnavailable


class Embedder(ABC):
    """Maps texts to L2-normalised float32 vectors of a fixed size.

    ``encode`` is blocking and CPU-bound: async callers run it in a worker thread.
    """

    name: str
    dim: int

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dim), each row of unit length."""


class SerialEmbedder(Embedder):
    """An embedder over one model handle shared by threads: calls run one at a time, empty input gives an
    empty array, and rows come back L2-normalised. Subclasses load the model and implement ``_embed``.

    ``combine = True`` (a model that embeds each text of a batch on its own, e.g. USE): the calls that
    arrive while the model is busy are embedded together in its next run, one batch instead of one run
    each. The weights are then read from memory once for them all, which is most of what a short text
    costs (USE: ~2.2 ms for one text alone, ~0.7 ms each in a batch of 8). Nothing waits for a batch to
    fill: an idle model takes a call at once, so one call alone costs what it did."""

    combine = False

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the model
        self._waiting: list[_Call] = []  # calls queued for the model's next run (combine)
        self._waiting_lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.combine:
            with self._lock:
                vectors = self._embed(list(texts))
            return normalise(np.asarray(vectors).reshape(len(texts), self.dim))
        call = _Call(list(texts))
        with self._waiting_lock:
            self._waiting.append(call)
        with self._lock:
            if not call.done:  # no earlier run took it along: this run takes every call waiting
                with self._waiting_lock:
                    batch, self._waiting = self._waiting, []
                if call not in batch:  # taken by a run that was interrupted (not an Exception): again
                    batch.append(call)
                self._run(batch)
        if call.error is not None:
            raise call.error
        return normalise(call.vectors)

    def _run(self, batch: list[_Call]) -> None:
        """Embed the calls of ``batch`` in one run (under the model's lock); each gets its rows or,
        when its own texts fail, its error (a failed batch is retried call by call)."""
        try:
            vectors = np.asarray(self._embed([t for c in batch for t in c.texts])).reshape(-1, self.dim)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error, batch[0].done = exc, True
                return
            for call in batch:
                self._run([call])
            return
        start = 0
        for call in batch:
            call.vectors, call.done = vectors[start:start + len(call.texts)], True
            start += len(call.texts)

    @abstractmethod
    def _embed(self, texts: list[str]) -> np.ndarray:
        """The model's raw vectors for non-empty ``texts`` (called under the lock)."""


class _Call:
    """One ``encode`` call waiting for a combined run."""

    __slots__ = ("texts", "vectors", "error", "done")

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: Exception | None = None
        self.done = False


def require(module: str, install: str) -> ModuleType:
    """The embedder's package, or :class:`EmbedderUnavailable` saying how to install it (``install``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EmbedderUnavailable(install) from exc


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
