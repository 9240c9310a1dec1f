"""Word requests are answered without an LLM through the real router; a sentence still needs the model."""

from __future__ import annotations

import pytest

from assistant.turns import Assistant
from tests.conftest import demo_assistant, say


@pytest.fixture
def assistant(settings, router) -> Assistant:
    return demo_assistant(settings, router)  # the real router, no LLM configured


@pytest.mark.parametrize(("lang", "text", "expected"), [
    ("zh", "苹果用英语怎么说", "apple"),
    ("zh", "医院用英文怎么说", "hospital"),
    ("zh", "醫院用英文怎麼說", "hospital"),
    ("en", "how do you say hospital in Chinese", "医院"),
    ("en", "translate umbrella into Chinese", "伞"),
])
async def test_a_word_is_translated_without_an_llm(assistant, lang, text, expected):
    assert assistant.translator is None and assistant.llm is None
    session, _ = assistant.open_session("u_li", lang)
    events = await say(assistant, session, text)
    results = [e for e in events if e["type"] == "tool.result"]
    assert results and results[0]["data"]["via"] == "dictionary"
    reply = events[-1]
    assert reply["type"] == "reply" and expected in reply["text"].casefold()
    assert "大模型" not in reply["text"] and "language model" not in reply["text"]


@pytest.mark.parametrize(("lang", "text", "needs", "offline"), [
    ("zh", "把'我对花生过敏，请帮我问一下这道菜里有没有花生'翻译成英文", "大模型", "单词、短语"),
    ("en", "translate 'please tell the driver that I am allergic to peanuts' into Chinese", "language model",
     "words, short phrases"),
    ("zh", "谢谢用日语怎么说", "大模型", "中英文"),
])
async def test_a_sentence_or_another_language_still_needs_the_llm(assistant, lang, text, needs, offline):
    session, _ = assistant.open_session("u_li", lang)
    events = await say(assistant, session, text)
    assert [e for e in events if e["type"] == "tool.call" and e["name"] == "translate"]
    results = [e for e in events if e["type"] == "tool.result"]
    assert results[0]["data"]["status"] == "needs_llm"
    assert needs in events[-1]["text"] and offline in events[-1]["text"]  # and says what works without it
