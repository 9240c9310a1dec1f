"""The service vector store, through qdrant-client.

One code path for both deployments: ``QdrantClient(path=...)`` (local mode, a folder, the default)
or ``QdrantClient(url=..., api_key=...)`` when ``LUI_QDRANT_URL`` is set. Each point is one chunk of
one service document with two named vectors, ``dense`` (cosine) and ``sparse`` (lexical, with
Qdrant's IDF modifier), and a payload holding what a lookup returns.

Connection and I/O failures become :class:`VectorStoreUnavailable` (retryable) with a message that
says what to do; nothing from qdrant-client leaks out of this module.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from knowledge.errors import KnowledgeError, VectorStoreUnavailable
from knowledge.sparse import SparseVec

DEFAULT_COLLECTION = "services"
DENSE, SPARSE = "dense", "sparse"
INDEXED_FIELDS = ("lang", "service_id", "doc_hash")
# what a search returns of each point (not the embedded text: payload copies cost time locally)
RESULT_FIELDS = models.PayloadSelectorInclude(
    include=["service_id", "lang", "title", "summary", "deep_link", "needs", "steps", "category"])


@dataclass(frozen=True)
class ChunkPoint:
    id: str
    dense: Sequence[float]
    sparse: SparseVec
    payload: dict[str, Any]


@dataclass(frozen=True)
class StoredDoc:
    """What the store holds for one (service, language) document."""

    doc_hash: str
    point_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ScoredChunk:
    id: str
    score: float
    payload: dict[str, Any]


def lang_filter(lang: str | None) -> models.Filter | None:
    if not lang:
        return None
    return models.Filter(must=[models.FieldCondition(key="lang", match=models.MatchValue(value=lang))])


def _sparse(vec: SparseVec) -> models.SparseVector:
    return models.SparseVector(indices=list(vec.indices), values=list(vec.values))


class ServiceStore:
    """The catalogue's Qdrant collection; thread-safe (local-mode calls are serialised by a lock)."""

    def __init__(self, client: QdrantClient, collection: str = DEFAULT_COLLECTION, *, where: str = "Qdrant",
                 serialise: bool = True):
        self.client = client
        self.collection = collection
        self.where = where
        # local mode is plain Python state: one call at a time; a server client may run calls in parallel
        self._lock: contextlib.AbstractContextManager = threading.RLock() if serialise else contextlib.nullcontext()

    @classmethod
    def open(cls, *, path: str | Path | None = None, url: str | None = None, api_key: str | None = None,
             collection: str = DEFAULT_COLLECTION, timeout_s: int = 5) -> ServiceStore:
        """A server when ``url`` is given, else local mode on the folder ``path``."""
        where = f"Qdrant server {url}" if url else f"Qdrant local folder {path}"
        try:
            if url:
                client = QdrantClient(url=url, api_key=api_key, timeout=timeout_s, check_compatibility=False)
            else:
                if path is None:
                    raise KnowledgeError("ServiceStore.open needs a path (local mode) or a url (server)")
                Path(path).mkdir(parents=True, exist_ok=True)
                client = QdrantClient(path=str(path))
        except KnowledgeError:
            raise
        except Exception as exc:  # lock held by another process, unreadable folder, bad URL ...
            raise _unavailable(where, "open", exc) from exc
        return cls(client, collection, where=where, serialise=not url)

    @classmethod
    def in_memory(cls, collection: str = DEFAULT_COLLECTION, *, where: str = "in-memory Qdrant") -> ServiceStore:
        """An empty store in this process's memory: nothing on disk, no lock another process could hold."""
        return cls(QdrantClient(location=":memory:"), collection, where=where)

    def pages(self, batch: int = 256) -> Iterator[list[Any]]:
        """Every point of the collection with its vectors and payload, ``batch`` per page."""
        offset = None
        while True:
            with self._guard("read points"):
                points, offset = self.client.scroll(self.collection, limit=batch, offset=offset,
                                                    with_vectors=True, with_payload=True)
            if points:
                yield points
            if offset is None:
                return

    def copy_into(self, target: ServiceStore, batch: int = 256) -> int:
        """Copy every point (vectors and payload) of this collection into ``target``; the number copied."""
        size = self.dense_size()
        if size is None:
            raise _unavailable(self.where, "read the collection", ValueError("not found"), self.collection)
        target.ensure_collection(size)
        copied = 0
        for points in self.pages(batch):
            structs = [models.PointStruct(id=p.id, vector=p.vector, payload=p.payload) for p in points]
            with target._guard("write points"):
                target.client.upsert(target.collection, points=structs, wait=True)
            copied += len(points)
        return copied

    @classmethod
    def from_settings(cls, settings: Any, collection: str = DEFAULT_COLLECTION, *,
                      lock_wait_s: float = 0.0) -> ServiceStore:
        """The server of ``LUI_QDRANT_URL``, else the local folder; a folder another process holds
        briefly (a worker copying it, ``lui ingest`` writing it) is waited for up to ``lock_wait_s``."""
        if settings.qdrant_url:
            return cls.open(url=settings.qdrant_url, api_key=settings.qdrant_api_key, collection=collection)
        deadline, delay = time.monotonic() + lock_wait_s, 0.05
        while True:
            try:
                return cls.open(path=settings.qdrant_path, collection=collection)
            except VectorStoreUnavailable as exc:
                if "already accessed" not in exc.message or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(1.0, delay * 2)

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except KnowledgeError:
                raise
            except UnexpectedResponse as exc:
                if exc.status_code == 404:
                    raise _unavailable(self.where, action, exc, self.collection) from exc
                if (exc.status_code or 500) >= 500 or exc.status_code == 429:
                    raise _unavailable(self.where, action, exc) from exc
                raise KnowledgeError(f"{self.where} refused to {action}: {exc}", code="vector-store-error") from exc
            except ValueError as exc:  # local mode: "Collection services not found"
                if "not found" not in str(exc):
                    raise
                raise _unavailable(self.where, action, exc, self.collection) from exc
            except (ResponseHandlingException, httpx.HTTPError, OSError, RuntimeError) as exc:
                raise _unavailable(self.where, action, exc) from exc
            except Exception as exc:
                if type(exc).__module__.startswith("grpc"):
                    raise _unavailable(self.where, action, exc) from exc
                raise

    # ---- collection -------------------------------------------------------------------------

    def exists(self) -> bool:
        with self._guard("check the collection"):
            return self.client.collection_exists(self.collection)

    def dense_size(self) -> int | None:
        """The size of the stored dense vectors, or None when there is no collection."""
        if not self.exists():
            return None
        with self._guard("read the collection"):
            info = self.client.get_collection(self.collection)
        vectors = info.config.params.vectors
        return vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None

    def ensure_collection(self, dim: int) -> bool:
        """Create the collection (dense + sparse-with-IDF, payload indexes); True when created."""
        size = self.dense_size()
        if size is not None:
            if size != dim:
                raise KnowledgeError(
                    f"collection {self.collection!r} holds {size}-d vectors but the embedder gives {dim}-d; "
                    "re-ingest from scratch (lui ingest --rebuild)", code="vector-store-mismatch")
            return False
        with self._guard("create the collection"):
            self.client.create_collection(
                self.collection,
                vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
            with warnings.catch_warnings():  # local mode warns that payload indexes have no effect
                warnings.simplefilter("ignore")
                for name in INDEXED_FIELDS:
                    self.client.create_payload_index(self.collection, name, models.PayloadSchemaType.KEYWORD)
        return True

    def drop(self) -> None:
        with self._guard("delete the collection"):
            if self.client.collection_exists(self.collection):
                self.client.delete_collection(self.collection)

    def count(self) -> int:
        with self._guard("count points"):
            return self.client.count(self.collection, exact=True).count

    def close(self) -> None:
        with contextlib.suppress(Exception), self._lock:
            self.client.close()

    # ---- writing ----------------------------------------------------------------------------

    def stored_docs(self) -> dict[tuple[str, str], StoredDoc]:
        """(service_id, lang) → the stored hash and point ids of every document in the store."""
        found: dict[tuple[str, str], tuple[str, set[str]]] = {}
        offset = None
        with self._guard("list stored documents"):
            while True:
                points, offset = self.client.scroll(
                    self.collection, limit=256, offset=offset, with_vectors=False,
                    with_payload=models.PayloadSelectorInclude(include=["service_id", "lang", "doc_hash"]))
                for point in points:
                    payload = point.payload or {}
                    key = (str(payload.get("service_id")), str(payload.get("lang")))
                    doc_hash, ids = found.setdefault(key, (str(payload.get("doc_hash")), set()))
                    if payload.get("doc_hash") != doc_hash:  # a half-written document: force a rewrite
                        found[key] = ("<mixed>", ids)
                    ids.add(str(point.id))
                if offset is None:
                    break
        return {key: StoredDoc(h, frozenset(ids)) for key, (h, ids) in found.items()}

    def upsert(self, points: Sequence[ChunkPoint]) -> None:
        if not points:
            return
        structs = [
            models.PointStruct(id=p.id, vector={DENSE: [float(x) for x in p.dense], SPARSE: _sparse(p.sparse)},
                               payload=p.payload)
            for p in points
        ]
        with self._guard("write points"):
            self.client.upsert(self.collection, points=structs, wait=True)

    def delete(self, point_ids: Sequence[str]) -> None:
        if not point_ids:
            return
        with self._guard("delete points"):
            self.client.delete(self.collection, points_selector=models.PointIdsList(points=list(point_ids)),
                               wait=True)

    # ---- reading ----------------------------------------------------------------------------

    def search(self, mode: str, *, dense: Sequence[float] | None, sparse: SparseVec | None,
               lang: str | None = None, limit: int = 10, prefetch_limit: int = 30, rrf_k: int = 2,
               weights: Sequence[float] | None = None, signals: Sequence[str] = (DENSE, SPARSE),
               ) -> dict[str, list[ScoredChunk]]:
        """One round trip: the ranked answer of ``mode`` plus the best score of each ``signals`` leg.

        ``mode`` is ``dense``, ``sparse`` or ``hybrid`` (a dense and a sparse prefetch fused by
        reciprocal rank fusion, ``weights`` = (dense, sparse)); its answer carries payloads. A
        signal leg answers only its top point, without payload. Everything is filtered by language.
        A leg without its query vector answers nothing; ``hybrid`` without lexical features is dense.
        """
        flt = lang_filter(lang)
        dense_q = [float(x) for x in dense] if dense is not None else None
        sparse_q = _sparse(sparse) if sparse is not None and len(sparse) else None
        vectors = {DENSE: dense_q, SPARSE: sparse_q}

        def single(leg: str, n: int, payload: Any) -> models.QueryRequest:
            return models.QueryRequest(query=vectors[leg], using=leg, filter=flt, limit=n, with_payload=payload)

        requests: dict[str, models.QueryRequest] = {}
        if mode == "hybrid" and dense_q is not None and sparse_q is not None:
            prefetch = [models.Prefetch(query=dense_q, using=DENSE, filter=flt, limit=prefetch_limit),
                        models.Prefetch(query=sparse_q, using=SPARSE, filter=flt, limit=prefetch_limit)]
            rrf = models.Rrf(k=rrf_k, weights=list(weights) if weights else None)
            # the prefetches are filtered, so the fused points are too: no second filter on top
            requests[mode] = models.QueryRequest(prefetch=prefetch, query=models.RrfQuery(rrf=rrf), limit=limit,
                                                 with_payload=RESULT_FIELDS)
        elif mode == "hybrid" and dense_q is not None:
            requests[mode] = single(DENSE, limit, RESULT_FIELDS)
        elif mode in vectors and vectors[mode] is not None:
            requests[mode] = single(mode, limit, RESULT_FIELDS)
        for leg in signals:
            if leg != mode and vectors.get(leg) is not None:
                requests[leg] = single(leg, 1, False)
        answers: dict[str, list[ScoredChunk]] = {leg: [] for leg in (mode, *signals)}
        if requests:
            with self._guard("search"):
                responses = self.client.query_batch_points(self.collection, requests=list(requests.values()))
            for leg, response in zip(requests, responses, strict=True):
                answers[leg] = [ScoredChunk(str(p.id), float(p.score), p.payload or {}) for p in response.points]
        return answers


def _unavailable(where: str, action: str, exc: BaseException, collection: str | None = None) -> VectorStoreUnavailable:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if collection is not None:
        hint = f"the collection {collection!r} does not exist: run `lui ingest` first"
    elif "already accessed" in detail:
        hint = "another process holds the local folder; stop it or point LUI_QDRANT_URL at a Qdrant server"
    elif "local folder" in where:
        hint = "check that the folder (LUI_DATA_DIR/qdrant) exists and is writable, and that the store is open"
    else:
        hint = "check that the server is running and reachable (LUI_QDRANT_URL, LUI_QDRANT_API_KEY)"
    return VectorStoreUnavailable(f"vector store unavailable: could not {action} on {where}: {detail}. Hint: {hint}.")
