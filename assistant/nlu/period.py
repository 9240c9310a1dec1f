"""Which time span a history question is about ("上个月", "this year", "最近一笔", "10月"), zh and en.

The ``period`` slot is a token that needs no calendar to extract (today is the ledger's business,
see ``tools.history.resolve_period``): ``this_month``, ``last_month``, ``this_year``, ``last_year``,
``recent``, ``YYYY-MM``, ``YYYY``, or ``--MM`` (a month without a year, ISO 8601's reduced form).
"""

from __future__ import annotations

import re

from assistant.nlu.hanzi import to_simplified

PERIODS = ("this_month", "last_month", "this_year", "last_year", "recent")

_RELATIVE: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.IGNORECASE), token) for p, token in (
    (r"上个?月|上一个月|前一个月|\blast month\b|\bprevious month\b|\bpast month\b", "last_month"),
    (r"这个?月|本月|当月|\bthis month\b|\bcurrent month\b", "this_month"),
    (r"去年|\blast year\b", "last_year"),
    (r"今年|本年度?|\bthis year\b|\bso far this year\b|\byear to date\b", "this_year"),
    (r"最近|最新|上一笔|上次|上回|\brecent(?:ly)?\b|\blatest\b|\blast (?:time|payment)\b|\bmost recent\b", "recent"),
))

_MONTHS_EN = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december")
_ZH_MONTH = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
             "十一": 11, "十二": 12}
_YEAR_MONTH = re.compile(r"(20\d\d)\s*(?:年|-|/|\.)\s*(1[0-2]|0?[1-9])(?:\s*月)?(?!\d)")
_MONTH_ZH = re.compile(r"(?<![\d年])(1[0-2]|[1-9]|十[一二]?|[一二三四五六七八九])\s*月(?:份)?")
_MONTH_EN = re.compile(r"\b(?:in\s+)?(" + "|".join(m[:3] + m[3:].join(("(?:", ")?")) for m in _MONTHS_EN) + r")\b"
                       r"(?:\s+(20\d\d))?", re.IGNORECASE)
_YEAR = re.compile(r"(20\d\d)\s*年|\bin (20\d\d)\b")


def parse_period(text: str) -> str | None:
    """The period token an utterance names, or None."""
    text = to_simplified(text)
    found = _YEAR_MONTH.search(text)
    if found:
        return f"{found.group(1)}-{int(found.group(2)):02d}"
    for pattern, token in _RELATIVE:
        if pattern.search(text):
            return token
    found = _MONTH_ZH.search(text)
    if found:
        raw = found.group(1)
        month = int(raw) if raw.isdigit() else _ZH_MONTH[raw]
        return f"--{month:02d}"
    found = _MONTH_EN.search(text)
    if found and (found.group(1).lower() != "may" or found.group(2) or found.group(0).lower().startswith("in")):
        # a bare "may" is the verb ("may I"), "in May" / "May 2026" the month
        month = next(i for i, m in enumerate(_MONTHS_EN, 1) if m.startswith(found.group(1).lower()[:3]))
        return f"{found.group(2)}-{month:02d}" if found.group(2) else f"--{month:02d}"
    found = _YEAR.search(text)
    if found:
        return found.group(1) or found.group(2)
    return None
