"""Translation: app terms from a glossary and zh↔en words from a dictionary offline; free text needs the LLM.

The glossary keeps app terms consistent (balance → 余额, never 平衡; e-invoice → 电子发票). Without an
LLM the tool also translates single words and short phrases between Chinese and English from CC-CEDICT
(:mod:`tools.dictionary`: "苹果" → "apple", "good morning" → "早安"), and says plainly when longer
text or another language needs the model. With an LLM, everything past the glossary goes to the model.
The tool is ``async``: an LLM translation waits on the network, not on a thread, so its timeout
really stops it (a provider that trickles its answer cannot hold a worker thread).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from common.hanzi import to_simplified
from tools.context import ToolContext
from tools.dictionary import load_dictionary

GLOSSARY_PATH = Path(__file__).with_name("glossary.yaml")
_STRIP = re.compile(r"^[\s'\"“”‘’「」]+|[\s'\"“”‘’「」。.!！?？,，]+$")


@dataclass(frozen=True)
class Glossary:
    zh_to_en: dict[str, str]
    en_to_zh: dict[str, str]

    def lookup(self, text: str, target_lang: str) -> str | None:
        key = _STRIP.sub("", text)
        if target_lang == "en":
            return self.zh_to_en.get(key)
        if target_lang == "zh":
            return self.en_to_zh.get(key.casefold())
        return None

    def terms_for(self, text: str) -> list[tuple[str, str]]:
        """The glossary pairs that occur in ``text`` (to steer an LLM translation)."""
        lowered = text.casefold()
        return [(zh, en) for zh, en in self.zh_to_en.items() if zh in text or en.casefold() in lowered]


@lru_cache(maxsize=1)
def load_glossary(path: Path = GLOSSARY_PATH) -> Glossary:
    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    zh_to_en = {row["zh"]: row["en"] for row in rows}
    en_to_zh: dict[str, str] = {}
    for row in rows:
        en_to_zh.setdefault(row["en"].casefold(), row["zh"])
    return Glossary(zh_to_en, en_to_zh)


async def translate(ctx: ToolContext, text: str, target_lang: str, source_lang: str | None = None) -> dict[str, Any]:
    """Translate words or a sentence into another language.

    Args:
        text: the exact words to translate.
        target_lang: ISO 639-1 code of the language to translate into (en, zh, ja, fr ...).
        source_lang: ISO 639-1 code of the original language, if known.
    """
    found = load_glossary().lookup(text, target_lang)
    if found is not None:
        return {"status": "translated", "translation": found, "via": "glossary", "target_lang": target_lang}
    if ctx.translator is not None:
        result = await ctx.translator.translate(text, target_lang, source_lang)
        return {"status": "translated", "translation": result, "via": "llm", "target_lang": target_lang}
    found = await asyncio.to_thread(dictionary_lookup, text, target_lang)  # the first call reads the dictionary
    if found is not None:
        return {"status": "translated", "translation": found, "via": "dictionary", "target_lang": target_lang}
    return {"status": "needs_llm", "target_lang": target_lang}


def dictionary_lookup(text: str, target_lang: str) -> str | None:
    """A zh↔en word or short phrase from CC-CEDICT, after the glossary's quote stripping; None otherwise."""
    if target_lang not in ("en", "zh"):
        return None
    key = _STRIP.sub("", text)
    if not key:
        return None
    dictionary = load_dictionary()  # traditional headwords are in it; to_simplified mends mixed forms ("電脑")
    return dictionary.lookup(key, target_lang) or dictionary.lookup(to_simplified(key), target_lang)
