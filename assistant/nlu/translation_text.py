"""The words a translation request wants translated: "把'谢谢'翻译成英文" → "谢谢"."""

from __future__ import annotations

import re

from assistant.nlu.hanzi import to_simplified
from assistant.nlu.langs import ANY_LANGUAGE, NAME_TO_CODE, QUOTE_RE, mask_quotes

L = ANY_LANGUAGE
_ANY_LANGUAGE_RE = re.compile(L, re.IGNORECASE)
_CHINESE_LANGUAGE = (
    "(?:" + "|".join(sorted((n for n in NAME_TO_CODE if not n.isascii()), key=len, reverse=True)) + ")"
)
_HOW = r"(?:怎么|咋|如何|要怎么)"
_SAY = r"(?:说|讲|写|表达|表示|念|读)"
_TRANSLATE = r"(?:翻译|翻譯|翻|译|譯)"
_INTO = r"(?:成|为|為|到)"

# Tried in order; the first that yields a non-empty, non-deictic text wins. A pattern that opens with the
# text itself is anchored: if it cannot match from the start it cannot match later either, and anchoring
# keeps the search linear.
_PATTERNS = tuple(
    re.compile(r"^\s*" + p if p.startswith("(?P<t>") else p, re.IGNORECASE)
    for p in (
        rf"(?:{_TRANSLATE}|translat\w*|怎么说|(?<![A-Za-z])say|{L})[^:：]{{0,30}}[:：]\s*(?P<t>.+)",
        rf"把(?P<t>.+?)(?:给我)?(?:{_TRANSLATE}|转换|转)",
        rf"用\s*{L}\s*{_HOW}?{_SAY}(?:一下)?\s*[:：,，]?\s*(?P<t>.+)",
        rf"用\s*{L}\s*(?:跟|对|和|给)[^，,。]{{0,4}}?(?:说|讲)\s*(?P<t>.+)",
        rf"(?P<t>.+?)\s*(?:用|拿)\s*{L}\s*{_HOW}?{_SAY}",
        rf"(?P<t>.+?)(?<!翻)\s*{_TRANSLATE}(?:一下)?{_INTO}?\s*{L}",
        rf"(?P<t>.+?)\s*(?:的|在)?\s*(?<![用拿]){L}\s*(?:里|中|里面)?\s*{_HOW}{_SAY}",
        rf"(?P<t>.+?)\s*(?:的)?\s*(?<![用拿]){L}\s*(?:里|中)?\s*(?:是|叫)(?:什么|啥)",
        rf"{L}\s*(?:里|中|里面)?\s*(?:的)?\s*(?P<t>.+?)\s*{_HOW}{_SAY}",
        rf"{_TRANSLATE}(?:一下)?{_INTO}\s*{L}\s*[:：,，]?\s*(?P<t>.+)",
        rf"(?:翻译(?:一下|下)?|翻(?:一下|下))(?!\s*{_INTO}|[官员家器])\s*[:：,，]?\s*(?P<t>.+)",
        r"(?P<t>.+?)\s*(?:是)?(?:什么|啥)意思",
        rf"(?P<t>.+?)\s*的\s*{L}\s*(?:是)?\s*[?？。.!！]*\s*$",
        rf"translate\s+(?P<t>.+?)\s+(?:from\s+{L}\s+)?(?:into|to|in)\s+{L}",
        rf"how\s+(?:do|would|can|could|should|does|did|to)?\s*(?:you|i|we|one|people)?\s*say\s+(?P<t>.+?)\s+in\s+{L}",
        rf"(?:what(?:'s|’s|\s+is|\s+are)|whats)\s+(?P<t>.+?)\s+in\s+{L}",
        rf"(?:what(?:'s|’s|\s+is)|whats)\s+the\s+{L}\s+(?:word\s+|translation\s+|term\s+)?(?:for|of)\s+(?P<t>.+)",
        r"what\s+does\s+(?P<t>.+?)\s+mean",
        rf"(?<![A-Za-z])say\s+(?P<t>.+?)\s+in\s+{L}",
        r"how\s+(?:do|would|can|could|should|to)?\s*(?:you|i|we|one)?\s*say\s+(?P<t>.+)",
        rf"{L}\s+(?:word\s+)?for\s+(?P<t>.+)",
        rf"translat(?:e|ion)\s+(?:of\s+)?(?:from\s+{L}\s+)?(?:(?:into|to)\s+{L}\s*)?[:：,]?\s*(?P<t>.+)",
        rf"(?P<t>.+?)\s+in\s+{L}",
    )
)

_EDGE_PUNCTUATION = " \t\r\n\"'“”‘’「」『』,，。.!！?？~～、;；:：…"
_LEADING_FILLERS = re.compile(
    r"^(?:请问|请你|请|麻烦你|麻烦|帮我|帮忙|你好|我想知道|我想问一下|我想问|问一下|想问下|你知道|告诉我|那个|一下|把"
    r"|(?:翻译|翻譯)(?:一下|下)?"
    r"|(?:please|pls|hey|hi|so|um|uh|can you|could you|tell me)(?![A-Za-z]))[\s,，]*",
    re.IGNORECASE,
)
_TRAILING_FILLERS = re.compile(
    r"[\s,，]*(?:吧|呢|啊|呀|嘛|哈|哦|啦|一下|(?:咋|怎么|如何)(?:说|讲)"
    r"|(?<![A-Za-z])(?:please|pls|for me|thanks|to\s+(?:him|her|them|me|you|my\s+\w+)))$",
    re.IGNORECASE,
)
_TRAILING_LANGUAGE = re.compile(
    rf"[\s,，]*(?:(?:帮我)?{_TRANSLATE}?(?:一下)?{_INTO}\s*{L}|用\s*{L}(?:说|讲)?"
    rf"|(?<![A-Za-z])(?:from\s+{L}\s*)?(?:(?:into|to|in)\s+{L})|(?<![A-Za-z])from\s+{L}|从\s*{L}"
    rf"|[，,、]\s*{L}|(?:\s|的)\s*{_CHINESE_LANGUAGE})$",
    re.IGNORECASE,
)
_ONLY_FILLER = re.compile(r"吧|呢|啊|呀|嘛|哈|哦|啦|一下|please|pls", re.IGNORECASE)
_DEICTIC = frozenset(
    {
        "this", "that", "it", "these", "those", "this sentence", "this phrase", "this word", "this text",
        "the following", "这", "这个", "这句", "这句话", "这段", "这段话", "那句话", "那个", "这些", "它",
        "下面这句话", "下面的", "以下", "以下内容", "这个词", "这个单词",
    }
)  # fmt: skip


def _strip_edges(text: str) -> str:
    return text.strip(_EDGE_PUNCTUATION)


def _drop(patterns: tuple[re.Pattern[str], ...], text: str) -> str:
    """Remove fillers while something remains: "你好" stays "你好"."""
    changed = True
    while changed:
        changed = False
        for pattern in patterns:
            if (shorter := _strip_edges(pattern.sub("", text, count=1))) and shorter != text:
                text, changed = shorter, True
    return text


def clean_translation_text(raw: str, at_start: bool = True) -> str | None:
    """Strip quotes, fillers and a trailing "into English"; None for "this"/"这句话" or a bare language.

    Leading fillers (请问, 帮我, please) are only dropped when the words open the utterance: after a
    cue ("translation please: 请慢一点说") they belong to the text.
    """
    text = _drop((_TRAILING_LANGUAGE, _TRAILING_FILLERS), _strip_edges(raw))
    if at_start:
        text = _drop((_LEADING_FILLERS, _TRAILING_LANGUAGE, _TRAILING_FILLERS), text)
    if not text or _ONLY_FILLER.fullmatch(text) or text.casefold() in _DEICTIC | NAME_TO_CODE.keys():
        return None
    return text


def _quoted(text: str) -> str | None:
    """The first quoted words; a quoted language name counts only if another language is named outside."""
    other_language = bool(_ANY_LANGUAGE_RE.search(mask_quotes(text)))
    for match in QUOTE_RE.finditer(text):
        inner = next(group for group in match.groups() if group is not None)
        value = _strip_edges(inner)
        if value and (other_language or value.casefold() not in NAME_TO_CODE):
            return value
    return None


def parse_translation_text(text: str) -> str | None:
    """The words to translate: quoted words first, then phrasings like "X用英语怎么说", "translate X into Y"."""
    if quoted := _quoted(text):
        return quoted
    simplified = to_simplified(text)  # same length: spans map back onto the original words
    opening = len(text) - len(text.lstrip())
    for pattern in _PATTERNS:
        match = pattern.search(simplified)
        if match is None:
            continue
        start, end = match.span("t")
        if value := clean_translation_text(text[start:end], at_start=start == opening):
            return value
    return None
