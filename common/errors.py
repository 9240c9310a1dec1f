"""The root of every error lui raises on purpose.

Each package (tools, knowledge, voice, assistant, assistant.llm ...) subclasses :class:`CodedError`
once and gives each failure a stable ``code``; the API layer turns any of them into an ``error``
event with that code (``assistant.errors.LuiError`` is this class). Expected outcomes ("no intent
matched", "bill not found") are return values, not errors.
"""

from __future__ import annotations


class CodedError(Exception):
    """An error with a stable, machine-readable code and a retry hint for clients."""

    code: str = "internal"
    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None, retryable: bool | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ConfigError(CodedError):
    """A setting is missing or wrong; the message names the setting and how to fix it."""

    code = "config"


class ModelNotFoundError(ConfigError):
    """A model (embedder, whisper) could not be found locally. Nothing is downloaded at run time."""

    code = "model-not-found"
