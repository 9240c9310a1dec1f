"""Where a text turn's time goes: each blocking part of a turn timed alone, then cProfile of each.

    python -m evals.profile_turn [--n 300]

A turn's work runs in pool threads (the router, the database), which cProfile on the event loop
does not see, so the parts are called directly, in the order a turn calls them: the router's
``understand``, a tool's database read, and the turn's persistence (log row + dialogue state, one
transaction). Uses a fresh SQLite file and the cached router (``lui prepare``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path

from assistant.runtime import build_assistant
from assistant.settings import Settings

QUESTIONS = ["我还有多少钱", "这个月电费多少", "what's my balance", "how much is my water bill", "你好", "thanks"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.profile_turn")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())
