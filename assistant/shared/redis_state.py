"""Shared state in Redis (``LUI_REDIS_URL``): every worker sees the same limits and session owners.

- Rate limits are token buckets kept in a Redis hash and updated by one Lua script (atomic, on
  Redis's clock), with the same rates and bursts as the in-process buckets.
- Live sessions per user are a sorted set of slots scored by their last heartbeat: a worker
  refreshes the slots it holds every ``live_session_ttl_s / 3``; slots of a worker that died
  (kill -9) lapse after ``live_session_ttl_s`` instead of holding the user out for ever.
- Session ownership is a lock per session (``SET NX PX`` with a random token, released by a
  compare-and-delete script) renewed while the turn runs, so a crashed owner frees it on expiry.
  Taking the lock also swaps the session's "last owner" key to the new token, in the same script
  (one round trip): a worker whose previous token is still the last owner knows no other worker
  touched the session since, and skips re-reading its state from the database.

When Redis does not answer, limits let the request through (logged) and the session lock is
skipped: payments stay safe either way (the ledger's conditional updates pay a confirmation once),
and ``/readyz`` reports Redis as down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from assistant.shared import Owned, SessionBusy, SharedState

log = logging.getLogger(__name__)
PREFIX = "lui:"

TOKEN_BUCKET = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(v[1]), tonumber(v[2])
if tokens == nil then tokens, ts = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return ok
"""

OPEN_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3]); return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
return 1
"""

REFRESH_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
return 1
"""

# KEYS: lock, last owner; ARGV: token, lock ttl ms, last-owner ttl ms. {1, previous owner} or {0}
TAKE_LOCK = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local last = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
return {1, last or ''}
"""
OWNER_TTL_MS = 86_400_000  # a session's last owner is forgotten after a day (then it is simply re-read)

RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

RENEW_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class RedisState(SharedState):
    name = "redis"
    distributed = True

    def __init__(self, client: aioredis.Redis, *, turns_per_minute: int, starts_per_minute: int,
                 max_sessions: int, live_ttl_s: float = 60.0, lock_ttl_s: float = 30.0,
                 lock_wait_s: float = 30.0):
        self.client = client
        self.turn_rate, self.turn_burst = turns_per_minute / 60.0, max(5.0, turns_per_minute / 4)
        self.start_rate, self.start_burst = starts_per_minute / 60.0, float(starts_per_minute)
        self.max_sessions = max_sessions
        self.live_ttl_s = live_ttl_s
        self.lock_ttl_ms = int(lock_ttl_s * 1000)
        self.lock_wait_s = lock_wait_s
        self._bucket = client.register_script(TOKEN_BUCKET)
        self._open = client.register_script(OPEN_SLOT)
        self._refresh = client.register_script(REFRESH_SLOT)
        self._take_lock = client.register_script(TAKE_LOCK)
        self._release = client.register_script(RELEASE_LOCK)
        self._renew = client.register_script(RENEW_LOCK)
        self._slots: dict[str, str] = {}  # slot → user, held by this process (refreshed by the heartbeat)
        self._heartbeat: asyncio.Task | None = None

    @classmethod
    def from_settings(cls, settings) -> RedisState:
        # a bounded pool whose callers WAIT for a free connection: redis-py's default pool raises
        # MaxConnectionsError past 100 commands in flight, which the fail-open paths below took for "Redis
        # is down" (turns ran unowned, and a lost release left a session locked for session_lock_ttl_s)
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=settings.redis_max_connections,
            timeout=settings.redis_pool_wait_s, socket_timeout=2.0, socket_connect_timeout=2.0,
            health_check_interval=30)
        client = aioredis.Redis(connection_pool=pool)
        return cls(client, turns_per_minute=settings.user_turns_per_minute,
                   starts_per_minute=settings.session_starts_per_minute, max_sessions=settings.max_sessions_per_user,
                   live_ttl_s=settings.live_session_ttl_s, lock_ttl_s=settings.session_lock_ttl_s,
                   lock_wait_s=settings.session_lock_wait_s)

    # ---- rates -----------------------------------------------------------------------------
    async def _take(self, key: str, rate: float, burst: float) -> bool:
        try:
            return bool(await self._bucket(keys=[PREFIX + key], args=[rate, burst]))
        except (RedisError, OSError) as exc:  # fail open: a Redis outage must not stop every user
            log.warning("redis unavailable for rate limit %s: %s", key.split(":")[0], type(exc).__name__)
            return True

    async def allow_turn(self, user: str) -> bool:
        return await self._take(f"turns:{user}", self.turn_rate, self.turn_burst)

    async def allow_start(self, user: str) -> bool:
        return await self._take(f"starts:{user}", self.start_rate, self.start_burst)

    # ---- live sessions ---------------------------------------------------------------------
    async def open_session(self, user: str, slot: str) -> bool:
        try:
            ok = bool(await self._open(keys=[f"{PREFIX}live:{user}"], args=[self.max_sessions, self.live_ttl_s, slot]))
        except (RedisError, OSError) as exc:
            log.warning("redis unavailable for live sessions: %s", type(exc).__name__)
            ok = True
        if ok:
            self._slots[slot] = user
            if self._heartbeat is None or self._heartbeat.done():
                self._heartbeat = asyncio.create_task(self._beat())
        return ok

    async def close_session(self, user: str, slot: str) -> None:
        self._slots.pop(slot, None)
        with contextlib.suppress(RedisError, OSError):
            await self.client.zrem(f"{PREFIX}live:{user}", slot)

    async def _beat(self) -> None:
        """Keep this process's slots alive while it runs; a dead process's slots lapse."""
        while self._slots:
            await asyncio.sleep(self.live_ttl_s / 3)
            pipe = self.client.pipeline(transaction=False)  # one round trip for every slot held here
            for slot, user in list(self._slots.items()):
                await self._refresh(keys=[f"{PREFIX}live:{user}"], args=[slot, self.live_ttl_s], client=pipe)
            with contextlib.suppress(RedisError, OSError):
                await pipe.execute()

    # ---- session ownership -----------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def session_lock(self, session_id: str, seen: str | None = None) -> AsyncIterator[Owned]:
        key, token = f"{PREFIX}lock:session:{session_id}", secrets.token_hex(8)
        keys = [key, f"{PREFIX}owner:session:{session_id}"]
        deadline, delay = time.monotonic() + self.lock_wait_s, 0.005
        try:
            while not (took := await self._take_lock(keys=keys, args=[token, self.lock_ttl_ms, OWNER_TTL_MS]))[0]:
                if time.monotonic() + delay > deadline:
                    raise SessionBusy("this conversation is busy on another connection; try again")
                await asyncio.sleep(delay)
                delay = min(0.1, delay * 2)
        except (RedisError, OSError) as exc:  # no Redis: run unowned (the ledger still pays once)
            log.warning("redis unavailable for the session lock: %s", type(exc).__name__)
            yield Owned(None, False)
            return
        last = took[1].decode() if isinstance(took[1], bytes) else took[1]
        done = asyncio.Event()
        renew = asyncio.create_task(self._keep(key, token, done))
        try:
            yield Owned(token, seen is not None and last == seen)
        finally:
            # the renewal stops on ``done``, not on the cancel alone, and is never awaited: on Python
            # 3.11 asyncio.wait_for (which redis-py's socket timeouts use) loses a cancel that lands as
            # its command completes, and awaiting the renewal then hung the turn for ever (the renewal
            # went on extending the lock too): under load, the 1-worker timeouts of issue 15
            done.set()
            renew.cancel()
            try:
                await self._release(keys=[key], args=[token])
            except (RedisError, OSError) as exc:  # the lock lapses after session_lock_ttl_s: say so
                log.warning("could not release a session lock (it lapses in %d ms): %s", self.lock_ttl_ms,
                            type(exc).__name__)

    async def _keep(self, key: str, token: str, done: asyncio.Event) -> None:
        """Extend the lock while the turn runs (a slow LLM call) until ``done``; a crashed owner lets
        it lapse. A renewal after the release extends nothing (the script checks the token)."""
        with contextlib.suppress(RedisError, OSError):
            while not done.is_set():
                await asyncio.sleep(self.lock_ttl_ms / 3000)
                if done.is_set() or not await self._renew(keys=[key], args=[token, self.lock_ttl_ms]):
                    return

    async def ping(self) -> None:
        await self.client.ping()

    async def aclose(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        with contextlib.suppress(Exception):
            await self.client.aclose()
