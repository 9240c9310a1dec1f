"""Several processes on one data folder: each worker searches its own in-memory copy of the
catalogue index, so Qdrant local mode's one-client-per-folder lock never locks a worker out, and
``lui ingest`` runs while workers serve."""

from __future__ import annotations

import subprocess
import sys

import httpx

from knowledge.retrieval import open_retriever
from knowledge.store import ServiceStore
from tests.workers import REPO, Worker, start_all, worker_env


def test_two_retrievers_on_one_folder_both_answer(settings, use_embedder):
    first = open_retriever(settings, use_embedder)
    second = open_retriever(settings, use_embedder)  # local mode used to refuse: "already accessed"
    for retriever in (first, second):
        assert retriever.search("怎么开电子发票", "zh").best.id == "e-invoice"
    # and the folder itself is free again: an ingest (or a third worker) can open it now
    ServiceStore.from_settings(settings).close()


def test_the_folder_is_waited_for_while_another_client_holds_it(settings, use_embedder):
    holder = ServiceStore.from_settings(settings)
    try:
        import threading

        threading.Timer(0.5, holder.close).start()  # e.g. a worker copying the index, or an ingest
        retriever = open_retriever(settings, use_embedder, lock_wait_s=30)
    finally:
        holder.close()
    assert retriever.search("how do I get an e-invoice", "en").best.id == "e-invoice"


def test_two_worker_processes_on_one_data_dir_answer_service_questions(tmp_path, shared_cache, router):
    env = worker_env(data_dir=tmp_path / "data", cache_path=shared_cache)  # router: trained into the cache
    workers = start_all([Worker(env, log_path=tmp_path / f"w{i}.log") for i in range(2)])
    try:
        for w in workers:
            assert httpx.get(f"{w.http}/readyz", timeout=10).json()["parts"]["vector_store"] == "ok"
            body = httpx.post(f"{w.http}/v1/turns", json={"text": "怎么开电子发票"}, timeout=60).json()
            result = next(e for e in body["events"] if e["type"] == "tool.result")
            assert result["ok"] and result["data"]["service"]["id"] == "e-invoice", body
        # the catalogue can be re-ingested without stopping anything
        done = subprocess.run([sys.executable, "-m", "assistant", "ingest"], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        assert "unchanged 188" in done.stdout or "unchanged" in done.stdout
    finally:
        for w in workers:
            w.stop()
