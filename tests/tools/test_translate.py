"""Offline translation: glossary terms both ways; free text says it needs the LLM."""

from __future__ import annotations

from tools.context import ToolContext
from tools.translate import load_glossary, translate


class EchoTranslator:
    async def translate(self, text, target_lang, source_lang=None):
        return f"<{target_lang}>{text}"


def _ctx(translator=None) -> ToolContext:
    return ToolContext("u_li", "s1", "t1", "zh", billing=None, translator=translator)  # type: ignore[arg-type]


async def test_glossary_terms_translate_both_ways():
    assert (await translate(_ctx(), "余额", "en"))["translation"] == "balance"
    assert (await translate(_ctx(), "“谢谢”", "en"))["translation"] == "thank you"
    assert (await translate(_ctx(), "E-Invoice", "zh"))["translation"] == "电子发票"
    assert (await translate(_ctx(), "balance", "zh"))["translation"] == "余额"  # never 平衡


async def test_free_text_needs_the_llm_or_uses_it():
    assert (await translate(_ctx(), "我对花生过敏", "en")) == {"status": "needs_llm", "target_lang": "en"}
    assert (await translate(_ctx(), "谢谢", "ja"))["status"] == "needs_llm"
    out = await translate(_ctx(EchoTranslator()), "我对花生过敏", "en")
    assert out == {"status": "translated", "translation": "<en>我对花生过敏", "via": "llm", "target_lang": "en"}


def test_terms_for_finds_glossary_pairs_in_a_sentence():
    pairs = load_glossary().terms_for("我的余额不够交电费")
    assert ("余额", "balance") in pairs and ("电费", "electricity bill") in pairs


async def test_words_without_an_llm_come_from_the_dictionary():
    out = await translate(_ctx(), "苹果", "en")
    assert out == {"status": "translated", "translation": "apple", "via": "dictionary", "target_lang": "en"}
    assert (await translate(_ctx(), "'hospital'", "zh"))["translation"] == "医院"
    assert (await translate(_ctx(), "balance", "zh"))["via"] == "glossary"  # the glossary still comes first
    out = await translate(_ctx(EchoTranslator()), "苹果", "en")  # with an LLM, the model translates
    assert out["via"] == "llm"
