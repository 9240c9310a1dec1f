"""Hybrid service retrieval on the real catalogue, real USE embedder and Qdrant local mode."""

from __future__ import annotations

import pytest

from knowledge.errors import VectorStoreUnavailable
from knowledge.retrieval import ServiceRetriever
from knowledge.store import ServiceStore

# Written for these tests; none is a line of the eval data.
OBVIOUS = [
    ("交电费", "zh", "electricity-bill"),
    ("我要交这个月的水费", "zh", "water-bill"),
    ("公积金怎么提取出来", "zh", "housing-fund-withdraw"),
    ("买一张去北京的火车票", "zh", "train-tickets"),
    ("给手机充话费", "zh", "phone-topup"),
    ("开电子发票", "zh", "e-invoice"),
    ("pay my electricity bill", "en", "electricity-bill"),
    ("book a train ticket to Beijing", "en", "train-tickets"),
    ("top up my phone credit", "en", "phone-topup"),
    ("withdraw money from my housing fund", "en", "housing-fund-withdraw"),
    ("report my social security card lost", "en", "social-security-card-loss"),
    ("check my wallet balance", "en", "wallet-balance"),
]
UNCOVERED = [
    ("asdf qwerty zxcv", "en"),
    ("tell me about the history of the Roman empire", "en"),
    ("what is the capital of Australia", "en"),
    ("给我讲个笑话吧", "zh"),
    ("红烧肉怎么做才好吃", "zh"),
    ("今天天气怎么样", "zh"),
]


@pytest.mark.parametrize(("query", "lang", "service_id"), OBVIOUS)
def test_obvious_queries_find_the_right_service(retriever, query, lang, service_id):
    result = retriever.search(query, lang)
    assert result.confident
    assert result.hits[0].id == service_id
    assert result.best is result.hits[0]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_every_mode_finds_an_obvious_service(retriever, mode):
    result = retriever.search("pay my water bill", "en", mode=mode)
    assert result.mode == mode
    assert "water-bill" in [h.id for h in result.hits]


def test_an_english_query_in_english_returns_english_documents_only(retriever):
    result = retriever.search("pay electricity bill 电费", "en", limit=10)
    assert len(result.hits) == 10
    assert {h.lang for h in result.hits} == {"en"}
    assert result.hits[0].title == "Pay electricity bill"


def test_a_chinese_query_in_chinese_returns_chinese_documents_only(retriever):
    for mode in ("hybrid", "dense", "sparse"):
        result = retriever.search("electricity 交电费", "zh", limit=10, mode=mode)
        assert {h.lang for h in result.hits} == {"zh"}, mode
    assert retriever.search("交电费", "zh").hits[0].title == "缴纳电费"


def test_without_a_language_either_document_can_answer(retriever):
    result = retriever.search("交电费", None, limit=5)
    assert result.hits[0].id == "electricity-bill"
    assert len({h.id for h in result.hits}) == len(result.hits)  # one hit per service


def test_hits_carry_what_the_tool_returns(retriever):
    hit = retriever.search("apply for a passport", "en").hits[0]
    assert hit.id == "passport" and hit.lang == "en"
    assert hit.deep_link == "app://service/passport"
    assert hit.title and hit.summary and hit.steps and isinstance(hit.needs, tuple)


def test_limit_and_unique_services(retriever):
    result = retriever.search("医保", "zh", limit=5)
    ids = [h.id for h in result.hits]
    assert len(ids) == 5 == len(set(ids))
    assert all(i.startswith("medical-insurance") for i in ids[:3])


@pytest.mark.parametrize(("query", "lang"), UNCOVERED)
def test_nonsense_and_uncovered_requests_are_no_match(retriever, query, lang):
    result = retriever.search(query, lang)
    assert not result.confident
    assert result.best is None


def test_an_empty_query_is_no_match(retriever):
    result = retriever.search("   ", "en")
    assert result.hits == [] and not result.confident


def test_an_unknown_mode_is_a_programming_error(retriever):
    with pytest.raises(ValueError, match="mode"):
        retriever.search("water", "en", mode="bm25")  # type: ignore[arg-type]


def test_the_no_match_signals_are_real_similarities(retriever):
    good = retriever.search("缴纳电费", "zh")
    bad = retriever.search("给我讲个笑话吧", "zh")
    assert 0.0 < bad.top_dense < good.top_dense <= 1.0001
    assert bad.top_sparse < good.top_sparse


def test_search_before_ingestion_says_to_ingest(tmp_path, embedder):
    store = ServiceStore.open(path=tmp_path / "empty")
    try:
        with pytest.raises(VectorStoreUnavailable, match="lui ingest"):
            ServiceRetriever(embedder, store).search("water bill", "en")
    finally:
        store.close()


def test_a_closed_store_is_unavailable(tmp_path, embedder):
    store = ServiceStore.open(path=tmp_path / "closed")
    store.close()
    with pytest.raises(VectorStoreUnavailable):
        ServiceRetriever(embedder, store).search("water bill", "en")
