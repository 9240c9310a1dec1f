"""Protection for the server: token-bucket rate limits (turns, session starts), live-session and
connection caps, and browser origin checks.

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

    def wait_s(self, now: float | None = None) -> float:
        """Seconds until a token is free (0 when one is free now); takes nothing."""
        now = time.monotonic() if now is None else now
        tokens = self.burst if self.tokens < 0 else min(self.burst, self.tokens + (now - self.updated) * self.rate_per_s)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate_per_s

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
    """Per-user turn rate, session-start rate and live connection count, shared by all connections
    of a process. Checked before anything is written: a refused request leaves no row behind."""

    def __init__(self, turns_per_minute: int, max_sessions: int, starts_per_minute: int = 30):
        self.turns_per_minute = turns_per_minute
        self.max_sessions = max_sessions
        self.starts_per_minute = starts_per_minute
        self._buckets: dict[str, TokenBucket] = {}
        self._starts: dict[str, TokenBucket] = {}
        self._live: defaultdict[str, int] = defaultdict(int)

    @classmethod
    def from_settings(cls, settings) -> UserLimits:
        return cls(settings.user_turns_per_minute, settings.max_sessions_per_user, settings.session_starts_per_minute)

    def allow_turn(self, user: str) -> bool:
        bucket = self._buckets.get(user)
        if bucket is None:
            rate = self.turns_per_minute / 60.0
            bucket = self._buckets[user] = TokenBucket(rate, burst=max(5.0, self.turns_per_minute / 4))
        return bucket.take()

    def allow_start(self, user: str) -> bool:
        """``starts_per_minute`` session starts at once, then that many a minute."""
        bucket = self._starts.get(user)
        if bucket is None:
            rate = self.starts_per_minute / 60.0
            bucket = self._starts[user] = TokenBucket(rate, burst=float(self.starts_per_minute))
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


class ConnectionLimits:
    """Live websocket connections per client address and in total (one event loop: no lock)."""

    def __init__(self, per_ip: int, total: int):
        self.per_ip = per_ip
        self.total = total
        self._by_ip: defaultdict[str, int] = defaultdict(int)
        self._count = 0

    def open(self, ip: str) -> bool:
        if self._count >= self.total or self._by_ip[ip] >= self.per_ip:
            if not self._by_ip[ip]:
                del self._by_ip[ip]
            return False
        self._by_ip[ip] += 1
        self._count += 1
        return True

    def close(self, ip: str) -> None:
        self._count = max(0, self._count - 1)
        self._by_ip[ip] = max(0, self._by_ip[ip] - 1)
        if not self._by_ip[ip]:
            del self._by_ip[ip]

    @property
    def live(self) -> int:
        return self._count


def origin_allowed(origin: str | None, patterns: list[str]) -> bool:
    """Non-browser clients send no Origin and are allowed; browsers must match a pattern."""
    if not origin:
        return True
    return any(fnmatch.fnmatchcase(origin.lower(), p.lower()) for p in patterns)
