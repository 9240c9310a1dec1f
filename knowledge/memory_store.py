"""The catalogue index held in numpy arrays: Qdrant local mode's search, exactly, without its Python loops.

A worker without a Qdrant server searches its own read-only copy of the local folder (see
``knowledge.retrieval.open_retriever``). An in-memory ``QdrantClient`` answers one lookup (a dense
and a sparse prefetch fused by RRF, plus the signal legs) in 12–45 ms of pure-Python CPU (``evals.bench_lookup``); this store
answers the same lookup from

* a dense matrix of unit vectors (the collection's cosine distance), and
* an inverted index of the sparse vectors (the collection's dot product with ``Modifier.IDF``),

reproducing what qdrant-client's local mode (``qdrant_client/local/local_collection.py``, 1.20)
computes, step for step, so the answers are the same ids in the same order with the same scores:

* dense: stored vectors are normalised in float32 on upsert; the query is normalised in float64
  (a norm of 0 divides by f32 epsilon); score = float64 dot product;
* sparse: each query weight is multiplied by ``idf = ln((n - df + 0.5) / (df + 0.5) + 1)`` with ``n``
  the points holding a sparse vector and ``df`` those holding the feature (collection-wide, the
  language filter does not change it); score = the float64 sum over shared features in ascending
  feature order, cast to float32; a point sharing no feature is not a candidate;
* ranking: ``np.argsort(scores)[::-1]`` over every point, filtered afterwards (same tie order);
* RRF: ``1 / ((rank0 + 1) / weight + k - 1)`` summed over the prefetches, sorted stably by score,
  the dense prefetch's points first among ties.

Read-only and thread-safe without a lock (numpy releases the GIL for the dot product).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from knowledge.errors import KnowledgeError, VectorStoreUnavailable
from knowledge.sparse import SparseVec
from knowledge.store import DENSE, RESULT_FIELDS, SPARSE, ScoredChunk, ServiceStore

EPSILON = 1.1920929e-7  # f32 epsilon, as qdrant-client's local mode uses it for zero norms
_FIELDS: tuple[str, ...] = tuple(RESULT_FIELDS.include)
_GEMV_SINGLE_THREAD = 8192  # matrix elements below which OpenBLAS runs a gemv on the calling thread (9216)


def qdrant_idf(df: int, n: int) -> float:
    """Qdrant's IDF modifier: ``ln((n - df + 0.5) / (df + 0.5) + 1)``."""
    return math.log((n - df + 0.5) / (df + 0.5) + 1)


class MemoryServiceStore:
    """``search`` of :class:`knowledge.store.ServiceStore` over a snapshot of its points, in numpy."""

    def __init__(self, ids: Sequence[str], dense: np.ndarray, sparse: Sequence[SparseVec | None],
                 payloads: Sequence[dict[str, Any]], *, where: str = "in-memory numpy index"):
        if not (len(ids) == len(dense) == len(sparse) == len(payloads)):
            raise KnowledgeError("MemoryServiceStore needs one dense vector, sparse vector and payload per id")
        self.where = where
        self.ids = [str(i) for i in ids]
        vectors = np.asarray(dense, dtype=np.float32).reshape(len(self.ids), -1).copy()
        for row in vectors:  # one vector at a time, as Qdrant normalises on upsert
            norm = np.linalg.norm(row)
            if norm > EPSILON:
                row /= norm
        # float64 copy of the float32 unit vectors: what numpy computes for float32 @ float64 anyway
        self._dense = vectors.astype(np.float64)
        rows = max(1, _GEMV_SINGLE_THREAD // max(1, self._dense.shape[1]))
        self._blocks = [self._dense[i:i + rows] for i in range(0, len(self._dense), rows)]
        self._lang = np.array([str(p.get("lang")) for p in payloads], dtype=object)
        self._lang_masks: dict[str, np.ndarray] = {}
        self._results = [{k: p[k] for k in _FIELDS if k in p} for p in payloads]
        # inverted index: feature → (rows ascending, weights); df and n as Qdrant counts them
        postings: dict[int, tuple[list[int], list[float]]] = {}
        self._n_sparse = 0
        for row, vec in enumerate(sparse):
            if vec is None:
                continue
            self._n_sparse += 1
            for idx, value in zip(vec.indices, vec.values, strict=True):
                rows, values = postings.setdefault(int(idx), ([], []))
                rows.append(row)
                values.append(float(value))
        self._postings = {idx: (np.array(r, dtype=np.intp), np.array(v, dtype=np.float64))
                          for idx, (r, v) in postings.items()}

    @classmethod
    def copy_of(cls, source: ServiceStore, batch: int = 256, *, where: str | None = None) -> MemoryServiceStore:
        """Every point of ``source`` (a local folder or a server), read once."""
        ids: list[str] = []
        dense: list[list[float]] = []
        sparse: list[SparseVec | None] = []
        payloads: list[dict[str, Any]] = []
        size = source.dense_size()
        if size is None:
            raise VectorStoreUnavailable(f"vector store unavailable: {source.where} has no collection "
                                         f"{source.collection!r}. Hint: run `lui ingest` first.")
        for point in (p for page in source.pages(batch) for p in page):
            vectors = point.vector if isinstance(point.vector, dict) else {}
            if vectors.get(DENSE) is None:
                raise KnowledgeError(f"point {point.id} of {source.where} has no dense vector",
                                     code="vector-store-mismatch")
            ids.append(str(point.id))
            dense.append(vectors[DENSE])
            vec = vectors.get(SPARSE)
            sparse.append(None if vec is None else SparseVec(tuple(vec.indices), tuple(vec.values)))
            payloads.append(dict(point.payload or {}))
        if not ids:
            return cls([], np.zeros((0, size), dtype=np.float32), [], [], where=where or f"copy of {source.where}")
        return cls(ids, np.array(dense, dtype=np.float32), sparse, payloads, where=where or f"copy of {source.where}")

    def count(self) -> int:
        return len(self.ids)

    def close(self) -> None:
        """Nothing to release (kept for the ServiceStore interface)."""

    # ---- scoring ----------------------------------------------------------------------------

    def _mask(self, lang: str | None) -> np.ndarray | None:
        if not lang:
            return None
        mask = self._lang_masks.get(lang)
        if mask is None:
            mask = self._lang_masks[lang] = self._lang == lang
        return mask

    def _dense_scores(self, query: Sequence[float]) -> np.ndarray:
        q = np.asarray(query, dtype=np.float64)
        if np.isnan(q).any():
            raise ValueError("Query vector must not contain NaN")
        norm = np.linalg.norm(q)
        q = q / (norm if norm != 0.0 else EPSILON)
        # in row blocks small enough that OpenBLAS computes each on this thread: a threaded gemv of
        # the whole matrix waits for BLAS threads (milliseconds on a busy machine) to save microseconds
        return np.concatenate([block @ q for block in self._blocks]) if self._blocks else self._dense @ q

    def _sparse_scores(self, query: SparseVec) -> np.ndarray:
        """float32 scores, ``-inf`` where a point shares no feature with the query."""
        scores = np.zeros(len(self.ids), dtype=np.float64)
        touched = np.zeros(len(self.ids), dtype=bool)
        n = self._n_sparse
        # ascending feature order: the order Qdrant's merge adds the products in
        for idx, value in sorted(zip(query.indices, query.values, strict=True)):
            posting = self._postings.get(int(idx))
            if posting is None:
                continue
            rows, weights = posting
            scores[rows] += (float(value) * qdrant_idf(len(rows), n)) * weights
            touched[rows] = True
        out = scores.astype(np.float32)
        out[~touched] = -np.inf
        return out

    def _top(self, scores: np.ndarray, mask: np.ndarray | None, limit: int, sparse: bool) -> list[tuple[int, float]]:
        order = np.argsort(scores)[::-1]  # as Qdrant ranks: ties in the order this sort leaves them
        if mask is not None:
            order = order[mask[order]]
        if sparse:
            order = order[scores[order] != -np.inf]
        order = order[:limit]
        return [(int(i), float(scores[i])) for i in order]

    def search(self, mode: str, *, dense: Sequence[float] | None, sparse: SparseVec | None,
               lang: str | None = None, limit: int = 10, prefetch_limit: int = 30, rrf_k: int = 2,
               weights: Sequence[float] | None = None, signals: Sequence[str] = (DENSE, SPARSE),
               ) -> dict[str, list[ScoredChunk]]:
        """What :meth:`knowledge.store.ServiceStore.search` answers for the same arguments."""
        mask = self._mask(lang)
        sparse_q = sparse if sparse is not None and len(sparse) else None
        scores: dict[str, np.ndarray] = {}

        def leg_scores(leg: str) -> np.ndarray:
            if leg not in scores:
                scores[leg] = self._dense_scores(dense) if leg == DENSE else self._sparse_scores(sparse_q)
            return scores[leg]

        def single(leg: str, n: int) -> list[tuple[int, float]]:
            return self._top(leg_scores(leg), mask, n, leg == SPARSE)

        present = {DENSE: dense is not None, SPARSE: sparse_q is not None}
        answers: dict[str, list[ScoredChunk]] = {leg: [] for leg in (mode, *signals)}
        if mode == "hybrid" and present[DENSE] and present[SPARSE]:
            fused = _rrf([single(DENSE, prefetch_limit), single(SPARSE, prefetch_limit)], limit, rrf_k, weights)
            answers[mode] = [self._chunk(row, score, True) for row, score in fused]
        elif mode == "hybrid" and present[DENSE]:
            answers[mode] = [self._chunk(row, score, True) for row, score in single(DENSE, limit)]
        elif present.get(mode):
            answers[mode] = [self._chunk(row, score, True) for row, score in single(mode, limit)]
        for leg in signals:
            if leg != mode and present.get(leg):
                answers[leg] = [self._chunk(row, score, False) for row, score in single(leg, 1)]
        return answers

    def _chunk(self, row: int, score: float, with_payload: bool) -> ScoredChunk:
        return ScoredChunk(self.ids[row], score, dict(self._results[row]) if with_payload else {})


def _rrf(ranked: Sequence[list[tuple[int, float]]], limit: int, k: int,
         weights: Sequence[float] | None) -> list[tuple[int, float]]:
    """qdrant-client's ``reciprocal_rank_fusion``: weighted, 0-based ranks, stable on ties."""
    weights = list(weights) if weights else None  # as ServiceStore hands them to Qdrant
    if weights is not None and len(weights) != len(ranked):
        raise ValueError("Length of weights must match the number of responses in RRF")
    fused: dict[int, float] = {}
    for source, points in enumerate(ranked):
        weight = float(weights[source]) if weights is not None else 1.0
        for pos, (row, _) in enumerate(points):
            score = 0.0 if weight <= 0 else 1 / ((pos + 1.0) / weight + k - 1.0)
            fused[row] = fused.get(row, 0.0) + score
    return sorted(fused.items(), key=lambda item: item[1], reverse=True)[:limit]
