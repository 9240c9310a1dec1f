"""Shared state for one process: the per-user token buckets and live-session counts of
:class:`assistant.api.limits.UserLimits`, exactly as a single worker always had them."""

from __future__ import annotations

from assistant.api.limits import UserLimits
from assistant.shared import SharedState


class MemoryState(SharedState):
    name = "memory"

    def __init__(self, limits: UserLimits):
        self.limits = limits

    @classmethod
    def from_settings(cls, settings) -> MemoryState:
        return cls(UserLimits.from_settings(settings))

    async def allow_turn(self, user: str) -> bool:
        return self.limits.allow_turn(user)

    async def allow_start(self, user: str) -> bool:
        return self.limits.allow_start(user)

    async def open_session(self, user: str, slot: str) -> bool:
        return self.limits.open(user)

    async def close_session(self, user: str, slot: str) -> None:
        self.limits.close(user)
