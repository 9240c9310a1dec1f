"""Catalogue loading and idempotent ingestion into a real Qdrant local folder."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml

from assistant.ingest import main
from knowledge.catalogue import CatalogueError, load_catalogue
from knowledge.embedders import Embedder
from knowledge.errors import VectorStoreUnavailable
from knowledge.ingest import IngestReport, ingest, point_id
from knowledge.store import ServiceStore


class CountingEmbedder(Embedder):
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: Embedder, name: str | None = None):
        self.inner, self.name, self.dim = inner, name or inner.name, inner.dim
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.encode(texts)


def service(sid: str, zh_title: str, en_title: str, summary: str = "Pay it in the app.") -> dict:
    block = {"synonyms": [], "needs": ["account number"], "steps": ["Open it", "Pay"]}
    return {"id": sid, "category": "test", "deep_link": f"app://service/{sid}",
            "zh": {**block, "title": zh_title, "summary": "在应用里缴纳。"},
            "en": {**block, "title": en_title, "summary": summary}}


def write(folder: Path, data: dict) -> None:
    (folder / f"{data['id']}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def catalogue(tmp_path) -> Path:
    folder = tmp_path / "services"
    folder.mkdir()
    write(folder, service("water-bill", "缴纳水费", "Pay water bill"))
    write(folder, service("gas-bill", "缴纳燃气费", "Pay gas bill"))
    write(folder, service("train-tickets", "火车票购买", "Book train tickets", "Buy high-speed rail tickets."))
    return folder


@pytest.fixture
def store(tmp_path):
    store = ServiceStore.open(path=tmp_path / "qdrant")
    yield store
    store.close()


def stored(store: ServiceStore) -> dict:
    return {key: doc.doc_hash for key, doc in store.stored_docs().items()}


def test_the_packaged_catalogue_is_valid():
    catalogue = load_catalogue()
    assert len(catalogue) == 94
    assert len({s.id for s in catalogue}) == 94
    for svc in catalogue:
        assert [d.lang for d in svc.docs] == ["zh", "en"]
        assert svc.deep_link.startswith("app://")
        assert svc.doc("en").title and svc.doc("zh").steps


def test_content_hash_is_stable_and_follows_the_content(catalogue):
    first = load_catalogue(catalogue).get("water-bill").doc("en")
    again = load_catalogue(catalogue).get("water-bill").doc("en")
    assert first.content_hash == again.content_hash
    write(catalogue, service("water-bill", "缴纳水费", "Pay water bill", "Now with autopay."))
    edited = load_catalogue(catalogue).get("water-bill")
    assert edited.doc("en").content_hash != first.content_hash
    assert edited.doc("zh").content_hash == load_catalogue(catalogue).get("water-bill").doc("zh").content_hash


@pytest.mark.parametrize("breakage", [
    lambda d: d.pop("zh"),
    lambda d: d["en"].pop("title"),
    lambda d: d["en"].update(steps="not a list"),
    lambda d: d.update(deep_link="nowhere"),
    lambda d: d.update(id="Other ID"),
])
def test_invalid_files_are_refused_with_the_file_named(tmp_path, breakage):
    data = service("water-bill", "缴纳水费", "Pay water bill")
    breakage(data)
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "water-bill.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError, match="water-bill.yaml"):
        load_catalogue(folder)


def test_point_ids_are_deterministic_uuids():
    assert point_id("water-bill", "en", 0) == point_id("water-bill", "en", 0)
    assert point_id("water-bill", "en", 0) != point_id("water-bill", "zh", 0)
    assert point_id("water-bill", "en", 1) != point_id("water-bill", "en", 0)
    # pinned: changing it would orphan every point of every deployed store
    assert point_id("water-bill", "en", 0) == "e2d8fb2f-fb05-5149-8504-d8cea07dac4c"


def test_add_rerun_edit_delete(catalogue, store, embedder):
    counting = CountingEmbedder(embedder)
    progress: list[tuple[int, int]] = []

    report = ingest(counting, store, catalogue, progress=lambda done, total: progress.append((done, total)),
                    batch_docs=4)
    assert report == IngestReport(added=6, chunks_written=6, seconds=report.seconds)
    assert store.count() == 6 and len(counting.texts) == 6
    assert progress == [(4, 6), (6, 6)]
    before = stored(store)

    counting.texts.clear()
    report = ingest(counting, store, catalogue)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 0, 6)
    assert not report.changed and counting.texts == [] and stored(store) == before

    write(catalogue, service("water-bill", "缴纳水费", "Pay water bill", "Pay water and sewage charges."))
    report = ingest(counting, store, catalogue)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 1, 0, 5)
    assert len(counting.texts) == 1 and "sewage" in counting.texts[0]
    after = stored(store)
    assert after[("water-bill", "en")] != before[("water-bill", "en")]
    assert {k: v for k, v in after.items() if k != ("water-bill", "en")} == \
           {k: v for k, v in before.items() if k != ("water-bill", "en")}
    assert store.count() == 6  # replaced in place, not added

    (catalogue / "gas-bill.yaml").unlink()
    report = ingest(counting, store, catalogue)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 2, 4)
    assert store.count() == 4 and ("gas-bill", "en") not in stored(store)

    counting.texts.clear()
    report = ingest(counting, store, catalogue)
    assert not report.changed and report.unchanged == 4 and counting.texts == []


def test_an_edit_is_what_search_returns(catalogue, store, embedder):
    from knowledge.retrieval import ServiceRetriever

    ingest(embedder, store, catalogue)
    write(catalogue, service("train-tickets", "火车票购买", "Book train tickets", "Seats on every train, changed."))
    ingest(embedder, store, catalogue)
    result = ServiceRetriever(embedder, store).search("book a train ticket", "en")
    assert result.hits[0].id == "train-tickets"
    assert result.hits[0].summary == "Seats on every train, changed."


def test_a_new_embedder_reembeds_everything(catalogue, store, embedder):
    ingest(embedder, store, catalogue)
    report = ingest(CountingEmbedder(embedder, name="another-model"), store, catalogue)
    assert (report.updated, report.unchanged) == (6, 0)


def test_a_broken_catalogue_leaves_the_store_untouched(catalogue, store, embedder):
    ingest(embedder, store, catalogue)
    before = stored(store)
    (catalogue / "broken.yaml").write_text("id: broken\nzh: {}\n", encoding="utf-8")
    with pytest.raises(CatalogueError):
        ingest(embedder, store, catalogue)
    assert stored(store) == before


def test_rebuild_starts_from_scratch(catalogue, store, embedder):
    ingest(embedder, store, catalogue)
    report = ingest(embedder, store, catalogue, rebuild=True)
    assert report.added == 6 and store.count() == 6


def test_a_locked_local_folder_is_unavailable_and_says_why(tmp_path):
    first = ServiceStore.open(path=tmp_path / "q")
    try:
        with pytest.raises(VectorStoreUnavailable, match="another process") as info:
            ServiceStore.open(path=tmp_path / "q")
        assert info.value.retryable and info.value.code == "vector-store-unavailable"
    finally:
        first.close()


def test_an_unreachable_server_is_unavailable():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = ServiceStore.open(url=f"http://127.0.0.1:{port}", timeout_s=2)
    with pytest.raises(VectorStoreUnavailable, match=f"127.0.0.1:{port}") as info:
        store.exists()
    assert info.value.retryable


def test_cli_ingests_into_the_settings_folder_and_reports(tmp_path, monkeypatch, capsys, catalogue):
    monkeypatch.setenv("LUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LUI_QDRANT_URL", raising=False)
    assert main(["--catalogue", str(catalogue)]) == 0
    out = capsys.readouterr().out
    assert "embedded 6/6 documents" in out and "added 6, updated 0, deleted 0, unchanged 0" in out
    assert (tmp_path / "data" / "qdrant").is_dir()
    assert main(["--catalogue", str(catalogue)]) == 0
    assert "added 0, updated 0, deleted 0, unchanged 6" in capsys.readouterr().out
