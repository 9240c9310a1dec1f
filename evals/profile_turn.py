"""Where a text turn's time goes: each blocking part of a turn timed alone, then cProfile of each.

    python -m evals.profile_turn [--n 300]
    python -m evals.profile_turn --server [--clients 40 --turns 6] [--database-url postgresql+psycopg://...]

A turn's work runs in pool threads (the router, the database), which cProfile on the event loop
does not see, so the parts are called directly, in the order a turn calls them: the router's
``understand``, a tool's database read, and the turn's persistence (log row + dialogue state, one
transaction). Uses a fresh SQLite file and the cached router (``lui prepare``).

``--server``: the whole turn end to end instead: a real server in this process (its event loop and
pool threads each profiled, in CPU time, from when it is ready and warmed up, the profiles merged)
answering websocket clients of evals.load that run on the main thread (not profiled).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from assistant.runtime import build_assistant
from assistant.settings import Settings

QUESTIONS = ["我还有多少钱", "这个月电费多少", "what's my balance", "how much is my water bill", "你好", "thanks"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.profile_turn")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--server", action="store_true", help="profile whole turns in a real server")
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--save", type=Path, help="--server: also write the merged profile here (pstats file)")
    args = parser.parse_args(argv)
    if args.server:
        return profile_server(args)
    with tempfile.TemporaryDirectory() as tmp:
        a = build_assistant(Settings(data_dir=Path(tmp), cache_path=Settings().cache_dir), lookup_later=True)
        session, _ = a.open_session("u_li", "auto")
        turn_row = {"text": "x", "intent": "greet", "confidence": 0.9, "slots": {}, "source": "router",
                    "tool_calls": [], "reply": "hi", "error_code": None, "timings": {"total": 1.0}}
        parts = {
            "understand (router)": lambda i: a.router.understand(QUESTIONS[i % 6], session.state.context(), "zh"),
            "tool read (balance)": lambda i: a.billing.balance("u_li"),
            "persist (turn row + state, one commit)": lambda i: a.conversations.append_turn(
                session.id, state=session.state, **turn_row),
            "persist, batched (10 turns' rows + states, one commit)": lambda i: a.conversations.write_batch(
                [(session.id, session.state.model_dump(mode="json"))] * 10,
                [a.conversations.turn_row(session.id, **turn_row)] * 10) if i % 10 == 0 else None,
        }
        for name, part in parts.items():
            started = time.perf_counter()
            profile = cProfile.Profile()
            profile.enable()
            for i in range(args.n):
                part(i)
            profile.disable()
            print(f"== {name}: {(time.perf_counter() - started) / args.n * 1000:.2f} ms per call (profiled)")
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(args.top)
            print("\n".join(line for line in text.getvalue().splitlines()[6:] if line.strip()))
        a.pools.close()
    return 0


def _print_top(stats: pstats.Stats, top: int, order: str) -> None:
    text = io.StringIO()
    stats.stream = text
    stats.sort_stats(order).print_stats(top)
    print("\n".join(line for line in text.getvalue().splitlines()[6:] if line.strip()))


def _wait_ready(http: str, timeout_s: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{http}/readyz", timeout=5).json().get("status") == "ready":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server was not ready within {timeout_s} s")


def profile_server(args) -> int:
    """Every thread the server starts (uvicorn's event loop, the pools) gets its own profiler."""
    from assistant.api.app import create_app
    from assistant.api.server import ServerThread
    from evals.load import client, seed_load_users
    from evals.load_workers import LOAD_SETTINGS

    profiles: list[cProfile.Profile] = []

    def start_profiling(*_):  # the first event in each new thread: hand that thread to a profiler
        profile = cProfile.Profile(time.thread_time)  # CPU time of the thread: waiting is not cost
        profiles.append(profile)
        profile.enable()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), cache_path=Settings().cache_dir, database_url=args.database_url,
                            **LOAD_SETTINGS)
        warm = 4  # users of the warm-up turns (not profiled)
        seed_load_users(settings.db_url, args.clients + warm)
        latencies: list[float] = []
        errors: Counter = Counter()
        app = create_app(settings)
        threading.setprofile(start_profiling)
        with ServerThread(app, ws_ping_interval=None) as live:  # pool threads start later: still hooked
            _wait_ready(live.http)  # start-up (service lookup, models) is not a turn's cost

            async def warm_up() -> None:
                await asyncio.gather(*[client(live.ws, args.clients + i, 3, time.perf_counter() + 600, [], Counter())
                                       for i in range(warm)])

            asyncio.run(warm_up())
            for profile in list(profiles):
                profile.clear()
            started = time.perf_counter()

            async def load() -> None:
                await asyncio.gather(*[client(live.ws, i, args.turns, started + 600, latencies, errors)
                                       for i in range(args.clients)])

            asyncio.run(load())
            elapsed = time.perf_counter() - started
        threading.setprofile(None)
    for profile in profiles:
        profile.create_stats()  # stops it
    # a thread that ran nothing while measured (an idle pool thread, the speech warm-up) has no stats,
    # which pstats refuses to merge
    recorded = [profile for profile in profiles if profile.stats]
    print(f"== {len(latencies)} turns in {elapsed:.1f} s ({len(latencies) / elapsed:.1f}/s, clients in this "
          f"process too), errors {dict(errors)}; {len(recorded)} of {len(profiles)} server threads ran")
    stats = pstats.Stats(recorded[0])
    for profile in recorded[1:]:
        stats.add(profile)
    if args.save is not None:
        stats.dump_stats(args.save)
    print(f"== server threads' CPU: {stats.total_tt * 1000 / max(len(latencies), 1):.2f} ms per turn "
          "(profiled: the profiler's own cost inflates it)")
    for order in ("tottime", "cumulative"):
        print(f"-- by {order}")
        _print_top(stats, args.top, order)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
