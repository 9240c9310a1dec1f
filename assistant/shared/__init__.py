"""State every worker must agree on: per-user turn and session-start rates, live sessions per user,
and session ownership (a session's turns run on one worker at a time).

One interface, :class:`SharedState`, two backends: :class:`~assistant.shared.memory.MemoryState`
(one process, no set-up: what lui always did) and :class:`~assistant.shared.redis_state.RedisState`
(``LUI_REDIS_URL``: limits and locks hold across every worker). Pick with :func:`build_shared_state`.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

from assistant.errors import LuiError


class SessionBusy(LuiError):
    """Another worker has been running a turn of this session for longer than we may wait."""

    code = "session-busy"
    retryable = True


@dataclass(frozen=True)
class Owned:
    """What :meth:`SharedState.session_lock` found when it took the session.

    ``token`` names this ownership; pass it back as ``seen`` next time. ``fresh``: nobody else has
    owned the session since the ownership named ``seen``, so the state this worker holds is the
    newest and need not be re-read from the database."""

    token: str | None
    fresh: bool


class SharedState(ABC):
    """Limits and session ownership. Every method is async (a shared backend is a network hop)."""

    name: str = "?"
    # True when other processes may change a session between two of our turns: the turn loop then
    # re-reads the session's state from the database once it owns the session
    distributed: bool = False

    @abstractmethod
    async def allow_turn(self, user: str) -> bool:
        """Take one of the user's turn tokens (``user_turns_per_minute``); False when none is left."""

    @abstractmethod
    async def allow_start(self, user: str) -> bool:
        """Take one of the user's session-start tokens (``session_starts_per_minute``)."""

    @abstractmethod
    async def open_session(self, user: str, slot: str) -> bool:
        """Hold one of the user's live-session slots (``max_sessions_per_user``) under the name
        ``slot``; False when all are taken."""

    @abstractmethod
    async def close_session(self, user: str, slot: str) -> None:
        """Give the slot back (idempotent)."""

    def session_lock(self, session_id: str, seen: str | None = None) -> contextlib.AbstractAsyncContextManager[Owned]:
        """Own the session for one turn; raises :class:`SessionBusy` when it cannot be had in time.
        ``seen``: the token of this worker's previous ownership of it (see :class:`Owned`).
        One process: every session object has its own asyncio lock already, so nothing to do."""
        return _nothing()

    async def ping(self) -> None:
        """Raise when the backend does not answer (for ``/readyz``)."""
        return None

    async def aclose(self) -> None:
        """Release connections and background tasks."""
        return None


@contextlib.asynccontextmanager
async def _nothing() -> AsyncIterator[Owned]:
    yield Owned(None, True)


def build_shared_state(settings) -> SharedState:
    """Redis when ``LUI_REDIS_URL`` is set, else this process's memory."""
    if settings.redis_url:
        from assistant.shared.redis_state import RedisState

        return RedisState.from_settings(settings)
    from assistant.shared.memory import MemoryState

    return MemoryState.from_settings(settings)
