"""Text-turn latency through the websocket, and concurrent sessions, on this machine.

    python -m evals.bench_ws [--turns 200] [--sessions 10,50,200] [--turns-per-session 5]

Starts a real uvicorn server on 127.0.0.1 with a fresh SQLite file (the router is reused from the
cache), then (1) sends sequential text turns over one websocket and reports p50/p95 from send to
``reply``, and (2) opens N sessions at once, each doing a few turns, and reports how many were
held, turns per second and latency. Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

from assistant.api.app import create_app
from assistant.settings import Settings
from evals.metrics import machine, percentile, save_result

TEXTS = ["这个月电费多少", "我还有多少钱", "what's my balance", "how much is my water bill", "你好",
         "查一下燃气费", "thanks", "把谢谢翻译成英文", "今天天气怎么样", "我的话费欠多少"]


async def _turn(ws, text: str) -> float:
    t0 = time.perf_counter()
    await ws.send(json.dumps({"type": "text", "text": text}))
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if event["type"] in ("reply", "error"):
            return (time.perf_counter() - t0) * 1000


async def _session(url: str, user: str, turns: int, latencies: list[float], deadline: float) -> bool:
    try:
        async with connect(url, open_timeout=30) as ws:
            await ws.send(json.dumps({"type": "session.start", "user": user, "lang": "auto"}))
            await asyncio.wait_for(ws.recv(), 30)
            for i in range(turns):
                if time.perf_counter() > deadline:
                    break
                latencies.append(await _turn(ws, TEXTS[i % len(TEXTS)]))
        return True
    except (OSError, TimeoutError, Exception):
        return False


async def run(url: str, turns: int, sessions: list[int], per_session: int, budget_s: float) -> dict:
    sequential: list[float] = []
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "session.start", "user": "u_amy", "lang": "auto"}))
        await ws.recv()
        for i in range(turns):
            sequential.append(await _turn(ws, TEXTS[i % len(TEXTS)]))
    out = {"sequential": {"turns": turns, "p50_ms": round(percentile(sequential, 50), 2),
                          "p95_ms": round(percentile(sequential, 95), 2)}, "concurrent": []}
    users = ["u_li", "u_wang", "u_amy"]
    for n in sessions:
        latencies: list[float] = []
        started = time.perf_counter()
        deadline = started + budget_s
        held = await asyncio.gather(*[_session(url, users[i % 3], per_session, latencies, deadline) for i in range(n)])
        elapsed = time.perf_counter() - started
        out["concurrent"].append({
            "sessions": n, "held": sum(held), "turns": len(latencies),
            "turns_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50), 2), "p95_ms": round(percentile(latencies, 95), 2),
        })
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_ws")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--sessions", default="10,50,200")
    parser.add_argument("--turns-per-session", type=int, default=5)
    parser.add_argument("--budget-s", type=float, default=120, help="time limit per concurrency level")
    parser.add_argument("--json-out", type=Path, default=Path("evals/out/bench_ws.json"))
    args = parser.parse_args(argv)

    from assistant.api.server import ServerThread

    with tempfile.TemporaryDirectory() as tmp:
        # a benchmark measures capacity, so the per-user abuse limits are lifted
        settings = Settings(data_dir=Path(tmp), cache_path=Settings().cache_dir, user_turns_per_minute=10**6,
                            max_messages_per_s=10**4, max_sessions_per_user=10**4,
                            session_starts_per_minute=10**6, max_connections_per_ip=10**4,
                            max_connections=10**4)
        with ServerThread(create_app(settings), ws_ping_interval=None) as live:
            result = asyncio.run(run(live.ws, args.turns, [int(x) for x in args.sessions.split(",")],
                                     args.turns_per_session, args.budget_s))
    result["machine"] = machine()
    save_result(result, args.json_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
