"""Ingest the service catalogue into the vector store, idempotently.

Each (service, language) document becomes its chunks (see :func:`chunk_doc`; today one), each
chunk one point with a dense and a sparse vector. Point ids are UUIDv5 of
``service_id:lang:chunk_no``, so a re-run addresses the same points. A document whose hash
(content + embedder + sparse encoder + ``INDEX_VERSION``) is unchanged is skipped; an edited one is
re-embedded and overwrites its points (stale extra chunks are deleted); a document no longer in the
catalogue loses its points. Everything is validated before the store is touched.

The store, embedder and catalogue folder are arguments; ``lui ingest`` (:mod:`assistant.ingest`)
builds them from the settings.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.catalogue import DEFAULT_CATALOGUE_DIR, ServiceDoc, load_catalogue
from knowledge.embedders import Embedder
from knowledge.sparse import SparseEncoder, SparseVec
from knowledge.store import ChunkPoint, ServiceStore

INDEX_VERSION = "c1s2"  # bump when chunk_doc or sparse_doc changes: every document is then re-indexed
POINT_NAMESPACE = uuid.UUID("5d0c6a53-8f0e-4b8e-9d8b-6c1f1f6b1e01")
# sparse fields: (boost, with typo-tolerant trigrams). Names matter more than steps; trigrams of
# needs/steps added length (local-mode search time) without finding more on the calibration split.
SPARSE_FIELDS = {"title": (2.0, True), "synonyms": (1.5, True), "summary": (1.0, True),
                 "needs": (0.5, False), "steps": (0.5, False)}

Progress = Callable[[int, int], None]  # (documents done, documents to embed)


@dataclass(frozen=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    chunks_written: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def __str__(self) -> str:
        return (f"added {self.added}, updated {self.updated}, deleted {self.deleted}, unchanged {self.unchanged} "
                f"documents ({self.chunks_written} chunks written in {self.seconds:.1f}s)")


def point_id(service_id: str, lang: str, chunk_no: int) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"{service_id}:{lang}:{chunk_no}"))


def chunk_doc(doc: ServiceDoc) -> list[str]:
    """The dense texts of a document, one point each: today the whole document as one chunk.

    Splitting (a short names chunk, per-phrase chunks, multivectors) was measured on the
    calibration split and did not beat one chunk per document (see evals/retrieval.py).
    """
    return [doc.text]


def sparse_doc(encoder: SparseEncoder, doc: ServiceDoc) -> SparseVec:
    """One lexical vector per document (given to each of its chunks), fields weighted."""
    texts = {"title": doc.title, "synonyms": " ; ".join(doc.synonyms), "summary": doc.summary,
             "needs": " ; ".join(doc.needs), "steps": " ; ".join(doc.steps)}
    return encoder.encode_doc([(texts[name], boost, tri) for name, (boost, tri) in SPARSE_FIELDS.items()])


def index_hash(doc: ServiceDoc, embedder: Embedder, encoder: SparseEncoder) -> str:
    """Changes when the document, the embedder, the sparse encoder or the indexing changes."""
    blob = "|".join([doc.content_hash, embedder.name, str(embedder.dim), encoder.name, INDEX_VERSION])
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=16).hexdigest()


def build_points(docs: Sequence[ServiceDoc], hashes: Sequence[str], embedder: Embedder,
                 encoder: SparseEncoder) -> list[ChunkPoint]:
    texts = [chunk_doc(doc) for doc in docs]
    flat = [t for chunks in texts for t in chunks]
    vectors = embedder.encode(flat)
    points, row = [], 0
    for doc, doc_hash, chunks in zip(docs, hashes, texts, strict=True):
        sparse = sparse_doc(encoder, doc)
        for chunk_no, text in enumerate(chunks):
            payload = {
                "service_id": doc.service_id, "lang": doc.lang, "chunk": chunk_no, "doc_hash": doc_hash,
                "category": doc.category, "title": doc.title, "summary": doc.summary, "deep_link": doc.deep_link,
                "needs": list(doc.needs), "steps": list(doc.steps), "text": text,
            }
            points.append(ChunkPoint(point_id(doc.service_id, doc.lang, chunk_no), vectors[row], sparse, payload))
            row += 1
    return points


def ingest(embedder: Embedder, store: ServiceStore, catalogue_dir: str | Path = DEFAULT_CATALOGUE_DIR, *,
           encoder: SparseEncoder | None = None, progress: Progress | None = None, batch_docs: int = 16,
           rebuild: bool = False) -> IngestReport:
    """Bring the store in line with the catalogue; embeds only what changed."""
    started = time.perf_counter()
    encoder = encoder or SparseEncoder()
    docs = load_catalogue(catalogue_dir).docs()  # validate everything before touching the store
    if rebuild:
        store.drop()
    store.ensure_collection(embedder.dim)
    stored = store.stored_docs()
    hashes = {doc.key: index_hash(doc, embedder, encoder) for doc in docs}
    todo = [doc for doc in docs if doc.key not in stored or stored[doc.key].doc_hash != hashes[doc.key]]
    added = sum(1 for doc in todo if doc.key not in stored)
    written = 0
    for start in range(0, len(todo), batch_docs):
        batch = todo[start:start + batch_docs]
        points = build_points(batch, [hashes[d.key] for d in batch], embedder, encoder)
        store.upsert(points)  # overwrite first, then drop stale chunks: no gap in the answers
        new_ids = {p.id for p in points}
        stale = [pid for d in batch if d.key in stored for pid in stored[d.key].point_ids if pid not in new_ids]
        store.delete(stale)
        written += len(points)
        if progress is not None:
            progress(min(start + batch_docs, len(todo)), len(todo))
    gone = [key for key in stored if key not in hashes]
    store.delete([pid for key in gone for pid in stored[key].point_ids])
    return IngestReport(added=added, updated=len(todo) - added, deleted=len(gone),
                        unchanged=len(docs) - len(todo), chunks_written=written,
                        seconds=time.perf_counter() - started)
