"""LLM translation steered by the glossary: the pairs found in the text reach the prompt."""

from __future__ import annotations

from assistant.llm.translator import LLMTranslator
from tests.api.conftest import of_type
from tests.llm.conftest import make_client
from tests.llm.fake_openai import http_error, text
from tools import build_registry
from tools.context import ToolContext


async def test_glossary_pairs_are_in_the_prompt(fake, client):
    fake.script(text("“请查看我的余额并下载电子发票。”"))
    out = await LLMTranslator(client).translate("Please check my balance and download the e-invoice.", "zh", "en")
    assert out == "请查看我的余额并下载电子发票。"  # quotes around the answer are stripped
    system = fake.requests[0].messages[0]["content"]
    assert "balance → 余额" in system and "e-invoice → 电子发票" in system
    assert "Chinese (zh)" in system and "English (en)" in system
    assert not fake.requests[0].body.get("stream")


async def test_chinese_to_english_states_the_pairs_the_other_way(fake, client):
    fake.script(text("How do I get an e-invoice for my electricity bill?"))
    await LLMTranslator(client).translate("电费的电子发票怎么开？", "en")
    system = fake.requests[0].messages[0]["content"]
    assert "电子发票 → e-invoice" in system and "电费 → electricity bill" in system
    assert "余额" not in system  # only the pairs that occur in the text


async def test_the_translate_tool_uses_the_llm_translator(fake, assistant):
    fake.script(http_error(500), text("我的余额是多少？"))  # one retry on the primary, then the answer
    ctx = ToolContext("u_amy", "s_test", "k1", "en", assistant.billing, translator=LLMTranslator(make_client(fake)))
    result = await build_registry().call("translate", {"text": "What is my balance?", "target_lang": "zh"}, ctx)
    assert result.ok and result.data == {"status": "translated", "translation": "我的余额是多少？", "via": "llm",
                                         "target_lang": "zh"}
    assert len(fake.requests) == 2


async def test_translation_over_the_websocket(fake, assistant, connect_client):
    assistant.translator = LLMTranslator(make_client(fake))
    fake.script(text("请查看我的余额"))
    client = await connect_client(user="u_li", lang="zh")
    events = await client.say("请把 please check my balance 翻译成中文")
    assert of_type(events, "tool.result")[0]["data"]["via"] == "llm"
    assert "请查看我的余额" in events[-1]["text"]
    assert "balance → 余额" in fake.requests[0].messages[0]["content"]
