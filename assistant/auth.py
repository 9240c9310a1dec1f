"""Signed session tokens (HS256 JWT): ``lui token USER`` issues one, the websocket checks it."""

from __future__ import annotations

import time

import jwt

from assistant.errors import ConfigError, LuiError
from assistant.settings import PLACEHOLDER_SECRET, Settings


class AuthError(LuiError):
    code = "unauthorized"


def check_secret(settings: Settings) -> None:
    """Refuse to run with auth on and the placeholder (or a weak) secret."""
    if settings.auth == "on" and (settings.secret_key == PLACEHOLDER_SECRET or len(settings.secret_key) < 32):
        raise ConfigError("LUI_AUTH=on needs LUI_SECRET_KEY set to a random secret of at least 32 characters")


def issue_token(user_id: str, settings: Settings, ttl_s: int | None = None, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"sub": user_id, "iat": issued, "exp": issued + (ttl_s or settings.token_ttl_s)}
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (the scheme is case-insensitive,
    RFC 7235); None for no header or another scheme."""
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def verify_token(token: str | None, settings: Settings) -> str:
    """The user id a valid token names; :class:`AuthError` otherwise."""
    if not token:
        raise AuthError("a token is required (session.start.token)")
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("the token has expired", code="token-expired") from exc
    except jwt.PyJWTError as exc:
        raise AuthError("the token is not valid") from exc
    return str(claims["sub"])
