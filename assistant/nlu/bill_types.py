"""Which bill an utterance is about (electricity, water, gas, phone, internet, property, tv), zh and en."""

from __future__ import annotations

import re
from typing import NamedTuple

from assistant.nlu.hanzi import to_simplified

_NOT_ALPHA_BEFORE = r"(?<![A-Za-z])"
_NOT_ALPHA_AFTER = r"(?![A-Za-z])"
_VERB = r"(?:交|缴|付|查|欠|把)(?:一下|下|个|了|完|的|上)?"
_ALONE = r"(?=$|[\s，。！？,.!?吧了呢啊吗])"  # a bare 电/水/气 ending a phrase: "交上个月的电"


def _en(words: str) -> str:
    """English alternatives, matched as whole words even next to Chinese characters."""
    return f"{_NOT_ALPHA_BEFORE}(?:{words}){_NOT_ALPHA_AFTER}"


class _Rule(NamedTuple):
    pattern: re.Pattern[str]
    bill_type: str | None  # None: a look-alike to mask ("电子发票", "水果"), not a bill
    strong: bool


def _rule(pattern: str, bill_type: str | None, strong: bool = True) -> _Rule:
    return _Rule(re.compile(pattern, re.IGNORECASE), bill_type, strong)


_ELECTRICITY_TYPOS = (
    "elecrticity|electricty|electrcity|electicity|eletricity|elecricity|elictricity|electrisity|electricy"
    "|electirc|elecric|eletric|electic"
)

# Applied in order; each match masks its span so later rules cannot reuse it ("电话费" is never 电费).
_RULES: tuple[_Rule, ...] = (
    _rule(r"有线电视费?|数字电视费?|电视费|有线费|电视(?:账单|套餐|会员费)|机顶盒|IPTV", "tv"),
    _rule(
        _en(
            r"cable(?:\s*tv)?\s*(?:bill|fee|subscription)|cable\s*tv|(?:tv|television)\s*(?:bill|fee|subscription|licen[cs]e)|television"
        ),
        "tv",
    ),
    _rule(
        r"话费|手机费|(?:手机|电话)(?:没钱|没费|停机)|电话费|通讯费|通信费|流量费|套餐费|手机(?:充值|账单|套餐)|(?:手机|电话)的?(?:钱|账单?)"
        r"|(?:充|交|缴)(?:值|一下|下|个|点|些)?(?:手机|电话|流量)|(?:手机|电话)号?码?[\s\d\-]{0,20}?(?:充值|充(?!电)|交费|缴费|欠费)",
        "phone",
    ),
    _rule(
        _en(
            r"(?:phone|fone|mobile|cell(?:phone)?)\s*(?:bill|plan|credit|top[\s-]?up|recharge|data|airtime)"
            r"|(?:top[\s-]?up|recharge|reload)\s+(?:my\s+|the\s+|a\s+)?(?:phone|mobile|cell)|airtime|data\s+plan"
        ),
        "phone",
    ),
    _rule(r"宽带|网费|网络费|上网费|光纤|宽频", "internet"),
    _rule(
        _en(
            r"broadband|internet(?!\s*banking)|intenet|internt|interent|wi-?fi\s*(?:bill|fee)|fib(?:er|re)\s*(?:bill|plan)"
        ),
        "internet",
    ),
    _rule(r"国家电网|南方电网", "electricity"),
    _rule(
        r"电子|电脑|电影|电梯|电池|充电|电动|电商|电竞|电台|电邮|电器|电源|电压|电视剧|电话号码?|手机号码?|电话|手机"
        r"|水果|水平|薪水|口水|喝水|水杯|香水|水饺|水准|流水|水印|水军|水货|水晶|水滴|水族|开水|热水器|矿泉水|风水"
        r"|天气|生气|客气|空气|力气|运气|脾气|气温|暖气|气候|勇气|气氛|口气|气球|冷气"
        r"|网上|网银|网点|网站|网页|网购|网易|网格|网约车|网址|网红|网贷|网课|基金管理费|账户管理费|移动支付",
        None,
    ),
    _rule(r"(?:燃气|气)卡|燃气费?|煤气费?|天然气费?|液化气|气费", "gas"),
    _rule(_en(r"gas\s*(?:bill|fee|account|company|utility)|natural\s*gas"), "gas"),
    _rule(r"水费|水卡|水电|自来水|水务|水表|谁费(?![心劲用])|水的?(?:钱|账单?|帐单?)", "water"),
    _rule(_en(r"water\s*(?:bill|fee|utility|company|account)|wter|watr|watter"), "water"),
    _rule(r"物业费?|物管费?|管理费", "property"),
    _rule(
        _en(
            r"property\s*(?:fee|fees|bill|management|charges?)|propety|proprety|hoa|management\s*fees?|strata"
        ),
        "property",
    ),
    _rule(
        r"电费|电卡|供电|电力公司|电表|用电(?!视)|电的?(?:钱|账单?|帐单?)|电(?:多少|还没|欠)|点费(?![用劲])|店费(?![用劲])"
        rf"|{_VERB}电(?![视话子脑影梯池器信商动竞台邮源压])|的电{_ALONE}",
        "electricity",
    ),
    _rule(
        _en(
            rf"electricity|{_ELECTRICITY_TYPOS}|electric(?:al)?\s*(?:bill|company|utility)|power\s*(?:bill|company|utility)"
            r"|elec|hydro\s*bill|lights?\s*bill"
        ),
        "electricity",
    ),
    # Pinyin of the bill words in an English sentence: "pay my dianfei", "80 kuai for shuifei".
    _rule(_en(r"dian\s?fei"), "electricity"),
    _rule(_en(r"shui\s?fei"), "water"),
    _rule(_en(r"(?:tian\s?)?ran\s?qi(?:\s?fei)?|mei\s?qi(?:\s?fei)?"), "gas"),
    _rule(_en(r"hua\s?fei"), "phone"),
    _rule(_en(r"wang\s?fei|kuan\s?dai(?:\s?fei)?"), "internet"),
    _rule(_en(r"wu\s?ye(?:\s?fei)?"), "property"),
    # A bare 电/水 as its own word before an amount ("电 200 交了"); a supply about to be cut ("快停电了").
    _rule(r"(?:^|(?<=[\s，,：:]))电(?=[\s，,]*[\d一二两三四五六七八九十百千])", "electricity"),
    _rule(r"(?:^|(?<=[\s，,：:]))水(?=[\s，,]*[\d一二两三四五六七八九十百千])", "water"),
    # Weak: bare words that need no bill word but lose to any strong match.
    _rule(r"(?:快|要|马上就?|会|被)(?:被)?(?:停|断)电|电(?:快|要|马上就?)(?:被)?(?:停|断|没)", "electricity", strong=False),
    _rule(r"(?:快|要|马上就?|会|被)(?:被)?(?:停|断)水|水(?:快|要|马上就?)(?:被)?(?:停|断)", "water", strong=False),
    _rule(r"没网|断网|网(?:快|要|马上就?)?(?:被)?(?:停|断)", "internet", strong=False),
    _rule(rf"{_VERB}气(?!球)", "gas", strong=False),
    _rule(_en(r"gas(?!\s*station)"), "gas", strong=False),
    _rule(rf"{_VERB}水|的水{_ALONE}", "water", strong=False),
    _rule(_en("water"), "water", strong=False),
    _rule(_en("property|properties"), "property", strong=False),
    _rule(
        _en(r"electric|power(?!\s*(?:bank|point|off|on|outage|button|cord|supply))"),
        "electricity",
        strong=False,
    ),
    _rule(r"移动|联通|电信", "phone", strong=False),
    _rule(
        _en(r"(?:phone|mobile|cell(?:phone)?)(?!\s*(?:number|app|call|banking|screen|case|payment))"),
        "phone",
        strong=False,
    ),
    _rule(r"网络|上网", "internet", strong=False),
    _rule(_en(r"wi-?fi|fib(?:er|re)"), "internet", strong=False),
    _rule(r"电视|有线", "tv", strong=False),
    _rule(_en(r"tv|cable"), "tv", strong=False),
)

_ENGLISH_WORD_RE = re.compile(r"[A-Za-z]{8,}")


def _damerau(a: str, b: str) -> int:
    """Optimal string alignment distance, enough to catch typed slips like "electrcity"."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _fuzzy_electricity(text: str) -> int | None:
    for match in _ENGLISH_WORD_RE.finditer(text):
        word = match.group().lower()
        if word.startswith("ele") and _damerau(word, "electricity") <= 2:
            return match.start()
    return None


def _spans(text: str) -> tuple[str, list[tuple[int, int, str, bool]]]:
    """The simplified text and every bill mention in it as (start, end, bill_type, strong), in rule order."""
    masked = text = to_simplified(text)
    found: list[tuple[int, int, str, bool]] = []
    for rule in _RULES:
        matches = list(rule.pattern.finditer(masked))
        for match in matches:
            if rule.bill_type is not None:
                found.append((match.start(), match.end(), rule.bill_type, rule.strong))
            masked = masked[: match.start()] + "\x00" * (match.end() - match.start()) + masked[match.end() :]
    if (position := _fuzzy_electricity(masked)) is not None:
        found.append((position, position + len("electricity"), "electricity", True))
    return text, found


def bill_type_mentions(text: str) -> list[tuple[int, str, bool]]:
    """Every bill mention as (position, bill_type, strong), in rule order."""
    return [(start, bill_type, strong) for start, _end, bill_type, strong in _spans(text)[1]]


# bills named together: "电费和水费", "水费、燃气费", "electricity and phone bills", "gas, water and electricity"
_AND = re.compile(r"^\s*(?:费|的|bills?|账单)?\s*(?:和|跟|与|及|以及|还有|加上|、|,|&|\+|and)\s*(?:the|my)?\s*$",
                  re.IGNORECASE)
_LATER = re.compile(r"再说|下次|以后|先不|不用|不要|别|没|\b(?:later|not|don'?t|next|except)\b", re.IGNORECASE)
_UTILITIES = re.compile(r"水电(煤|燃气|气)?")  # 水电煤: water, electricity and gas in two or three characters


def also_named(text: str) -> list[str]:
    """The other bills named together with the first ("帮我交电费和水费" → ["water"], "把水电煤都交了" →
    ["electricity", "gas"]), in order; none when the sentence puts one off (交电费，水费下个月再说)."""
    simple, spans = _spans(text)
    if _LATER.search(simple):
        return []
    if utilities := _UTILITIES.search(simple):
        named = ["water", "electricity", *(["gas"] if utilities.group(1) else [])]
    else:
        spans = sorted(spans)
        named = [spans[0][2]] if spans else []
        for (_s1, end, _t1, _st1), (start, _e2, bill_type, _st2) in zip(spans, spans[1:], strict=False):
            if _AND.match(simple[end:start]) is None:
                break
            named.append(bill_type)
    first = _earliest([(start, bill_type, strong) for start, _end, bill_type, strong in spans])
    return [t for t in dict.fromkeys(named) if t != first]


def parse_bill_type(text: str) -> str | None:
    """The bill the utterance names, earliest strong mention first: "帮我交电费" → "electricity"."""
    return _earliest(bill_type_mentions(text))


def _earliest(mentions: list[tuple[int, str, bool]]) -> str | None:
    """The earliest strong mention's bill, else the earliest weak one's."""
    for strong in (True, False):
        ranked = sorted((position, bill_type) for position, bill_type, s in mentions if s is strong)
        if ranked:
            return ranked[0][1]
    return None
