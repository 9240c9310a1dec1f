"""Amounts for people: "¥120.00" in standard mode, "一百二十元" / "one hundred twenty yuan" in elder mode."""

from __future__ import annotations

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_UNITS = ["", "十", "百", "千"]
_ZH_BIG = ["", "万", "亿"]
_EN_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
            "fifteen sixteen seventeen eighteen nineteen").split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _zh_below_10000(n: int) -> str:
    out, zero = "", False
    for power in (3, 2, 1, 0):
        digit = n // 10**power % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _ZH_DIGITS[digit] + _ZH_UNITS[power]
    return out


def zh_number(n: int) -> str:
    """0 → 零, 120 → 一百二十, 1050 → 一千零五十, 10 → 十, 200 → 二百, 30005 → 三万零五."""
    if n == 0:
        return "零"
    if n < 0:
        return "负" + zh_number(-n)
    groups, out = [], ""
    while n:
        groups.append(n % 10000)
        n //= 10000
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        if out and group < 1000:
            out += "零"
        out += _zh_below_10000(group) + _ZH_BIG[index]
    if out.startswith("一十"):
        out = out[1:]
    return out


def en_number(n: int) -> str:
    """120 → one hundred twenty; 1050 → one thousand fifty."""
    if n < 0:
        return "minus " + en_number(-n)
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        return _EN_TENS[n // 10] + ("-" + _EN_ONES[n % 10] if n % 10 else "")
    for size, word in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return f"{en_number(head)} {word}" + (f" {en_number(rest)}" if rest else "")
    raise AssertionError("unreachable")


def say_amount(fen: int, lang: str, elder: bool = False) -> str:
    """An amount in fen as people read it."""
    yuan, cents = divmod(abs(int(fen)), 100)
    sign = "-" if fen < 0 else ""
    if not elder:
        return f"{sign}¥{yuan:,}.{cents:02d}" if lang == "en" else f"{sign}{yuan}.{cents:02d}元"
    if lang == "zh":
        text = f"{zh_number(yuan)}元"
        jiao, fen_left = divmod(cents, 10)
        if jiao:
            text += f"{_ZH_DIGITS[jiao]}角"
        if fen_left:
            text += ("零" if not jiao else "") + f"{_ZH_DIGITS[fen_left]}分"
        return ("负" if sign else "") + text
    text = f"{en_number(yuan)} yuan"
    if cents:
        text += f" and {en_number(cents)} fen"
    return ("minus " if sign else "") + text
