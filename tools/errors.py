"""Errors of the tools package.

A tool failure travels back into the turn as a result carrying ``code``; these exceptions are how
the tool implementations report one. :class:`PaymentRefused` is the ledger saying "no" to money
moving. When it is raised no money has moved; at most the payment's own status was updated (an
expired confirmation is marked ``expired``, one whose bill was settled meanwhile ``failed``).
"""

from __future__ import annotations

from typing import Literal

from common.errors import CodedError

RefusalCode = Literal[
    "insufficient-balance",  # the wallet holds less than the amount
    "amount-mismatch",  # amount differs from what is owed (and the bill takes no part payment)
    "confirmation-expired",  # the confirmation window passed; prepare again
    "bill-not-found",  # no such bill (someone else's bill reads the same)
    "confirmation-not-found",  # no such confirmation id (someone else's reads the same)
    "already-paid",  # the bill is settled (or a done payment cannot be cancelled)
    "payment-cancelled",  # the payment was cancelled before this confirmation
    "invalid-amount",  # zero, negative, not a number, or finer than one fen
    "idempotency-conflict",  # the idempotency key was used for a different bill or amount
]
REFUSAL_CODES: tuple[str, ...] = RefusalCode.__args__  # type: ignore[attr-defined]


class ToolError(CodedError):
    """Base of every error a tool raises on purpose."""

    code = "tool-error"


class InvalidArgument(ToolError):
    """A tool was called with an argument outside its schema (e.g. an unknown bill type)."""

    code = "invalid-argument"


class NotFound(ToolError):
    """Something the call refers to (a user's wallet) does not exist."""

    code = "not-found"


class PaymentRefused(ToolError):
    """The ledger refused to prepare, confirm or cancel a payment; no money moved."""

    code = "payment-refused"

    def __init__(self, code: RefusalCode, message: str | None = None, *, retryable: bool = False):
        if code not in REFUSAL_CODES:
            raise ValueError(f"unknown refusal code {code!r}")
        super().__init__(message or code.replace("-", " "), code=code, retryable=retryable)
