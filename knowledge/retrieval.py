"""Find the catalogue service a request is about: hybrid (dense + lexical) search in Qdrant.

``hybrid`` fuses a dense prefetch and a sparse prefetch with reciprocal rank fusion inside Qdrant.
RRF scores only reflect ranks, so whether anything matches *well enough* is decided from real
similarity signals of the same query, fetched in the same round trip: the best dense cosine and
the best lexical (sparse, IDF-weighted) score. The thresholds were calibrated on the calibration
split only (see ``evals/retrieval.py``: ``python -m evals.retrieval --calibrate``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Literal

from knowledge.embedders import Embedder
from knowledge.memory_store import MemoryServiceStore
from knowledge.sparse import SparseEncoder
from knowledge.store import ScoredChunk, ServiceStore

log = logging.getLogger(__name__)
Mode = Literal["hybrid", "dense", "sparse"]
MODES: tuple[str, ...] = ("hybrid", "dense", "sparse")

# Chosen on the calibration split only (see module docstring), never on the reported test half.
MIN_DENSE = 0.39  # best dense cosine at or above which something matches well enough ...
MIN_SPARSE = 10.5  # ... or best lexical score at or above which it does
RRF_K = 2  # Qdrant's default constant
# RRF weights (dense, sparse) per query language. When the two legs disagree on the top service,
# the dense leg is right more often for Chinese and the lexical leg for English (USE v3 is weaker
# on English paraphrase here). Weights only break such disagreements; ranks still decide.
LANG_WEIGHTS: dict[str, tuple[float, float]] = {"zh": (1.5, 1.0), "en": (1.0, 1.5)}
LOCAL_CACHE_SIZE = 2048  # answers kept by a retriever on the in-memory copy (a few KB each)


@dataclass(frozen=True)
class ServiceHit:
    id: str
    score: float  # the ranking score of the mode (RRF for hybrid, cosine for dense, BM25-ish for sparse)
    title: str
    summary: str
    deep_link: str
    needs: tuple[str, ...]
    steps: tuple[str, ...]
    lang: str
    category: str = ""


@dataclass(frozen=True)
class SearchResult:
    hits: list[ServiceHit]
    confident: bool  # False: nothing in the catalogue matches well enough ("no match")
    mode: str = "hybrid"
    top_dense: float = 0.0  # best dense cosine of any chunk: the no-match signal
    top_sparse: float = 0.0  # best lexical score of any document
    elapsed_ms: float = 0.0

    @property
    def best(self) -> ServiceHit | None:
        return self.hits[0] if self.hits and self.confident else None


def _hit(chunk: ScoredChunk) -> ServiceHit:
    p = chunk.payload
    return ServiceHit(id=p["service_id"], score=chunk.score, title=p.get("title", ""), summary=p.get("summary", ""),
                      deep_link=p.get("deep_link", ""), needs=tuple(p.get("needs", ())),
                      steps=tuple(p.get("steps", ())), lang=p.get("lang", ""), category=p.get("category", ""))


def dedupe(chunks: list[ScoredChunk], limit: int) -> list[ServiceHit]:
    """Best chunk per service, in rank order (several chunks of one service may match)."""
    hits: list[ServiceHit] = []
    seen: set[str] = set()
    for chunk in chunks:
        sid = chunk.payload.get("service_id")
        if sid in seen:
            continue
        seen.add(sid)
        hits.append(_hit(chunk))
        if len(hits) == limit:
            break
    return hits


class ServiceRetriever:
    """``search(query, lang)`` → the best services, and whether any matches well enough."""

    def __init__(self, embedder: Embedder, store: ServiceStore | MemoryServiceStore, *, encoder: SparseEncoder | None = None,
                 min_score: float = MIN_DENSE, min_sparse: float = MIN_SPARSE, mode: Mode = "hybrid",
                 candidates: int = 30, overfetch: int = 3, rrf_k: int = RRF_K,
                 weights: dict[str, tuple[float, float]] | None = None, cache_size: int = 0):
        self.embedder = embedder
        self.store = store
        self.encoder = encoder or SparseEncoder()
        self.min_score = min_score  # dense cosine at or above which a match is trusted
        self.min_sparse = min_sparse  # lexical score at or above which a match is trusted
        self.mode = mode
        self.candidates = candidates  # what each prefetch of the hybrid mode hands to the fusion
        self.overfetch = overfetch  # ranked points fetched per hit asked for (several chunks or languages
        # of one service collapse into one hit)
        self.rrf_k = rrf_k
        self.weights = LANG_WEIGHTS if weights is None else weights  # lang → RRF weights (dense, sparse)
        # answers of recent queries, for a store that does not change while serving (the in-memory
        # copy): a repeated question skips the query embedding and the search (~2-3 ms of CPU with
        # USE v3 and the numpy copy; it was tens of ms on an in-memory Qdrant); the same questions recur
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str | None, int, str], SearchResult] = OrderedDict()
        self._cache_lock = threading.Lock()

    def is_confident(self, top_dense: float, top_sparse: float) -> bool:
        return top_dense >= self.min_score or top_sparse >= self.min_sparse

    def search(self, query: str, lang: str | None = None, limit: int = 3, mode: Mode | None = None) -> SearchResult:
        """Blocking (embeds on the CPU): async callers run it in a worker thread.

        ``lang`` filters the documents (``None``: both languages); raises VectorStoreUnavailable
        when the store cannot be reached.
        """
        started = time.perf_counter()
        mode = mode or self.mode
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        query = " ".join(query.split())
        if not query:
            return SearchResult([], False, mode)
        key = (query, lang, limit, mode)
        if self.cache_size > 0:
            with self._cache_lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
            if cached is not None:
                return replace(cached, hits=list(cached.hits), elapsed_ms=(time.perf_counter() - started) * 1000)
        result = self._search(query, lang, limit, mode, started)
        if self.cache_size > 0:
            with self._cache_lock:
                self._cache[key] = result
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return result

    def _search(self, query: str, lang: str | None, limit: int, mode: str, started: float) -> SearchResult:
        dense = self.embedder.encode([query])[0]
        sparse = self.encoder.encode_query(query)
        answers = self.store.search(mode, dense=dense, sparse=sparse, lang=lang, limit=limit * self.overfetch,
                                    prefetch_limit=self.candidates, rrf_k=self.rrf_k,
                                    weights=self.weights.get(lang or ""))
        top_dense = answers["dense"][0].score if answers["dense"] else 0.0
        top_sparse = answers["sparse"][0].score if answers["sparse"] else 0.0
        hits = dedupe(answers[mode], limit)
        confident = bool(hits) and self.is_confident(top_dense, top_sparse)
        return SearchResult(hits, confident, mode, top_dense, top_sparse, (time.perf_counter() - started) * 1000)


def open_retriever(settings, embedder: Embedder | None = None, *, ingest_catalogue: bool = True,
                   lock_wait_s: float = 60.0) -> ServiceRetriever:
    """The retriever on the settings' store; ingests the packaged catalogue first (a no-op when
    nothing changed) unless told not to. Raises VectorStoreUnavailable when the store is down.

    With a Qdrant server (``LUI_QDRANT_URL``) every worker searches the server. Without one, the
    local folder is opened only long enough to bring it up to date and copy the (small, read-only
    at serve time) index into this process's memory, then closed: any number of workers, and
    ``lui ingest`` while they serve, can share one data folder (Qdrant local mode locks a folder to
    one open client). Workers pick up a new ingest when restarted. The copy is a
    :class:`knowledge.memory_store.MemoryServiceStore`: Qdrant local mode's search reproduced in
    numpy (same ids, order and scores), well under a millisecond instead of tens of pure-Python ones.
    """
    from knowledge.embedders import make_embedder
    from knowledge.ingest import ingest

    embedder = embedder or make_embedder(settings.embedder, threads=1)  # one query at a time: 1 BLAS thread
    if settings.qdrant_url:
        store = ServiceStore.from_settings(settings)
        if ingest_catalogue:
            ingest(embedder, store)
        return ServiceRetriever(embedder, store)
    folder = ServiceStore.from_settings(settings, lock_wait_s=lock_wait_s)
    try:
        if ingest_catalogue:
            ingest(embedder, folder)
        memory = MemoryServiceStore.copy_of(
            folder, where=f"in-memory copy of Qdrant local folder {settings.qdrant_path}")
    finally:
        folder.close()
    log.info("service lookup: %d points copied from %s into memory", memory.count(), settings.qdrant_path)
    return ServiceRetriever(embedder, memory, cache_size=LOCAL_CACHE_SIZE)  # the copy never changes

