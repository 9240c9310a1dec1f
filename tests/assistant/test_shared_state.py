"""Limits and session ownership, in memory (one process) and in a real Redis (several workers).

Two ``RedisState`` objects on one Redis stand for two workers: what one takes, the other sees."""

from __future__ import annotations

import asyncio

import pytest

from assistant.api.server import free_port
from assistant.settings import Settings
from assistant.shared import SessionBusy, build_shared_state
from assistant.shared.memory import MemoryState
from assistant.shared.redis_state import RedisState


def limits(tmp_path, **changes) -> Settings:
    base = {"user_turns_per_minute": 8, "max_sessions_per_user": 2, "session_starts_per_minute": 3}
    return Settings(data_dir=tmp_path, _env_file=None, **(base | changes))


async def test_without_redis_the_state_is_this_process_memory(tmp_path):
    state = build_shared_state(limits(tmp_path))
    assert isinstance(state, MemoryState) and not state.distributed
    assert [await state.allow_turn("u") for _ in range(6)] == [True] * 5 + [False]  # burst max(5, 8/4)
    assert [await state.allow_start("u") for _ in range(4)] == [True] * 3 + [False]
    assert await state.open_session("u", "a") and await state.open_session("u", "b")
    assert not await state.open_session("u", "c")
    await state.close_session("u", "a")
    assert await state.open_session("u", "c")
    async with state.session_lock("s1"), state.session_lock("s1"):  # no cross-process lock: re-entrant no-op
        pass


async def test_turn_and_start_limits_hold_across_workers(tmp_path, redis_url):
    settings = limits(tmp_path, redis_url=redis_url)
    one, two = build_shared_state(settings), build_shared_state(settings)
    assert isinstance(one, RedisState) and one.distributed
    try:
        taken = [await (one if i % 2 else two).allow_turn("u_turns") for i in range(8)]
        assert taken == [True] * 5 + [False] * 3  # one bucket of 5 for both workers, not 5 each
        assert await one.allow_turn("someone_else")
        starts = [await (two if i % 2 else one).allow_start("u_starts") for i in range(4)]
        assert starts == [True] * 3 + [False]
    finally:
        await one.aclose()
        await two.aclose()


async def test_live_sessions_are_capped_across_workers_and_a_dead_workers_slots_lapse(tmp_path, redis_url):
    settings = limits(tmp_path, redis_url=redis_url, live_session_ttl_s=1.0)
    one, two = build_shared_state(settings), build_shared_state(settings)
    try:
        assert await one.open_session("u_live", "c1") and await one.open_session("u_live", "c2")
        assert not await two.open_session("u_live", "c3")  # the cap is per user, over every worker
        await one.close_session("u_live", "c1")
        assert await two.open_session("u_live", "c3")
        # worker one dies without closing c2 (kill -9: no heartbeat any more); worker two keeps beating
        one._heartbeat.cancel()
        assert not await two.open_session("u_live", "c4")
        await asyncio.sleep(1.6)
        assert await two.open_session("u_live", "c4")  # c2 lapsed; c3 stayed alive by heartbeat
        assert not await two.open_session("u_live", "c5")
    finally:
        await one.aclose()
        await two.aclose()


async def test_a_session_is_owned_by_one_worker_at_a_time(tmp_path, redis_url):
    settings = limits(tmp_path, redis_url=redis_url, session_lock_ttl_s=0.6, session_lock_wait_s=0.3)
    one, two = build_shared_state(settings), build_shared_state(settings)
    order: list[str] = []
    try:
        async with one.session_lock("s_owned"):
            with pytest.raises(SessionBusy):
                async with two.session_lock("s_owned"):
                    order.append("two ran while one owned it")
            await asyncio.sleep(1.0)  # longer than the TTL: the owner's lock is renewed while it works
            with pytest.raises(SessionBusy):
                async with two.session_lock("s_owned"):
                    pass
        async with two.session_lock("s_owned"):
            order.append("two")
        # a crashed owner's lock (never released) lapses after its TTL
        await one.client.set("lui:lock:session:s_dead", "crashed-owner", px=500)
        waiting = limits(tmp_path, redis_url=redis_url, session_lock_wait_s=10)
        three = build_shared_state(waiting)
        async with three.session_lock("s_dead"):
            order.append("three")
        await three.aclose()
        assert order == ["two", "three"]
    finally:
        await one.aclose()
        await two.aclose()


async def test_without_an_answering_redis_requests_go_through_and_turns_run_unowned(tmp_path):
    state = build_shared_state(limits(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        assert await state.allow_turn("u") and await state.allow_start("u")
        assert await state.open_session("u", "c1")
        async with state.session_lock("s"):
            pass
        with pytest.raises(Exception):  # noqa: B017 (readiness reports the class name)
            await state.ping()
    finally:
        await state.aclose()


async def test_more_turns_in_flight_than_redis_connections_wait_for_one_instead_of_running_unowned(
        tmp_path, redis_url, caplog):
    """150 sessions taking their lock at once on a pool of 8 connections: every one is owned (none
    falls back to "Redis is down") and every lock is released. redis-py's default pool raised
    MaxConnectionsError past 100 commands in flight: a worker with 200 sessions ran turns unowned and
    lost lock releases (the session then stayed locked for session_lock_ttl_s)."""
    settings = limits(tmp_path, redis_url=redis_url, redis_max_connections=8, user_turns_per_minute=10**6)
    state = build_shared_state(settings)
    owned: list[str | None] = []

    async def turn(i: int) -> None:
        assert await state.allow_turn(f"u_many_{i}")
        async with state.session_lock(f"s_many_{i}") as got:
            owned.append(got.token)
            await asyncio.sleep(0.01)

    try:
        await asyncio.gather(*[turn(i) for i in range(150)])
        assert len(owned) == 150 and None not in owned
        assert not [k async for k in state.client.scan_iter("lui:lock:session:s_many_*")]  # all released
        assert "redis unavailable" not in caplog.text
        assert state.client.connection_pool.max_connections == 8
    finally:
        await state.aclose()


async def test_a_turn_ends_even_when_the_lock_renewal_loses_its_cancel(tmp_path, redis_url):
    """On Python 3.11, asyncio.wait_for (inside redis-py's socket timeouts) swallows a cancel that
    arrives as its command completes. The turn used to cancel the renewal and then await it: with the
    cancel lost, the renewal went on for ever, the turn never ended and the lock never lapsed (the
    load test's client timeouts with one worker). Here the renewal's command always loses the cancel."""
    settings = limits(tmp_path, redis_url=redis_url, session_lock_ttl_s=0.6)  # renewed every 0.2 s
    state = build_shared_state(settings)
    real_renew = state._renew

    async def renew_losing_the_cancel(*args, **kwargs):
        command = asyncio.ensure_future(real_renew(*args, **kwargs))  # as wait_for runs it: a task
        try:
            await asyncio.sleep(0.25)  # a slow answer (still within the TTL): the turn ends meanwhile
        except asyncio.CancelledError:
            pass  # what the wait_for race does: the cancel is gone, the command's result returned
        return await command

    state._renew = renew_losing_the_cancel
    try:
        async def turn() -> None:
            async with state.session_lock("s_renew"):
                await asyncio.sleep(0.3)  # the first renewal is in its slow command now

        running = asyncio.create_task(turn())
        await asyncio.wait({running}, timeout=10)  # about 0.3 s; the old code waited here for ever
        assert running.done(), "the turn is stuck awaiting its lock renewal"
        running.result()
        assert await state.client.get("lui:lock:session:s_renew") is None  # released
        await asyncio.sleep(1.0)  # the late renewal extends nothing and stops
        assert await state.client.get("lui:lock:session:s_renew") is None
        assert not [t for t in asyncio.all_tasks() if t.get_coro().__name__ == "_keep"]
        async with state.session_lock("s_renew") as again:  # the session is free at once
            assert again.token is not None
    finally:
        await state.aclose()
