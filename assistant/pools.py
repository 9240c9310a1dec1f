"""Named, bounded thread pools for blocking work, so that one kind of work cannot starve another.

``asyncio.to_thread`` shares one default executor (``min(32, cores + 4)`` threads: 6 on 2 cores)
between everything. A handful of calls stuck in one kind of work (an LLM provider that trickles its
answer, a slow database) then leaves no thread for anything else, and new sessions stop starting.
Here each kind of blocking work has its own pool, sized from Settings:

``router``  the intent router's ``understand`` (embedding + classifier), CPU
``embed``   service lookup (query embedding + vector search), CPU
``db``      database reads and writes (sessions, turn log, the ledger's tools)

LLM calls use no thread at all (``litellm.acompletion`` under a deadline), and Whisper has its own
pool (``voice.pool``). ``loads()`` says how busy each pool is; a pool whose threads are all busy
while callers wait for one is *saturated*, which ``/healthz`` reports as ``degraded``.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

T = TypeVar("T")
POOL_NAMES = ("router", "embed", "db")


@dataclass(frozen=True)
class PoolLoad:
    name: str
    workers: int
    busy: int  # jobs running now
    waiting: int  # jobs submitted, waiting for a thread
    completed: int

    @property
    def saturated(self) -> bool:
        """Every thread is busy and work is waiting for one."""
        return self.busy >= self.workers and self.waiting > 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "saturated": self.saturated}


class BoundedPool:
    """A ThreadPoolExecutor with ``workers`` threads that counts what runs and what waits."""

    def __init__(self, name: str, workers: int):
        if workers < 1:
            raise ValueError(f"pool {name!r} needs at least one worker")
        self.name = name
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"lui-{name}")
        self._lock = threading.Lock()
        self._busy = self._waiting = self._completed = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queue ``fn(*args, **kwargs)`` (with the caller's context variables); thread-safe."""
        context = contextvars.copy_context()

        def job() -> T:
            with self._lock:
                self._waiting -= 1
                self._busy += 1
            try:
                return context.run(fn, *args, **kwargs)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._completed += 1

        with self._lock:
            self._waiting += 1
        try:
            future = self._executor.submit(job)
        except BaseException:
            with self._lock:
                self._waiting -= 1
            raise
        future.add_done_callback(self._on_done)
        return future

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in this pool and await it. Cancelling the caller drops a job still waiting;
        one already running finishes in its thread and its result is thrown away. The caller's
        context variables (the session and turn ids that logs carry) go along, as with to_thread."""
        context = contextvars.copy_context()
        return await asyncio.wrap_future(self.submit(context.run, fn, *args, **kwargs))

    def load(self) -> PoolLoad:
        with self._lock:
            return PoolLoad(self.name, self.workers, self._busy, self._waiting, self._completed)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _on_done(self, future: Future) -> None:
        if future.cancelled():  # never started: ``job`` did not count it out of the queue
            with self._lock:
                self._waiting -= 1


def db_threads(settings: Any) -> int:
    """Database threads: ``pool_db_threads`` on SQLite, ``pool_db_threads_postgres`` on a server."""
    if settings.db_url.startswith("sqlite"):
        return settings.pool_db_threads
    return settings.pool_db_threads_postgres


class Pools:
    """The process's named pools (one set per :class:`~assistant.turns.Assistant`)."""

    def __init__(self, sizes: Mapping[str, int]):
        self._pools = {name: BoundedPool(name, size) for name, size in sizes.items()}

    @classmethod
    def from_settings(cls, settings: Any) -> Pools:
        return cls({"router": settings.pool_router_threads, "embed": settings.pool_embed_threads,
                    "db": db_threads(settings)})

    def __getitem__(self, name: str) -> BoundedPool:
        return self._pools[name]

    def names(self) -> list[str]:
        return list(self._pools)

    async def run(self, name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await self._pools[name].run(fn, *args, **kwargs)

    def loads(self) -> list[PoolLoad]:
        return [pool.load() for pool in self._pools.values()]

    def saturated(self) -> list[str]:
        return [load.name for load in self.loads() if load.saturated]

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
