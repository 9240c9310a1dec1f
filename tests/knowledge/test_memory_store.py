"""The numpy copy of the catalogue index answers exactly as an in-memory Qdrant copy of the same folder:
same ids in the same order, scores within 1e-5 (equal-score ties may be listed in another order), the
same payload subset, on every query of the retrieval sets in every mode.

Each query is checked under one language filter (zh, en, none in turn) to keep the suite quick (a
Qdrant local-mode search costs ~20 ms); ``python -m evals.bench_lookup`` checks every query under
every filter (3,105 searches) and exits non-zero on any difference."""

from __future__ import annotations

import math

import pytest

from evals.bench_lookup import LANGS, Query, compare, differences, embed, search_args
from evals.retrieval import CALIB_EXTRA, DEV, load_rows
from knowledge.errors import VectorStoreUnavailable
from knowledge.memory_store import MemoryServiceStore, qdrant_idf
from knowledge.retrieval import MODES, open_retriever
from knowledge.sparse import SparseVec
from knowledge.store import ServiceStore


@pytest.fixture(scope="module")
def copies(catalogue_store):
    qdrant = ServiceStore.in_memory()
    catalogue_store.copy_into(qdrant)
    yield qdrant, MemoryServiceStore.copy_of(catalogue_store)
    qdrant.close()


@pytest.fixture(scope="module")
def queries(use_embedder) -> list[Query]:
    texts = [" ".join(row["query"].split()) for path in (DEV, CALIB_EXTRA) for row in load_rows(path)]
    return embed(use_embedder, texts)


def test_every_retrieval_query_gets_the_same_answer_as_from_qdrant(copies, queries):
    qdrant, numpy_store = copies
    assert numpy_store.count() == qdrant.count() > 100
    mismatches = []
    for lang in LANGS:
        result = compare(qdrant, numpy_store, queries[LANGS.index(lang)::len(LANGS)], langs=(lang,))
        mismatches += result["mismatches"]
    assert len(queries) >= 345 and mismatches == []


def test_queries_without_lexical_features_or_unknown_ones_agree_too(copies, use_embedder):
    qdrant, numpy_store = copies
    odd = embed(use_embedder, ["zzqxv", "?!", "的了吗", "xqzj 交电费"])  # unknown features, none, stop words only
    no_sparse = [Query(q.text, q.dense, None) for q in odd[:2]]
    for q in odd + no_sparse:
        for mode in MODES:
            for lang in LANGS:
                kwargs = search_args(q, mode, lang)
                assert differences(qdrant.search(mode, **kwargs), numpy_store.search(mode, **kwargs)) == [], (q.text,
                                                                                                              mode, lang)
    unknown = numpy_store.search("sparse", **search_args(odd[0], "sparse", None))
    assert unknown["sparse"] == [] and len(unknown["dense"]) == 1  # no shared feature: no lexical candidate


def test_the_answer_has_the_shape_the_retriever_reads(copies, queries):
    _, numpy_store = copies
    answers = numpy_store.search("hybrid", **search_args(queries[0], "hybrid", "zh"))
    assert set(answers) == {"hybrid", "dense", "sparse"}
    assert len(answers["hybrid"]) == 9 and all(c.payload["lang"] == "zh" for c in answers["hybrid"])
    assert {"service_id", "title", "deep_link"} <= answers["hybrid"][0].payload.keys()
    assert "text" not in answers["hybrid"][0].payload and "doc_hash" not in answers["hybrid"][0].payload
    assert len(answers["dense"]) == len(answers["sparse"]) == 1 and answers["dense"][0].payload == {}
    answers["hybrid"][0].payload["title"] = "changed"  # a caller's change does not reach the store
    assert numpy_store.search("hybrid", **search_args(queries[0], "hybrid", "zh"))["hybrid"][0].payload["title"] != \
        "changed"


def test_idf_is_qdrants_formula():
    assert qdrant_idf(1, 10) == pytest.approx(math.log(1 + 9.5 / 1.5))
    assert qdrant_idf(10, 10) == pytest.approx(math.log(1 + 0.5 / 10.5))


def test_sparse_scores_are_idf_weighted_dot_products():
    store = MemoryServiceStore(
        ["a", "b", "c"], [[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]],
        [SparseVec((1, 5), (2.0, 1.0)), SparseVec((5,), (3.0,)), None],
        [{"lang": "en", "service_id": "a"}, {"lang": "zh", "service_id": "b"}, {"lang": "en", "service_id": "c"}])
    answers = store.search("sparse", dense=[0.0, 1.0], sparse=SparseVec((5, 1), (0.5, 1.0)), limit=5)
    n = 2  # points holding a sparse vector
    a = 1.0 * qdrant_idf(1, n) * 2.0 + 0.5 * qdrant_idf(2, n) * 1.0
    b = 0.5 * qdrant_idf(2, n) * 3.0
    assert [c.id for c in answers["sparse"]] == ["a", "b"]
    assert [c.score for c in answers["sparse"]] == pytest.approx([a, b])
    assert [(c.id, round(c.score, 6)) for c in answers["dense"]] == [("b", 1.0)]  # cosine: normalised
    assert store.search("sparse", dense=None, sparse=SparseVec((1,), (1.0,)), lang="zh")["sparse"] == []


def test_a_folder_without_the_collection_is_reported(tmp_path):
    empty = ServiceStore.open(path=tmp_path / "empty")
    try:
        with pytest.raises(VectorStoreUnavailable, match="lui ingest"):
            MemoryServiceStore.copy_of(empty)
    finally:
        empty.close()


def test_open_retriever_serves_the_local_folder_from_the_numpy_copy(settings, use_embedder):
    retriever = open_retriever(settings, use_embedder)
    assert isinstance(retriever.store, MemoryServiceStore) and retriever.store.count() > 100
    assert retriever.search("怎么开电子发票", "zh").best.id == "e-invoice"
