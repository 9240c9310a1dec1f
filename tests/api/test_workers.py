"""Two real worker processes on one PostgreSQL and one Redis (both started by the suite).

Each worker is its own ``lui serve`` process on its own port, so a test can pick the worker it
talks to; on shared state this is what ``lui serve --workers 2`` behind one port amounts to (the
last test starts exactly that). Shown: a per-user limit holds across workers, a session resumed on
the other worker keeps its pending confirmation, two workers racing one confirmation pay once,
service lookup answers on every worker, and kill -9 of a worker mid-load loses no payment.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlmodel import Session, select
from websockets.asyncio.client import connect

from assistant.store.db import make_engine
from assistant.store.models import Bill, Payment, Wallet
from evals.load import seed_load_users
from tests.api.conftest import Client
from tests.workers import Worker, start_all, worker_env
from tools.billing import Billing

pytestmark = pytest.mark.slow
LOAD_USERS = 24  # load_0000.. load_0023 for the kill test; two more for the session tests


def fresh_database(pg_url: str) -> str:
    """A new database in the suite's PostgreSQL cluster, for these workers only."""
    name = f"lui_workers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, pg_url, redis_url, shared_cache, router):  # router: trained into the cache
    home: Path = tmp_path_factory.mktemp("workers")
    db = fresh_database(pg_url)
    seed_load_users(db, LOAD_USERS + 2)  # the demo users and bills, and load users with a wallet and two bills
    env = worker_env(data_dir=home / "data", cache_path=shared_cache, database_url=db, redis_url=redis_url,
                     user_turns_per_minute=1, session_lock_wait_s=20,
                     session_lock_ttl_s=3)  # a killed worker's session locks lapse quickly
    workers = start_all([Worker(env, log_path=home / f"worker{i}.log") for i in range(2)])
    engine = make_engine(db)
    yield workers, engine, env, home
    for w in workers:
        w.stop()
    engine.dispose()


async def open_client(worker: Worker, **start) -> tuple[Client, dict]:
    client = Client(await connect(worker.ws, max_size=2**22))
    started = await client.start(**start)
    return client, started


def of(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def test_service_lookup_answers_on_every_worker(cluster):
    workers, *_ = cluster
    pids = set()
    for w in workers:
        parts = httpx.get(f"{w.http}/readyz", timeout=10).json()["parts"]
        assert {k: parts[k] for k in ("redis", "vector_store", "database")} == dict.fromkeys(
            ("redis", "vector_store", "database"), "ok")
        body = httpx.post(f"{w.http}/v1/turns", json={"text": "how do I get an e-invoice", "lang": "en",
                                                      "user": "u_amy"}, timeout=60).json()
        result = of(body["events"], "tool.result")[0]
        assert result["ok"] and result["data"]["service"]["id"] == "e-invoice", body
        pids.add(httpx.get(f"{w.http}/healthz", timeout=10).json()["worker"])
    assert len(pids) == 2


def test_a_per_user_turn_limit_holds_across_workers(cluster):
    workers, *_ = cluster
    codes = [httpx.post(f"{workers[i % 2].http}/v1/turns", json={"text": "你好", "user": "u_wang"},
                        timeout=60).status_code for i in range(8)]
    # a burst of 5, then 1 a minute: five turns in all, not five on each worker
    assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3, codes


async def test_a_session_resumed_on_the_other_worker_keeps_its_pending_confirmation(cluster):
    (a, b), engine, *_ = cluster
    user = f"load_{LOAD_USERS:04d}"
    first, started = await open_client(a, user=user, lang="en")
    request = of(await first.say("pay my electricity bill"), "confirm.request")[0]
    await first.ws.close()
    second, resumed = await open_client(b, user=user, lang="en", session_id=started["session_id"])
    assert resumed["resumed"]
    again = await second.recv()
    assert again["type"] == "confirm.request" and again["confirmation_id"] == request["confirmation_id"]
    paid = await second.say("yes")
    assert of(paid, "reply") and of(paid, "tool.result")[-1]["ok"], paid
    await second.ws.close()
    with Session(engine) as s:
        assert s.get(Bill, f"{user}_electricity").status == "paid"


async def test_two_workers_racing_one_confirmation_pay_once(cluster):
    (a, b), engine, *_ = cluster
    user = f"load_{LOAD_USERS + 1:04d}"
    with Session(engine) as s:
        before = s.get(Wallet, user).balance_fen
    on_a, started = await open_client(a, user=user, lang="en")
    request = of(await on_a.say("pay my water bill"), "confirm.request")[0]
    on_b, _ = await open_client(b, user=user, lang="en", session_id=started["session_id"])
    assert (await on_b.recv())["type"] == "confirm.request"  # resumed: the question again
    confirm = {"type": "confirm", "confirmation_id": request["confirmation_id"], "accept": True}
    await asyncio.gather(on_a.send(**confirm), on_b.send(**confirm))
    answers = await asyncio.gather(on_a.until_terminal(60), on_b.until_terminal(60))
    assert all(of(events, "reply") for events in answers), answers
    await on_a.ws.close()
    await on_b.ws.close()
    with Session(engine) as s:
        payments = s.exec(select(Payment).where(Payment.confirmation_id == request["confirmation_id"])).all()
        assert [p.status for p in payments] == ["done"]
        assert s.get(Wallet, user).balance_fen == before - payments[0].amount_fen
    assert Billing(engine).ledger_check() == []


async def pay(worker: Worker, user: str, session_id: str | None = None) -> dict:
    """One load client: pay the electricity bill; what it saw."""
    seen = {"user": user, "receipt": False, "session_id": session_id, "error": None}
    try:
        start = {"user": user, "lang": "en"} | ({"session_id": session_id} if session_id else {})
        client, started = await open_client(worker, **start)
        seen["session_id"] = started["session_id"]
        events = []
        if session_id and started.get("resumed"):
            try:  # the pending question again, or the receipt of a payment made; nothing if none was asked
                first = await client.recv(3)
                events = [first] if first["type"] == "confirm.request" else [first, *await client.until_terminal(30)]
            except TimeoutError:
                pass
        if not events:
            events = await client.say("pay my electricity bill")
        request = of(events, "confirm.request")
        if request:
            await client.send(type="confirm", confirmation_id=request[0]["confirmation_id"], accept=True)
            events = await client.until_terminal(30)
        seen["events"] = [(e["type"], e.get("name") or e.get("code") or e.get("text", "")[:60]) for e in events]
        seen["receipt"] = any(e["type"] == "tool.result" and e["name"] == "confirm_payment" and e["ok"]
                              for e in events)
        await client.ws.close()
    except Exception as exc:  # the killed worker's clients: connection lost
        seen["error"] = type(exc).__name__
    return seen


async def test_kill_9_of_a_worker_mid_load_loses_no_payment(cluster):
    (a, b), engine, *_ = cluster
    users = [f"load_{i:04d}" for i in range(LOAD_USERS)]
    load = asyncio.gather(*[pay(a if i % 2 else b, u) for i, u in enumerate(users)])
    await asyncio.sleep(1.0)
    await asyncio.to_thread(a.kill)  # kill -9, mid-load
    first = await load
    # the clients of the dead worker come back on the live one and finish (resuming their session)
    retried = await asyncio.gather(*[pay(b, s["user"], s["session_id"]) for s in first if not s["receipt"]])
    # a worker killed after the payment committed but before its reply: the money moved once, the
    # client just did not hear it (a retry then finds no unpaid bill), so the ledger is the judge
    assert not [s for s in retried if s["error"]], retried
    with Session(engine) as s:
        for user in users:
            bill = s.get(Bill, f"{user}_electricity")
            done = s.exec(select(Payment).where(Payment.bill_id == bill.id, Payment.status == "done")).all()
            assert bill.status == "paid" and len(done) == 1, user  # every receipt paid, nothing paid twice
            assert s.get(Wallet, user).balance_fen == 50_000 - bill.amount_fen
    assert Billing(engine).ledger_check() == []


def test_lui_serve_workers_2_runs_two_workers_behind_one_port(cluster):
    _, _, env, home = cluster
    with Worker(env, workers=2, log_path=home / "serve2.log") as served:
        children = Path(f"/proc/{served.proc.pid}/task/{served.proc.pid}/children").read_text().split()
        spawned = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(spawned) == 2  # uvicorn's supervisor runs two worker processes (and a resource tracker)
        body = httpx.post(f"{served.http}/v1/turns", json={"text": "余额", "user": "u_amy"}, timeout=60).json()
        assert body["reply"] is not None, body
