"""The vocabularies the ledger, the tools and the understanding share (one place for each)."""

from __future__ import annotations

from typing import Literal, get_args

BillType = Literal["electricity", "water", "gas", "phone", "internet", "property", "tv"]
BILL_TYPES: tuple[str, ...] = get_args(BillType)

# what a payment pays for: one of the user's bills, or a prepaid top-up of a mobile number
TargetKind = Literal["bill", "phone"]
TARGET_KINDS: tuple[str, ...] = get_args(TargetKind)
