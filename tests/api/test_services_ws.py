"""Service lookup through a websocket turn: the catalogue in Qdrant local mode, hybrid retrieval."""

from __future__ import annotations

import pytest

from knowledge.retrieval import ServiceRetriever
from knowledge.store import ServiceStore
from tests.api.conftest import of_type
from tools.services import lookup_service


@pytest.fixture
def with_lookup(assistant, retriever):
    assistant.retriever = retriever
    assistant.registry.register(lookup_service, timeout_s=5.0)
    return assistant


@pytest.mark.parametrize(("text", "lang", "service", "words"), [
    ("怎么开电子发票", "zh", "e-invoice", "发票"),
    ("where do I find the bus QR code", "en", "transit-qr-code", "app://service/"),
    ("医保电子凭证在哪里", "zh", "medical-insurance-code", "医保"),
])
async def test_lookup_finds_the_service_and_its_deep_link(with_lookup, connect_client, text, lang, service, words):
    client, _ = await connect_client(user="u_li", lang=lang)
    events = await client.say(text)
    assert of_type(events, "intent")[0]["name"] == "lookup_service"
    result = of_type(events, "tool.result")[0]
    assert result["name"] == "lookup_service" and result["data"]["status"] == "found"
    assert result["data"]["service"]["id"] == service
    reply = events[-1]
    assert reply["card"]["deep_link"] == f"app://service/{service}" and words in reply["text"]


@pytest.mark.parametrize(("text", "lang", "words", "quick"), [
    ("where do I register my pet dragon with the wizard council", "en", "can't help", "Pay a bill"),
    ("帮我查下怎么倒车入库", "zh", "帮不了您", "交费"),
])
async def test_nothing_good_enough_is_out_of_scope(with_lookup, connect_client, text, lang, words, quick):
    client, _ = await connect_client(user="u_amy", lang=lang)
    events = await client.say(text)
    if of_type(events, "tool.result"):  # routed to lookup: the tool must not return a wrong service
        assert of_type(events, "tool.result")[0]["data"]["status"] == "no_match"
    reply = events[-1]  # either way the answer is a plain "can't help" with what lui can do, not "no service"
    assert reply["type"] == "reply" and words in reply["text"] and quick in reply["quick_replies"]
    assert not reply.get("card")


async def test_dead_vector_store_answers_and_the_session_goes_on(assistant, connect_client, tmp_path, use_embedder):
    store = ServiceStore.open(path=tmp_path / "q")
    store.close()  # closed: every call fails
    assistant.retriever = ServiceRetriever(use_embedder, store)
    assistant.registry.register(lookup_service, timeout_s=5.0)
    client, _ = await connect_client(user="u_li", lang="zh")
    events = await client.say("怎么开电子发票")
    result = of_type(events, "tool.result")[0]
    assert not result["ok"] and result["error"]["code"] == "vector-store-unavailable"
    assert "暂时不可用" in events[-1]["text"]
    assert (await client.say("我还有多少钱"))[-1]["type"] == "reply"
