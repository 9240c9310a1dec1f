"""The one interface every sentence embedder implements."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


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
    empty array, and rows come back L2-normalised. Subclasses load the model and implement ``_embed``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._embed(list(texts))
        return normalise(np.asarray(vectors).reshape(len(texts), self.dim))

    @abstractmethod
    def _embed(self, texts: list[str]) -> np.ndarray:
        """The model's raw vectors for non-empty ``texts`` (called under the lock)."""


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
