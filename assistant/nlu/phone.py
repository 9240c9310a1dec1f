"""Mobile numbers and who they belong to, as people type or say them.

"13812345678", "138 1234 5678", "138-1234-5678", "+86 138...", and spoken digits from speech
("幺三八一二三四五六七八", "一三八 1234 5678"). A run of 7 to 13 digits that is not a mainland
mobile number is reported as a problem, so the dialogue can say so instead of guessing.
"""

from __future__ import annotations

import re

from tools.phone import is_mobile

_SPOKEN = str.maketrans("零〇○一二三四五六七八九幺两", "00012345678912")
_RUN = re.compile(r"(?:\+?86[\s-]*)?[0-9零〇○一二三四五六七八九幺两](?:[\s\-－—]*[0-9零〇○一二三四五六七八九幺两]){6,}")

# words for people whose number the user may have saved ("给我妈充话费"); the contact's own label
# and aliases are matched too (tools.billing.Billing.contacts)
RELATIONS = ("妈妈", "老妈", "我妈", "母亲", "爸爸", "老爸", "我爸", "父亲", "儿子", "女儿", "闺女", "老伴", "老婆",
             "老公", "爷爷", "奶奶", "外婆", "姥姥", "外公", "姥爷", "哥哥", "姐姐", "弟弟", "妹妹")
_RELATIONS_EN = re.compile(r"\b(?:my\s+)?(mom|mum|mother|dad|father|son|daughter|wife|husband|grandma|grandpa|"
                           r"brother|sister)\b", re.I)
_BARE = re.compile(r"[给帮替为]([妈爸])")  # "给妈充" / "帮爸交"


def _runs(text: str):
    for match in _RUN.finditer(text):
        raw = match.group(0)
        digits = re.sub(r"\D", "", raw.translate(_SPOKEN))
        if digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        yield match, digits


def find_phone(text: str) -> tuple[str | None, str | None]:
    """(the mobile number in ``text``, None) or (None, the digits of a number that is not one) or (None, None)."""
    problem = None
    for _, digits in _runs(text):
        if len(digits) == 11 and is_mobile(digits):
            return digits, None
        if 7 <= len(digits) <= 13 and problem is None:
            problem = digits
    return None, problem


def parse_phone(text: str) -> str | None:
    return find_phone(text)[0]


def without_phone(text: str) -> str:
    """``text`` with every number-like run blanked, so "给13812345678充100" finds the amount 100 only."""
    out = text
    for match, digits in _runs(text):
        if len(digits) >= 7:
            out = out.replace(match.group(0), " ")
    return out


def parse_contact(text: str) -> str | None:
    """The person a top-up is for, as said: "我妈" → "妈妈"-like word, "my mom" → "mom"."""
    for word in RELATIONS:
        if word in text:
            return word
    if (match := _BARE.search(text)) is not None:
        return match.group(1)
    if (match := _RELATIONS_EN.search(text)) is not None:
        return match.group(1).casefold()
    return None
