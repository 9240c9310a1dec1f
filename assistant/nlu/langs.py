"""Languages named in translation requests: the target ("翻成日语", "into German") and the source ("from Spanish")."""

from __future__ import annotations

import re

from assistant.nlu.hanzi import to_simplified

# ISO 639-1 codes (Cantonese has none: "yue" from ISO 639-3) and the names people use for them.
LANGUAGE_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("英语", "英文", "英国话", "english"),
    "zh": ("中文", "汉语", "普通话", "国语", "华语", "中国话", "chinese", "mandarin"),
    "yue": ("粤语", "广东话", "cantonese"),
    "ja": ("日语", "日文", "日本语", "日本话", "japanese"),
    "ko": ("韩语", "韩文", "韩国语", "韩国话", "朝鲜语", "korean"),
    "fr": ("法语", "法文", "french"),
    "de": ("德语", "德文", "german"),
    "es": ("西班牙语", "西班牙文", "西语", "spanish"),
    "ru": ("俄语", "俄文", "俄罗斯语", "russian"),
    "it": ("意大利语", "意大利文", "意语", "italian"),
    "pt": ("葡萄牙语", "葡萄牙文", "葡语", "portuguese"),
    "ar": ("阿拉伯语", "阿拉伯文", "阿语", "arabic"),
    "th": ("泰语", "泰文", "泰国话", "thai"),
    "vi": ("越南语", "越南文", "越语", "vietnamese"),
    "id": ("印尼语", "印度尼西亚语", "indonesian"),
    "ms": ("马来语", "malay"),
    "hi": ("印地语", "hindi"),
    "nl": ("荷兰语", "dutch"),
    "tr": ("土耳其语", "turkish"),
    "el": ("希腊语", "greek"),
    "sv": ("瑞典语", "swedish"),
    "pl": ("波兰语", "polish"),
    "uk": ("乌克兰语", "ukrainian"),
    "he": ("希伯来语", "hebrew"),
    "fa": ("波斯语", "persian", "farsi"),
    "la": ("拉丁语", "latin"),
    "tl": ("菲律宾语", "他加禄语", "tagalog", "filipino"),
    "my": ("缅甸语", "burmese"),
    "km": ("高棉语", "柬埔寨语", "khmer"),
    "lo": ("老挝语", "lao"),
    "mn": ("蒙古语", "蒙语", "mongolian"),
}
# One-character forms used in pairs like 英译中, 中翻英.
_ABBREVIATIONS = {"英": "en", "中": "zh", "汉": "zh", "日": "ja", "韩": "ko", "法": "fr", "德": "de", "俄": "ru",
                  "西": "es", "意": "it", "葡": "pt", "泰": "th", "越": "vi", "阿": "ar", "粤": "yue"}  # fmt: skip
_TRADITIONAL = str.maketrans("语韩汉粤国话马兰缅挝", "語韓漢粵國話馬蘭緬撾")
# English names that are also ordinary words: only trusted after "in/into/to/from".
_AMBIGUOUS = frozenset({"polish", "latin", "lao", "greek", "turkish", "malay"})


def _build_codes() -> dict[str, str]:
    codes: dict[str, str] = {}
    for code, names in LANGUAGE_NAMES.items():
        for name in names:
            codes[name] = code
            codes.setdefault(name.translate(_TRADITIONAL), code)
    return codes


NAME_TO_CODE = _build_codes()


def _trie_regex(words: list[str]) -> str:
    """One regex for many literal words, factored by prefix so a position fails on its first character."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


def _alternation(group: str | None) -> str:
    """Every language name as one regex group; English names only as whole words."""
    english = [n for n in NAME_TO_CODE if n.isascii()]
    chinese = [n for n in NAME_TO_CODE if not n.isascii()]
    firsts = sorted({n[0] for n in chinese} | {c for n in english for c in (n[0], n[0].upper())})
    body = (
        f"(?=[{''.join(firsts)}])(?:(?<![A-Za-z]){_trie_regex(english)}(?![A-Za-z])|{_trie_regex(chinese)})"
    )
    return f"(?P<{group}>{body})" if group else f"(?:{body})"


LANG = _alternation("lang")
ANY_LANGUAGE = _alternation(None)
_ABBR = "[" + "".join(_ABBREVIATIONS) + "]"

QUOTE_RE = re.compile(
    r"“(?P<a>[^”]+)”|‘(?P<b>[^’]+)’|「(?P<c>[^」]+)」|『(?P<d>[^』]+)』|\"(?P<e>[^\"]+)\""
    r"|(?<![A-Za-z])'(?P<f>.+?)'(?![A-Za-z])"
)


def mask_quotes(text: str) -> str:
    """Blank out quoted words so "how do you say 'English' in French" names only French."""
    return QUOTE_RE.sub(lambda m: " " * len(m.group()), text)


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


_ANY_LANG_RE = re.compile(LANG, re.IGNORECASE)
_PAIR_RE = re.compile(rf"(?P<src>{_ABBR})(?:译|翻|转|to)(?P<dst>{_ABBR})")
_EN_PAIR_RE = re.compile(rf"{LANG}\s*(?:to|into|->|→|-)\s*{_alternation('dst')}", re.IGNORECASE)
_TARGET_PATTERNS = _compile(
    rf"(?:翻译|翻譯|翻|译|譯|转换|转|換|换|变)(?:一下)?(?:成|为|為|到|做)\s*{LANG}",
    rf"用\s*{LANG}",
    rf"{LANG}\s*(?:里|中|里面)?\s*(?:怎么|咋|如何|要怎么)(?:说|讲|写|表达|表示|念|读)",
    rf"{LANG}\s*(?:里|中)?\s*(?:是|叫)(?:什么|啥)(?!意思)",
    rf"(?:说|讲)\s*{LANG}",
    rf"(?<![A-Za-z])(?:into|to|in)\s+{LANG}",
    rf"{LANG}\s+(?:translation|version|word|for|equivalent)(?![A-Za-z])",
)
_SOURCE_PATTERNS = _compile(
    rf"从\s*{LANG}",
    rf"(?<![A-Za-z])from\s+{LANG}",
    rf"{LANG}\s*(?:翻译|翻譯|翻|译|譯|转)(?:成|为|為|到)",
    rf"这(?:句|段|个|些|篇|首|几句)?(?:话)?\s*{LANG}",
    rf"(?<![A-Za-z])(?:it's|it\s+is|that's|that\s+is)\s+(?:in\s+)?{LANG}",
    rf"(?<![A-Za-z])(?:this|the|a)\s+{LANG}\s+(?:word|phrase|sentence|text|expression)(?![A-Za-z])",
)


def language_code(name: str) -> str | None:
    """A language name in zh or en ("日语", "Japanese") to its code ("ja"); a code passes through."""
    key = name.strip().casefold()
    if key in NAME_TO_CODE:
        return NAME_TO_CODE[key]
    return key if key in LANGUAGE_NAMES else None


def _source_match(masked: str) -> tuple[str, int, int] | None:
    if pair := _PAIR_RE.search(masked):
        return _ABBREVIATIONS[pair.group("src")], pair.start(), pair.start() + 1
    if pair := _EN_PAIR_RE.search(masked):
        return NAME_TO_CODE[pair.group("lang").casefold()], pair.start("lang"), pair.end("lang")
    for pattern in _SOURCE_PATTERNS:
        if match := pattern.search(masked):
            return NAME_TO_CODE[match.group("lang").casefold()], match.start("lang"), match.end("lang")
    return None


def parse_source_language(text: str) -> str | None:
    """The language to translate from, only when named: "从法语翻译" → "fr", "from Spanish" → "es"."""
    found = _source_match(mask_quotes(to_simplified(text)))
    return found[0] if found else None


def parse_language(text: str) -> str | None:
    """The language to translate into: "翻成日语" → "ja", "用英语怎么说" → "en", "in French" → "fr"."""
    masked = mask_quotes(to_simplified(text))
    if pair := _PAIR_RE.search(masked):
        return _ABBREVIATIONS[pair.group("dst")]
    if pair := _EN_PAIR_RE.search(masked):
        return NAME_TO_CODE[pair.group("dst").casefold()]
    for pattern in _TARGET_PATTERNS:
        if match := pattern.search(masked):
            return NAME_TO_CODE[match.group("lang").casefold()]
    source = _source_match(masked)
    for match in _ANY_LANG_RE.finditer(masked):
        name = match.group("lang").casefold()
        if name in _AMBIGUOUS or (source and source[1] <= match.start() < source[2]):
            continue
        return NAME_TO_CODE[name]
    return None
