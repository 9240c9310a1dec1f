"""The one error of the LLM tier, with stable codes and a retry hint.

``llm-timeout``       the provider did not answer in time (retryable)
``llm-rate-limited``  the provider said 429 (retryable)
``llm-unavailable``   5xx, connection refused, or a provider that refuses us (401/404: not retryable)
``llm-bad-response``  the model answered, but not in a shape we can use (no choices, invalid calls)
"""

from __future__ import annotations

from assistant.errors import LuiError

LLM_CODES = ("llm-timeout", "llm-rate-limited", "llm-unavailable", "llm-bad-response")


class LLMError(LuiError):
    """A provider failure or an unusable answer; the turn falls back to the router."""

    code = "llm-unavailable"
    retryable = True

    def __init__(self, message: str, *, code: str = "llm-unavailable", retryable: bool | None = None,
                 model: str | None = None, status: int | None = None):
        if code not in LLM_CODES:
            raise ValueError(f"unknown LLM error code {code!r}")
        if retryable is None:
            retryable = code != "llm-bad-response"
        super().__init__(message, code=code, retryable=retryable)
        self.model = model
        self.status = status
