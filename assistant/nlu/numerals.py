"""Numeral strings to numbers: Chinese numerals (一百二, 壹佰, 1千2, 2w, 1.5k) and English number words."""

from __future__ import annotations

import re

CN_DIGIT_VALUES = {
    "零": 0, "〇": 0, "○": 0, "一": 1, "壹": 1, "幺": 1, "二": 2, "两": 2, "兩": 2, "贰": 2, "貳": 2,
    "三": 3, "叁": 3, "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
CN_UNIT_VALUES = {
    "十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "k": 1000, "K": 1000,
    "万": 10_000, "萬": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "億": 100_000_000,
}  # fmt: skip
_ZEROS = frozenset("零〇○")
_POINTS = frozenset("点點")
_TOKEN_RE = re.compile(r"\d+(?:\.\d+)?|[点點]|" + "|".join(CN_DIGIT_VALUES) + "|" + "|".join(CN_UNIT_VALUES))

EN_NUMBER_WORDS: dict[str, int] = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen".split()
    )
}
EN_NUMBER_WORDS.update(
    {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
)
EN_NUMBER_WORDS["fourty"] = 40
EN_SCALES = {"hundred": 100, "thousand": 1000, "grand": 1000, "million": 1_000_000}


def _digit_value(token: str) -> float | None:
    if token in CN_DIGIT_VALUES:
        return float(CN_DIGIT_VALUES[token])
    if token[0].isdigit():
        return float(token)
    return None


def _with_units(tokens: list[str]) -> float | None:
    """Evaluate an integer part that has units: 一千零五十 → 1050, 一百二 → 120, 两万三 → 23000."""
    total = section = 0.0
    current: float | None = None
    last_unit = 0
    after_zero = False
    for token in tokens:
        if token in _ZEROS:
            after_zero, last_unit = True, 0
        elif token in CN_UNIT_VALUES:
            unit = CN_UNIT_VALUES[token]
            if unit >= 10_000:
                value = section + (current or 0.0) or 1.0
                total = (total + value) * unit if unit > 10_000 else total + value * unit
                section = 0.0
            else:
                section += (1.0 if current is None else current) * unit
            current, last_unit, after_zero = None, unit, False
        else:
            if current is not None:
                return None  # two digits without a unit between them: 一二百 is not a number
            current = _digit_value(token)
    if current is not None:
        # Colloquial trailing digit: 一百二 = 120, 一万五 = 15000; but 一百零二 = 102.
        colloquial = last_unit >= 100 and not after_zero and current < 10 and current.is_integer()
        section += current * last_unit / 10 if colloquial else current
    return total + section


def _integer_part(tokens: list[str]) -> float | None:
    if not tokens:
        return 0.0
    if any(token in CN_UNIT_VALUES for token in tokens):
        return _with_units(tokens)
    digits = "".join(
        str(int(v)) if (v := _digit_value(t)) is not None and v.is_integer() else t for t in tokens
    )
    try:
        return float(digits)  # 二零二四 → 2024, 12.5 → 12.5
    except ValueError:
        return None


def chinese_to_number(s: str) -> float | None:
    """A pure numeral string to a number: "一百二十" → 120, "三点五" → 3.5, "1千2" → 1200, "2w" → 20000."""
    s = re.sub(r"(?<=\d),(?=\d{3})", "", s.strip())
    if not s:
        return None
    tokens: list[str] = []
    position = 0
    for match in _TOKEN_RE.finditer(s):
        if match.start() != position:
            return None
        tokens.append(match.group())
        position = match.end()
    if position != len(s):
        return None
    if (
        not any(_digit_value(t) is not None for t in tokens if t not in CN_UNIT_VALUES)
        and tokens[0] not in "十拾"
    ):
        return None
    if any(token in _POINTS for token in tokens):
        cut = next(i for i, token in enumerate(tokens) if token in _POINTS)
        fraction = tokens[cut + 1 :]
        if not fraction or not all(t in CN_DIGIT_VALUES or t.isdigit() for t in fraction):
            return None
        whole = _integer_part(tokens[:cut])
        if whole is None:
            return None
        return whole + float("0." + "".join(str(CN_DIGIT_VALUES.get(t, t)) for t in fraction))
    if tokens[-1] in _ZEROS and len(tokens) > 1 and any(t in CN_UNIT_VALUES for t in tokens):
        tokens = tokens[:-1]
    return _integer_part(tokens)


def english_words_to_number(words: str) -> float | None:
    """English number words to a number: "one hundred and twenty" → 120, "a thousand" → 1000."""
    total = current = 0
    seen = False
    for word in re.findall(r"[a-z]+", words.lower()):
        if word in ("and", "a", "an"):
            continue
        if word in EN_NUMBER_WORDS:
            current += EN_NUMBER_WORDS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in EN_SCALES:
            total += max(current, 1) * EN_SCALES[word]
            current = 0
        else:
            return None
        seen = True
    return float(total + current) if seen else None
