"""What the provider may see: no full account numbers, no user ids, no internal ids.

The model needs amounts, bill types, due dates and the tail of an account ("尾号3456", what the
user would say); it never needs the full account number, who the user is, or our row ids. Every
message and tool result sent to the LLM goes through here:

- ids are dropped from tool results (``id``, ``user_id``, ``bill_id``, ``payment_id`` ...);
- an ``account`` becomes ``account_tail`` (its last four characters; the tools accept a tail);
- in any text, digit runs of 7+ digits (in groups of 3+) keep only their last four ("户号3100123456" → "户号******3456"),
  and internal ids (``bill_…``, ``pay_…``, ``cf_…``) and the values in ``hide`` (the user's id)
  become ``[id]``.

The translator is the exception: text the user asks to translate is sent as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from assistant.logs import mask_digit_runs

HIDDEN_KEYS = frozenset({"id", "user_id", "bill_id", "biller_id", "payment_id", "confirmation_id", "session_id",
                         "idempotency_key"})
ACCOUNT_KEYS = frozenset({"account"})
TAIL = 4
_LONG_DIGITS = re.compile(r"(?<![\d.])\d{3,}(?:[ \-](?!\d{4}-\d\d?-)\d{3,})*(?!\d)")  # "3301 2245", not "2026-12-15"
_INTERNAL_ID = re.compile(  # bill, payment, confirmation and session ids; not "bill_type" or "pay_bill"
    r"\b(?:bill_(?!types?\b)[A-Za-z0-9_\-]{4,}|pay_[0-9a-f]{12,}|cf_[A-Za-z0-9_\-]{12,}|s_[A-Za-z0-9_\-]{16,})")


def redact_text(text: str, hide: Iterable[str] = ()) -> str:
    """The text with long digit runs cut to their tail and internal ids (and ``hide``) replaced."""
    for value in hide:
        if value and len(value) >= 3:
            text = re.sub(rf"(?<![\w]){re.escape(value)}(?![\w])", "[id]", text)
    text = _INTERNAL_ID.sub("[id]", text)
    return mask_digit_runs(text, _LONG_DIGITS, tail=TAIL)


def account_tail(account: Any) -> str:
    chars = "".join(ch for ch in str(account) if ch.isalnum())
    return chars[-TAIL:]


def redact_data(value: Any, hide: Iterable[str] = ()) -> Any:
    """A JSON-like tool result with ids dropped, accounts cut to their tail and texts redacted."""
    hide = tuple(hide)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in HIDDEN_KEYS:
                continue
            if key in ACCOUNT_KEYS and item is not None:
                out[f"{key}_tail"] = account_tail(item)
                continue
            out[key] = redact_data(item, hide)
        return out
    if isinstance(value, list | tuple):
        return [redact_data(item, hide) for item in value]
    if isinstance(value, str):
        return redact_text(value, hide)
    return value


def redact_message(message: dict[str, Any], hide: Iterable[str] = ()) -> dict[str, Any]:
    """A chat message (its text and any tool-call arguments) redacted, to send back to the model."""
    out = dict(message)
    if isinstance(out.get("content"), str):
        out["content"] = redact_text(out["content"], hide)
    if out.get("tool_calls"):
        out["tool_calls"] = [{**call, "function": {**call["function"],
                                                   "arguments": redact_text(call["function"]["arguments"], hide)}}
                             for call in out["tool_calls"]]
    return out
