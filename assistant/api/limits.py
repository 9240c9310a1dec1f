"""Protection for the server: token-bucket rate limits, live-session caps and browser origin checks.

State is per process (one uvicorn worker). Behind a load balancer with several workers, the
per-user limits hold per worker; a shared limiter (Redis or the database) would make them global.
"""

from __future__ import annotations

import fnmatch
import time
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: float
    tokens: float = -1.0
    updated: float = field(default_factory=time.monotonic)

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate_per_s)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class UserLimits:
    """Per-user turn rate and live connection count, shared by all connections of a process."""

    def __init__(self, turns_per_minute: int, max_sessions: int):
        self.turns_per_minute = turns_per_minute
        self.max_sessions = max_sessions
        self._buckets: dict[str, TokenBucket] = {}
        self._live: defaultdict[str, int] = defaultdict(int)

    def allow_turn(self, user: str) -> bool:
        bucket = self._buckets.get(user)
        if bucket is None:
            rate = self.turns_per_minute / 60.0
            bucket = self._buckets[user] = TokenBucket(rate, burst=max(5.0, self.turns_per_minute / 4))
        return bucket.take()

    def open(self, user: str) -> bool:
        if self._live[user] >= self.max_sessions:
            return False
        self._live[user] += 1
        return True

    def close(self, user: str) -> None:
        self._live[user] = max(0, self._live[user] - 1)
        if not self._live[user]:
            del self._live[user]


def origin_allowed(origin: str | None, patterns: list[str]) -> bool:
    """Non-browser clients send no Origin and are allowed; browsers must match a pattern."""
    if not origin:
        return True
    return any(fnmatch.fnmatchcase(origin.lower(), p.lower()) for p in patterns)
