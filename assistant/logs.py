"""Logging that never writes secrets or full account numbers; plain text or JSON lines.

Inside a turn every record carries the session and turn id (context variables set by the turn
loop), so JSON logs from many concurrent sessions can be followed one conversation at a time.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime

_LONG_DIGITS = re.compile(r"(?<![\d.])(\d[\d\- ]{4,}\d)(?![\d])")  # not the decimals of 0.8975
_TOKEN = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+")  # JWTs
_SECRET_KV = re.compile(r"(?i)(\w*(?:secret|api_key|password|token)\w*)(\s*[=:]\s*)\S+")
_DATE = re.compile(r"^\d{4}-\d{1,2}(-\d{1,2})?$")
_SECRETS: set[str] = set()  # configured secret values (API keys ...), masked wherever they appear


def register_secrets(*values: str | None) -> None:
    """Mask these exact values in every log line from now on (call at start-up with the API keys:
    a provider error may echo the key outside any ``key=value`` shape). Short values are ignored."""
    _SECRETS.update(v for v in values if v and len(v) >= 6)


def mask(text: str) -> str:
    """"户号3100123456" → "户号******3456"; tokens and key=value secrets → "***"."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    text = _TOKEN.sub("***", text)
    text = _SECRET_KV.sub(r"\1\2***", text)
    return mask_digit_runs(text, _LONG_DIGITS, keep=_DATE.match)


def mask_digit_runs(text: str, runs: re.Pattern[str], *, tail: int = 4,
                    keep: Callable[[str], object] | None = None) -> str:
    """Each match of ``runs`` holding 7 or more digits as stars and its last ``tail`` digits
    (separators dropped: "3100 1234 56" → "******3456"); shorter runs, and runs ``keep`` says yes to,
    stay as they are. The log masking here and the LLM redaction (``assistant.llm.redact``) share it."""

    def masked(match: re.Match[str]) -> str:
        found = match.group(0)
        digits = re.sub(r"\D", "", found)
        if len(digits) < 7 or (keep is not None and keep(found)):
            return found
        return "*" * (len(digits) - tail) + digits[-tail:]

    return runs.sub(masked, text)


# loggers that write through their own handlers (not the root's), so the root handler's filter
# never sees them: uvicorn's access log carries full URLs, query-string tokens included
THIRD_PARTY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi",
                       "LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm")
_KEEP_ARGS = ("uvicorn.access",)  # its formatter unpacks record.args: mask them one by one


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name in _KEEP_ARGS and isinstance(args, tuple):
            record.msg = mask(str(record.msg))
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in args)
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's problem, not ours
            return True
        record.msg, record.args = mask(message), None
        return True


def install_masking(names: tuple[str, ...] = THIRD_PARTY_LOGGERS) -> None:
    """Put the masking filter on loggers that do not reach the root handler (idempotent).

    A logger's own filters survive ``logging.config.dictConfig`` (uvicorn reconfigures its loggers
    when a server is created), so this may run before or after that.
    """
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskingFilter) for f in logger.filters):
            logger.addFilter(MaskingFilter())


SESSION_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("lui_session_id", default=None)
TURN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("lui_turn_id", default=None)


class ContextFilter(logging.Filter):
    """Stamp each record with the session and turn it was written in (None outside a turn)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.session_id, record.turn_id = SESSION_ID.get(), TURN_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message (masked), session and turn ids, error."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "session_id": getattr(record, "session_id", None), "turn_id": getattr(record, "turn_id", None)}
        if record.exc_info:
            line["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: int = logging.INFO, fmt: str = "text") -> None:
    """The root handler: masked, stamped with session and turn ids; ``fmt`` "text" or "json"."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ContextFilter())
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_masking()
