"""Mainland mobile numbers and prepaid top-ups: validation, carrier by prefix, the amount menu."""

from __future__ import annotations

import re

TOPUP_AMOUNTS = (10, 20, 30, 50, 100, 200, 300, 500)  # yuan: what a top-up can be
TOPUP_AMOUNTS_FEN = tuple(a * 100 for a in TOPUP_AMOUNTS)
_MOBILE = re.compile(r"1[3-9]\d{9}")

# number segments (the first three digits) of each carrier; MIIT allocation
_SEGMENTS = {
    "cmcc": "134 135 136 137 138 139 147 148 150 151 152 157 158 159 172 178 182 183 184 187 188 195 197 198",
    "unicom": "130 131 132 145 146 155 156 166 167 171 175 176 185 186 196",
    "telecom": "133 149 153 162 173 174 177 180 181 189 190 191 193 199",
    "broadnet": "192",
}
_CARRIER_OF = {seg: key for key, segs in _SEGMENTS.items() for seg in segs.split()}
CARRIER_NAMES = {  # (zh, en): the payee of a top-up
    "cmcc": ("中国移动", "China Mobile"),
    "unicom": ("中国联通", "China Unicom"),
    "telecom": ("中国电信", "China Telecom"),
    "broadnet": ("中国广电", "China Broadnet"),
    "": ("运营商", "the carrier"),
}


def is_mobile(number: str) -> bool:
    """An 11-digit mainland mobile number: 1, then 3-9, then nine digits."""
    return bool(_MOBILE.fullmatch(number or ""))


def carrier(number: str) -> str:
    """The carrier key of a number by its segment ("" when the segment is not allocated/known)."""
    return _CARRIER_OF.get((number or "")[:3], "")


def grouped(number: str) -> str:
    """"13812345678" → "138 1234 5678", how people read a number back."""
    return f"{number[:3]} {number[3:7]} {number[7:]}" if len(number) == 11 else number


def nearest_amount(yuan: float) -> int:
    """The menu amount closest to ``yuan`` (the larger one on a tie)."""
    return min(TOPUP_AMOUNTS, key=lambda a: (abs(a - yuan), -a))
