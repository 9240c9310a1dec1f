"""Named bounded pools: what they count, that one kind of work cannot starve another, and /healthz."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from assistant.api.app import create_app
from assistant.pools import BoundedPool, Pools
from tests.conftest import LiveServer, demo_assistant


def _blocker(pool: BoundedPool, n: int) -> threading.Event:
    release = threading.Event()
    for _ in range(n):
        pool.submit(release.wait, 30)
    return release


def _eventually(check, timeout_s: float = 5.0) -> None:
    deadline = threading.Event()
    for _ in range(int(timeout_s / 0.02)):
        if check():
            return
        deadline.wait(0.02)
    assert check()


def test_a_pool_counts_busy_and_waiting_and_says_when_it_is_saturated():
    pool = BoundedPool("db", 2)
    try:
        release = _blocker(pool, 2)
        _eventually(lambda: pool.load().busy == 2)
        assert not pool.load().saturated  # full, but nobody waits
        waiting = pool.submit(lambda: "done")
        load = pool.load()
        assert (load.busy, load.waiting, load.saturated) == (2, 1, True)
        release.set()
        assert waiting.result(5) == "done"
        _eventually(lambda: pool.load().busy == 0 and pool.load().completed == 3)
        assert not pool.load().saturated
    finally:
        pool.close()


async def test_cancelling_a_waiting_caller_drops_its_job():
    pool = BoundedPool("db", 1)
    try:
        release = _blocker(pool, 1)
        ran = threading.Event()
        task = asyncio.create_task(pool.run(ran.set))
        await asyncio.sleep(0.05)
        assert pool.load().waiting == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.load().waiting == 0
        release.set()
        await pool.run(lambda: None)
        assert not ran.is_set()
    finally:
        pool.close()


async def test_a_saturated_pool_does_not_starve_the_others():
    pools = Pools({"router": 1, "embed": 1, "db": 2})
    try:
        release = _blocker(pools["db"], 5)  # the database is stuck: 2 running, 3 waiting
        assert await asyncio.wait_for(pools.run("router", lambda: "understood"), 2) == "understood"
        assert await asyncio.wait_for(pools.run("embed", lambda: "found"), 2) == "found"
        assert pools.saturated() == ["db"]
        release.set()
    finally:
        pools.close()


def test_healthz_is_degraded_and_names_the_saturated_pool(settings, router):
    assistant = demo_assistant(settings, router)
    with LiveServer(create_app(settings, assistant)) as server, httpx.Client(base_url=server.http) as http:
        health = http.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert set(health.json()["pools"]) >= {"router", "embed", "db"}
        db = assistant.pools["db"]
        release = _blocker(db, db.workers + 1)
        try:
            _eventually(lambda: db.load().saturated)
            health = http.get("/healthz")
            assert health.status_code == 200  # still alive: liveness is not readiness
            body = health.json()
            assert body["status"] == "degraded" and body["saturated"] == ["db"]
            assert body["pools"]["db"]["waiting"] == 1 and body["pools"]["db"]["busy"] == db.workers
        finally:
            release.set()
        _eventually(lambda: not db.load().saturated)
        assert http.get("/healthz").json()["status"] == "ok"
