"""Load test: many concurrent websocket clients doing mixed text turns and payments on 127.0.0.1.

    python -m evals.load [--clients 100] [--turns 6] [--budget-s 120] [--think-ms 0]

Each client is its own user (created for the run, with a wallet and unpaid bills), asks a few
questions, pays a bill (``confirm.request`` then ``confirm``, sometimes confirming twice on purpose)
and checks its balance. Reports sessions held, turns per second, p50/p95/p99 latency, the error
rate by code, server memory, and the ledger check at the end. Bounded in clients and time.

Two modes. ``--think-ms 0`` (the default) is closed-loop: each client sends its next turn as soon as
the last one is answered, so the figures are the server's saturation throughput, and latency is
what a queue of that many sessions costs (Little's law: 200 sessions at 250 turns/s wait ~0.8 s on
average, whatever the server). ``--think-ms MEAN`` paces each session like a person reading and
typing: before each turn a seeded, exponentially distributed pause of that mean (a double click on
confirm excepted). ``offered_per_s`` is then the rate the run would have had if every reply were
instant (its turns over the longest session's total think time; about clients / mean think while
every session is active), to compare with the achieved ``turns_per_s``, which can only be lower;
latency is what one turn costs at that load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from sqlmodel import Session
from websockets.asyncio.client import connect

from assistant.api.app import create_app
from assistant.api.server import ServerThread
from assistant.settings import Settings
from assistant.store.db import init_db, make_engine
from assistant.store.models import Bill, User, Wallet
from assistant.store.seed import seed_demo
from evals.metrics import machine, percentile, save_result
from tools.billing import Billing

QUESTIONS = ["我还有多少钱", "这个月电费多少", "what's my balance", "how much is my water bill", "你好",
             "怎么开电子发票", "今天天气怎么样", "thanks"]


def seed_load_users(url: str, n: int) -> None:
    engine = make_engine(url)
    init_db(engine)
    seed_demo(engine)  # billers
    with Session(engine) as s:
        for i in range(n):
            uid = f"load_{i:04d}"
            s.add(User(id=uid, display_name=f"Load {i}", lang="zh" if i % 2 else "en"))
            s.add(Wallet(user_id=uid, balance_fen=50_000, initial_fen=50_000))
        s.flush()
        for i in range(n):
            uid = f"load_{i:04d}"
            for bill_type, biller, amount in (("electricity", "sgcc_sh", 12_345), ("water", "water_sh", 4_321)):
                s.add(Bill(id=f"{uid}_{bill_type}", user_id=uid, biller_id=biller, bill_type=bill_type,
                           account=f"88{i:06d}{len(bill_type)}", period="2026-11", amount_fen=amount,
                           due_date=date(2026, 12, 15)))
        s.commit()
    engine.dispose()


async def client(url: str, i: int, turns: int, deadline: float, latencies: list[float], errors: Counter,
                 think_ms: float = 0) -> dict:
    uid = f"load_{i:04d}"
    stats = {"held": False, "paid": 0, "think_s": 0.0}
    rng = random.Random(i)
    pause = random.Random(f"think-{i}")  # its own stream: the questions are the same in both modes

    async def think() -> None:
        if think_ms > 0:
            seconds = pause.expovariate(1000 / think_ms)
            stats["think_s"] += seconds
            await asyncio.sleep(seconds)

    async def turn(ws, message: dict) -> list[dict]:
        t0 = time.perf_counter()
        await ws.send(json.dumps(message))
        events = []
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 60))
            events.append(event)
            if event["type"] in ("reply", "error"):
                latencies.append((time.perf_counter() - t0) * 1000)
                if event["type"] == "error":
                    errors[event["code"]] += 1
                return events

    try:
        async with connect(url, open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "session.start", "user": uid, "lang": "auto"}))
            await asyncio.wait_for(ws.recv(), 60)
            stats["held"] = True
            for _ in range(max(0, turns - 3)):
                await think()
                if time.perf_counter() > deadline:
                    return stats
                await turn(ws, {"type": "text", "text": rng.choice(QUESTIONS)})
            await think()
            events = await turn(ws, {"type": "text", "text": "帮我交电费" if i % 2 else "pay my electricity bill"})
            request = next((e for e in events if e["type"] == "confirm.request"), None)
            if request is not None:
                confirm = {"type": "confirm", "confirmation_id": request["confirmation_id"], "accept": True}
                await think()
                await turn(ws, confirm)
                if i % 5 == 0:  # a double click: must not pay twice
                    await turn(ws, confirm)
                stats["paid"] = 1
            await think()
            await turn(ws, {"type": "text", "text": "余额"})
    except Exception as exc:  # a dropped connection counts as an error, and the run goes on
        errors[f"client:{type(exc).__name__}"] += 1
    return stats


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def hold_idle(url: str, n: int, users: int) -> tuple[list, int]:
    """``n`` sessions that start and then say nothing (held open during the load)."""
    async def one(i: int):
        ws = await connect(url, open_timeout=120, ping_interval=None)
        await ws.send(json.dumps({"type": "session.start", "user": f"load_{i % users:04d}", "lang": "zh"}))
        event = json.loads(await asyncio.wait_for(ws.recv(), 120))
        return ws if event.get("type") == "session.started" else None

    opened = []
    for start in range(0, n, 100):  # in waves: a thousand handshakes at once only measure the backlog
        opened += await asyncio.gather(*[one(i) for i in range(start, min(n, start + 100))], return_exceptions=True)
    held = [ws for ws in opened if ws is not None and not isinstance(ws, BaseException)]
    return held, len(held)


async def run(url: str, clients: int, turns: int, budget_s: float, idle: int = 0, think_ms: float = 0,
              first_user: int = 0) -> dict:
    """``clients`` sessions of users ``load_<first_user>`` ... (seeded by :func:`seed_load_users`)."""
    latencies: list[float] = []
    errors: Counter = Counter()
    idle_ws, idle_held = await hold_idle(url, idle, max(clients, 1)) if idle else ([], 0)
    started = time.perf_counter()
    results = await asyncio.gather(*[client(url, first_user + i, turns, started + budget_s, latencies, errors,
                                            think_ms) for i in range(clients)])
    elapsed = time.perf_counter() - started
    still_open = sum(1 for ws in idle_ws if ws.state.name == "OPEN")
    for ws in idle_ws:
        await ws.close()
    n = len(latencies)
    longest = max((r["think_s"] for r in results), default=0.0)  # the longest session's thinking, seconds
    return {
        "idle_sessions": {"asked": idle, "held": idle_held, "open_after_load": still_open},
        "clients": clients, "held": sum(r["held"] for r in results), "payments": sum(r["paid"] for r in results),
        "turns": n, "seconds": round(elapsed, 1), "turns_per_s": round(n / elapsed, 1), "think_ms": think_ms,
        # paced: the rate if every reply were instant (the run would then last its longest session's thinking)
        "offered_per_s": round(n / longest, 1) if think_ms > 0 and longest > 0 else None,
        "latency_ms": {q: round(percentile(latencies, v), 1) for q, v in (("p50", 50), ("p95", 95), ("p99", 99))},
        "error_rate": round(sum(errors.values()) / max(1, n), 4), "errors": dict(errors),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.load")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--budget-s", type=float, default=120)
    parser.add_argument("--json-out", type=Path, default=Path("evals/out/load.json"))
    parser.add_argument("--workers", help="comma-separated worker counts (e.g. 1,2,4): real lui serve "
                        "--workers N processes, clients in a separate process (see evals/load_workers.py)")
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres+redis"])
    parser.add_argument("--idle", type=int, default=0, help="extra idle sessions held during the load")
    parser.add_argument("--think-ms", type=float, default=0, help="mean think time between a session's turns "
                        "(seeded, exponential); 0: closed loop, the saturation throughput")
    parser.add_argument("--client", metavar="WS_URL", help=argparse.SUPPRESS)  # the client process
    args = parser.parse_args(argv)
    args.clients = min(args.clients, 2000)  # bounded
    args.idle = min(args.idle, 5000)
    if args.client:  # the client side of --workers: one JSON line on stdout
        print(json.dumps(asyncio.run(run(args.client, args.clients, args.turns, args.budget_s, args.idle,
                                         args.think_ms))))
        return 0
    if args.workers:
        from evals.load_workers import run_workers

        counts = [int(n) for n in args.workers.split(",")]
        result = run_workers(counts, args.backend, args.clients, args.turns, args.idle, args.budget_s,
                             Settings().cache_dir.resolve(), args.think_ms)
        result["machine"] = machine()
        save_result(result, args.json_out)
        return 0 if all(not r["ledger"]["problems"] and r["payments"] == r["ledger"]["bills_paid"]
                        for r in result["runs"]) else 1
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), cache_path=Settings().cache_dir, user_turns_per_minute=10**6,
                            max_messages_per_s=10**4, max_sessions_per_user=10**4,
                            session_starts_per_minute=10**6, max_connections_per_ip=10**4,
                            max_connections=10**4)
        seed_load_users(settings.db_url, args.clients)
        rss_before = rss_mb()
        with ServerThread(create_app(settings), ws_ping_interval=None) as live:
            result = asyncio.run(run(live.ws, args.clients, args.turns, args.budget_s, think_ms=args.think_ms))
            result["rss_mb"] = {"before_server": round(rss_before, 1), "after_load": round(rss_mb(), 1)}
        engine = make_engine(settings.db_url)
        billing = Billing(engine)
        problems = billing.ledger_check()
        paid = sum(1 for i in range(args.clients)
                   if billing.bills(f"load_{i:04d}", "electricity", "paid"))
        result["ledger"] = {"problems": problems, "bills_paid": paid}
    result["machine"] = machine()
    save_result(result, args.json_out)
    return 0 if not problems and result["payments"] == paid else 1


if __name__ == "__main__":
    raise SystemExit(main())
