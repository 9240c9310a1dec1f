"""The money amount (CNY) in a zh/en utterance, skipping account numbers, dates, counts and times."""

from __future__ import annotations

import re
from typing import NamedTuple

from assistant.nlu.accounts import account_matches
from assistant.nlu.hanzi import to_simplified
from assistant.nlu.numerals import (
    CN_DIGIT_VALUES,
    EN_NUMBER_WORDS,
    EN_SCALES,
    chinese_to_number,
    english_words_to_number,
)

__all__ = ["amount_problem", "chinese_to_number", "parse_amount", "strip_invisible"]

_WIDTH = str.maketrans("０１２３４５６７８９￥＄．", "0123456789¥$.")
_CN_DIGIT = "[零〇○一壹二两兩贰貳三叁參四肆五伍六陆陸七柒八捌九玖]"
_CN_UNIT = "[十拾百佰千仟万萬亿億]"
_ARABIC = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
_EXPR_RE = re.compile(
    rf"(?:{_ARABIC}|{_CN_DIGIT}|[十拾])(?:{_ARABIC}|{_CN_DIGIT}|{_CN_UNIT}|[点點](?={_CN_DIGIT}|\d))*"
    r"(?:[kKwW](?![A-Za-z]))?"
)
_EN_WORD = "|".join(sorted([*EN_NUMBER_WORDS, *EN_SCALES], key=len, reverse=True))
_EN_EXPR_RE = re.compile(
    rf"(?<![A-Za-z])(?:an?\s+(?=hundred|thousand|grand))?(?:{_EN_WORD})(?![A-Za-z])"
    rf"(?:(?:\s+|-)(?:and\s+)?(?:{_EN_WORD})(?![A-Za-z]))*",
    re.IGNORECASE,
)
_EN_SCALE_AFTER_RE = re.compile(r"\s*(hundred|thousand|grand|million)(?![A-Za-z])", re.IGNORECASE)

_FOREIGN_AFTER_RE = re.compile(
    r"\s*(?:美元|美金|欧元|日元|日币|港币|港元|英镑|韩元|(?:us\s*)?dollars?|usd|euros?|eur|pounds?|gbp|yen|jpy|hkd)"
    r"(?![A-Za-z])",
    re.IGNORECASE,
)
_FOREIGN_BEFORE_RE = re.compile(r"(?:\$|€|£|usd|eur|gbp|hkd|jpy)\s*$", re.IGNORECASE)
_CNY_BEFORE_RE = re.compile(r"(?:¥|(?<![A-Za-z])(?:rmb|cny)|人民币)\s*$", re.IGNORECASE)
_CNY_AFTER_RE = re.compile(
    r"\s*(?:(?P<yuan>块钱|块(?!儿)|元(?![旦宵素老首帅气])|圆|圓|蚊)"
    r"|(?P<jiao>毛钱|毛(?![巾衣病笔线毯绒])|角钱|角(?![形星落度色]))|(?P<fen>分钱)"
    r"|(?P<en>人民币|yuan|kuai|rmb|cny|bucks?|quid)(?![A-Za-z]))",
    re.IGNORECASE,
)
_D1 = r"(?:[零一二两三四五六七八九]|\d)"
_CHANGE_RE = re.compile(rf"(零)?({_D1})(?!\d)([毛角分])?(?:钱)?(?:({_D1})(?!\d)分?)?")
_CHANGE_END_RE = re.compile(r"$|\s|[，。！？,.!?、；;~～的吧了呢啊吗哦呀嘛哈就整]")

_NOT_MONEY_AFTER_RE = re.compile(
    r"\s*(?:个|月|年|号|日|天|周|星期|礼拜|点|时|小时|分|秒|次|期|位|岁|楼|层|室|栋|幢|单元|户|人|口|度|吨|方|立方|兆"
    r"|米|公里|里|斤|克|升|折|倍|乘|除以|[×x*+÷]|条|张|笔|份|项|届|路|页|集|台|部|本|件|遍|种|家|瓶|杯|碗|间|%|％"
    r"|(?:months?|mos?|years?|yrs?|days?|weeks?|wks?|hours?|hrs?|minutes?|mins?|seconds?|secs?|times?"
    r"|o'?clock|am|pm|a\.m|p\.m|percent|gb|mb|mbps|kwh|kw|units?|degrees?|people|persons?|digits?"
    r"|bills?|accounts?|items?|st|nd|rd|th|numbers?|characters?|words?|letters?|floors?|rooms?|tons?"
    r"|cubic|meters?|km|kg|g|m|plus|minus|divided|multiplied|months'|years')(?![A-Za-z]))",
    re.IGNORECASE,
)
_NOT_MONEY_BEFORE_RE = re.compile(
    r"(?:第|近|过去|最近|周|星期|礼拜|乘以?|除以|[×x*+÷]|(?<![A-Za-z])(?:last|past|previous|next|first|top|within|since|until|till"
    r"|before|after|on|at|by|times|plus|minus|page|room|step|version|level|option|line|jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?"
    r"|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?))\s*$",
    re.IGNORECASE,
)
_PAY_CONTEXT_RE = re.compile(
    r"(?:交|缴|付|充|转|支付|存|花|金额|一共|总共|共|合计|总计|(?<![A-Za-z])(?:pay|paying|top\s*-?\s*up|recharge"
    r"|charge|add|put|transfer|send|amount|total|worth))(?![A-Za-z])",
    re.IGNORECASE,
)
_CN_BARE_END_RE = re.compile(
    r"$|\s|[，。！？,.!?、；;~～的吧了呢啊吗哦呀嘛哈]|电|水|燃|煤|气|话费|手机|宽带|网|物业|有线"
)
_EN_BARE_END_RE = re.compile(
    r"\s*(?:$|[,.!?;，。！？]|(?:for|to|on|please|now|then|and|today)(?![A-Za-z]))", re.I
)
_TOGETHER_RE = re.compile(r"一块(?:儿|[交缴付去走来办弄算处结吃玩])")


_INVISIBLE_RE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_MONEY_WORD = r"(?:元|块|圆|¥|rmb|cny|yuan|kuai|bucks?)"
# amounts that must be asked about, never guessed: a sign, an exponent, digit groups that are not thousands
_AMOUNT_PROBLEMS = (
    ("negative", re.compile(rf"(?:(?<![\dA-Za-z])[-−－﹣]\s*|负|\bminus\s+)[\d一二两三四五六七八九十百千]"
                            rf"(?=[\d.,一二两三四五六七八九十百千万]*\s*{_MONEY_WORD})", re.IGNORECASE)),
    ("exponent", re.compile(r"\d(?:\.\d+)?e[+-]?\d", re.IGNORECASE)),
    ("grouping", re.compile(rf"\d,(?:\d{{1,2}}|\d{{4,}})(?!\d)(?=\s*{_MONEY_WORD}|\s*$)", re.IGNORECASE)),
)


def strip_invisible(text: str) -> str:
    """Zero-width and direction marks removed: "1\u200b0元" is 10 yuan, not 1."""
    return _INVISIBLE_RE.sub("", text)


def _normalise(text: str) -> str:
    return strip_invisible(to_simplified(text).translate(_WIDTH))


def _problem(normalised: str) -> str | None:
    return next((kind for kind, pattern in _AMOUNT_PROBLEMS if pattern.search(normalised)), None)


def amount_problem(text: str) -> str | None:
    """Why the amount in ``text`` cannot be read safely ("negative", "exponent", "grouping"), or None."""
    return _problem(_normalise(text))


class _Candidate(NamedTuple):
    value: float
    start: int
    rank: int  # 3: a CNY mark, 2: after a pay verb, 1: a bare number


def _digit(token: str) -> int:
    return int(token) if token.isdigit() else CN_DIGIT_VALUES[token]


def _change(text: str, position: int) -> float:
    """Jiao and fen after 块/元: "三块五" → 0.5, "两元五角二分" → 0.52, "三块零五" → 0.05."""
    match = _CHANGE_RE.match(text, position)
    if not match or not _CHANGE_END_RE.match(text, match.end()):
        return 0.0
    zero, first, unit, second = match.groups()
    if unit == "分" or (zero and not unit):
        return _digit(first) / 100
    return _digit(first) / 10 + (_digit(second) / 100 if second else 0.0)


def _money_suffix(text: str, end: int) -> tuple[float, int] | None:
    """A CNY word after a number: (multiplier, end of the word) or None; 毛/角 multiply by 0.1."""
    match = _CNY_AFTER_RE.match(text, end)
    if not match:
        return None
    if match.group("jiao"):
        return 0.1, match.end()
    if match.group("fen"):
        return 0.01, match.end()
    return 1.0, match.end()


def _excluded(text: str, start: int, end: int, raw: str, spans: list[tuple[int, int]]) -> bool:
    """Whether a bare number is a date, count, time, code or part of an account."""
    if any(s <= start < e for s, e in spans):
        return True
    if _NOT_MONEY_AFTER_RE.match(text, end) or _NOT_MONEY_BEFORE_RE.search(text, 0, start):
        return True
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before in "-/:：." and start >= 2 and text[start - 2].isdigit():
        return True
    if after in "-/:：" and end + 1 < len(text) and text[end + 1].isdigit():
        return True
    if (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha()):
        return True
    digits = raw.split(".")[0].replace(",", "")
    return digits.isdigit() and (len(digits) >= 7 or (len(digits) > 1 and digits[0] == "0"))


def _numeral_candidate(text: str, match: re.Match[str], spans: list[tuple[int, int]]) -> _Candidate | None:
    raw, start, end = match.group(), match.start(), match.end()
    value = chinese_to_number(raw)
    if value is None:
        return None
    if raw.replace(",", "").replace(".", "").isdigit() and (scale := _EN_SCALE_AFTER_RE.match(text, end)):
        value, end = value * EN_SCALES[scale.group(1).lower()], scale.end()
    if _FOREIGN_AFTER_RE.match(text, end) or _FOREIGN_BEFORE_RE.search(text, 0, start):
        return None
    if raw == "一" and _TOGETHER_RE.match(text, start):
        return None
    suffix = _money_suffix(text, end)
    if suffix is not None:
        multiplier, after = suffix
        change = _change(text, after) if multiplier == 1.0 and text[after - 1] in "块元圆圓" else 0.0
        return _Candidate(value * multiplier + change, start, 3)
    if _CNY_BEFORE_RE.search(text, 0, start):
        return _Candidate(value, start, 3)
    if _excluded(text, start, end, raw, spans):
        return None
    paid = bool(_PAY_CONTEXT_RE.search(text, max(0, start - 10), start))
    if not any(ch.isdigit() for ch in raw):
        if not re.search(_CN_UNIT, raw) or not (paid or _CN_BARE_END_RE.match(text, end)):
            return None
    elif not paid and value.is_integer() and 2010 <= value <= 2035:
        return None  # a bare year
    return _Candidate(value, start, 2 if paid else 1)


def _english_candidate(text: str, match: re.Match[str]) -> _Candidate | None:
    value = english_words_to_number(match.group())
    if value is None:
        return None
    start, end = match.start(), match.end()
    if _FOREIGN_AFTER_RE.match(text, end) or _NOT_MONEY_AFTER_RE.match(text, end):
        return None
    if _money_suffix(text, end) or _CNY_BEFORE_RE.search(text, 0, start):
        return _Candidate(value, start, 3)
    if (
        value >= 2
        and _PAY_CONTEXT_RE.search(text, max(0, start - 30), start)
        and _EN_BARE_END_RE.match(text, end)
    ):
        return _Candidate(value, start, 2)
    return None


def parse_amount(text: str) -> float | None:
    """The CNY amount in an utterance, or None: "交一百二十块电费" → 120.0, "户号 33012245" → None."""
    text = _normalise(text)
    if _problem(text):
        return None
    spans = [(m.start, m.end) for m in account_matches(text)]
    candidates = [c for m in _EXPR_RE.finditer(text) if (c := _numeral_candidate(text, m, spans))]
    if re.search(r"[A-Za-z]", text):
        candidates += [c for m in _EN_EXPR_RE.finditer(text) if (c := _english_candidate(text, m))]
    candidates = [c for c in candidates if c.value > 0]
    if not candidates:
        return None
    best = max(candidates, key=lambda c: (c.rank, -c.start))
    return round(best.value, 2)
