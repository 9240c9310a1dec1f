"""Account numbers (户号, 尾号, "account ending in ...") in zh/en utterances."""

from __future__ import annotations

import re
from typing import NamedTuple

from assistant.nlu.hanzi import to_simplified

_SPOKEN_DIGITS = str.maketrans("零〇○一幺二三四五六七八九", "0001123456789")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＃－：", "0123456789#-:")
_DIGIT = "[0-9零〇○一幺二三四五六七八九]"
_GAP = "[ \t\\-‐–—]{1,3}"

# Keywords after which a short number (3+ digits) is still an account: the tail of a card or account.
_TAIL_KEYWORDS = (
    r"尾号|后四位|后4位|末四位|末4位|ending(?:\s+(?:in|with))?|ends?\s+(?:in|with)"
    r"|last\s+(?:four|4|three|3)(?:\s+digits?)?(?:\s+(?:are|is|of))?"
)
_KEYWORDS = (
    r"户号|用户号|用户编号|客户号|客户编号|缴费号|缴费编号|账户号?|帐户号?|账号|帐号|卡号|编号|表号|合同号"
    r"|手机号码?|电话号码?|号码"
    r"|account\s*(?:number|num|no\.?|#)?|acct\.?\s*(?:number|no\.?|#)?|a/c|customer\s*(?:id|number|no\.?)"
    r"|meter\s*(?:number|no\.?)|(?:phone|mobile|cell)\s*(?:number|no\.?)|number|no\.|#"
)
_SEPARATOR = r"\s*(?:[:：=]|是|为|為|is|of)?\s*"
_VALUE = rf"([A-Za-z]{{0,3}}{_DIGIT}(?:(?:{_GAP})?{_DIGIT})*)"

_TAIL_RE = re.compile(rf"(?:{_TAIL_KEYWORDS}){_SEPARATOR}{_VALUE}", re.IGNORECASE)
_KEYWORD_RE = re.compile(rf"(?<![A-Za-z])(?:{_KEYWORDS}){_SEPARATOR}{_VALUE}", re.IGNORECASE)
_LONG_RUN_RE = re.compile(r"(?<![\d.¥$])\d(?:[ \-]?\d){7,}(?![\d.])")
_CURRENCY_AFTER_RE = re.compile(
    r"\s*(?:块|元|圆|毛|角|万|千|百|[kKwW](?![A-Za-z])|yuan|rmb|cny|bucks?|kuai)", re.IGNORECASE
)
_DATE_RE = re.compile(r"(?:19|20)\d\d-[01]\d-[0-3]\d")
_MONEY_BEFORE_RE = re.compile(r"(?:[¥￥$]|rmb|cny)\s*$", re.IGNORECASE)


class AccountMatch(NamedTuple):
    """An account found in an utterance: the normalised value and its span in the text."""

    value: str
    start: int
    end: int


def _normalise(raw: str) -> str:
    """Spoken digits to ASCII, separators dropped: "3301-2245" → "33012245"."""
    return re.sub(r"[\s\-‐–—]", "", raw).translate(_SPOKEN_DIGITS).upper()


def _trim_money_tail(text: str, raw: str, start: int) -> tuple[str, int] | None:
    """Drop a trailing digit group that is really an amount ("户号 3301 2245 100元" → "3301 2245")."""
    end = start + len(raw)
    while _CURRENCY_AFTER_RE.match(text, end):
        groups = list(re.finditer(rf"{_DIGIT}+", raw))
        if len(groups) < 2:
            return None
        raw = raw[: groups[-2].end()]
        end = start + len(raw)
    return raw, end


def _keyword_matches(text: str) -> list[AccountMatch]:
    found: list[AccountMatch] = []
    for pattern, min_digits in ((_TAIL_RE, 3), (_KEYWORD_RE, 4)):
        for match in pattern.finditer(text):
            trimmed = _trim_money_tail(text, match.group(1), match.start(1))
            if trimmed is None:
                continue
            value = _normalise(trimmed[0])
            if sum(ch.isdigit() for ch in value) >= min_digits:
                found.append(AccountMatch(value, match.start(1), trimmed[1]))
    return found


def _long_runs(text: str) -> list[AccountMatch]:
    """Digit runs of 8+ digits with no keyword: phone numbers, 户号 said without the word."""
    found = []
    for match in _LONG_RUN_RE.finditer(text):
        if _CURRENCY_AFTER_RE.match(text, match.end()) or _MONEY_BEFORE_RE.search(text[: match.start()]):
            continue
        if _DATE_RE.fullmatch(match.group()):
            continue
        found.append(AccountMatch(_normalise(match.group()), match.start(), match.end()))
    return found


def account_matches(text: str) -> list[AccountMatch]:
    """Every account-like number in the text, keyword-introduced ones first, then by position."""
    text = to_simplified(text).translate(_FULL_WIDTH)
    keyed = sorted(_keyword_matches(text), key=lambda m: m.start)
    seen = [(m.start, m.end) for m in keyed]
    loose = [m for m in _long_runs(text) if not any(s < m.end and m.start < e for s, e in seen)]
    return _dedupe(keyed) + loose


def _dedupe(matches: list[AccountMatch]) -> list[AccountMatch]:
    out: list[AccountMatch] = []
    for match in matches:
        if not any(o.start < match.end and match.start < o.end for o in out):
            out.append(match)
    return out


def parse_account(text: str) -> str | None:
    """The account number the utterance names: "户号 3301-2245" → "33012245", "尾号8831" → "8831"."""
    matches = account_matches(text)
    return matches[0].value if matches else None
