"""Logging that never writes secrets or full account numbers."""

from __future__ import annotations

import logging
import re

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

    def tail(match: re.Match) -> str:
        found = match.group(1)
        digits = re.sub(r"\D", "", found)
        if len(digits) < 7 or _DATE.match(found):
            return found
        return "*" * (len(digits) - 4) + digits[-4:]

    return _LONG_DIGITS.sub(tail, text)


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


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_masking()
