"""The ``lookup_service`` tool through the real registry, retriever, USE model and Qdrant local mode."""

from __future__ import annotations

import socket

import pytest

from knowledge.retrieval import ServiceRetriever
from knowledge.store import ServiceStore
from tools.context import ToolContext
from tools.registry import ToolRegistry
from tools.services import lookup_service


@pytest.fixture
def registry() -> ToolRegistry:
    r = ToolRegistry()
    r.register(lookup_service, timeout_s=5.0)
    return r


def context(retriever, lang: str = "zh") -> ToolContext:
    return ToolContext(user_id="u1", session_id="s1", turn_key="t1", lang=lang, billing=None,  # type: ignore[arg-type]
                       retriever=retriever)


def test_the_schema_comes_from_the_signature_and_docstring(registry):
    spec = registry.get("lookup_service").function_spec()["function"]
    assert spec["parameters"]["required"] == ["query"]
    assert "own words" in spec["parameters"]["properties"]["query"]["description"]
    assert spec["description"].startswith("Find the app service")


async def test_found_in_chinese(registry, retriever):
    result = await registry.call("lookup_service", {"query": "这个月的电费在哪交"}, context(retriever, "zh"))
    assert result.ok, result.error
    assert result.data["status"] == "found"
    service = result.data["service"]
    assert service["id"] == "electricity-bill" and service["title"] == "缴纳电费"
    assert service["deep_link"] == "app://service/electricity-bill"
    assert set(service) == {"id", "title", "summary", "deep_link", "needs", "steps"}
    assert isinstance(service["steps"], list) and service["steps"]
    assert len(result.data["alternatives"]) == 2
    assert all(a["id"] != "electricity-bill" for a in result.data["alternatives"])


async def test_found_in_english(registry, retriever):
    result = await registry.call("lookup_service", {"query": "I lost my social security card"}, context(retriever, "en"))
    assert result.ok and result.data["status"] == "found"
    assert result.data["service"]["id"] == "social-security-card-loss"
    assert result.data["service"]["title"] == "Report lost social security card"


@pytest.mark.parametrize(("query", "lang"), [("what is the capital of Australia", "en"), ("红烧肉怎么做才好吃", "zh")])
async def test_no_match(registry, retriever, query, lang):
    result = await registry.call("lookup_service", {"query": query}, context(retriever, lang))
    assert result.ok
    assert result.data == {"status": "no_match"}


async def test_a_dead_vector_store_is_a_retryable_error(registry, use_embedder):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = ServiceStore.open(url=f"http://127.0.0.1:{port}", timeout_s=2)
    dead = ServiceRetriever(use_embedder, store)
    result = await registry.call("lookup_service", {"query": "交电费"}, context(dead))
    assert not result.ok
    assert result.error["code"] == "vector-store-unavailable"
    assert result.error["retryable"] is True
    assert "vector store unavailable" in result.error["message"]


async def test_no_retriever_is_unavailable(registry):
    result = await registry.call("lookup_service", {"query": "交电费"}, context(None))
    assert not result.ok and result.error["code"] == "vector-store-unavailable"


async def test_arguments_are_validated(registry, retriever):
    result = await registry.call("lookup_service", {}, context(retriever))
    assert not result.ok and result.error["code"] == "invalid-arguments"
