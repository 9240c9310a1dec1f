"""What the LLM tier itself costs per turn, over a fake provider that answers after a fixed delay.

    python -m evals.bench_llm [--delay-ms 50] [--turns 100] [--data evals/data/intent_dev.jsonl]
                              [--json-out evals/out/bench_llm.json]

This measures the plumbing, not a model: the "model" is ``tests/llm/fake_openai.py`` on 127.0.0.1,
in a process of its own, answering after a fixed ``--delay-ms`` (a route call with a label, a plan
with a ``query_bill`` call, then a text answer). Two parts:

1. Overhead per turn = wall time − (provider calls × the fixed delay), p50/p95, for
   - ``raw_http``: one plain httpx POST of the same request (the floor: loopback, HTTP, JSON);
   - ``understand``: ``LLMTier.understand``, one forced ``route`` call (litellm + validation);
   - ``plan``: ``LLMTier.handle`` on a real assistant (SQLite ledger, the real tools): the model calls
     ``query_bill``, then streams its answer as ``reply.delta`` events (two provider calls).
     ``plan_excl_tools`` also subtracts the tool time (SQLite), leaving the tier's own work.
2. The intent harness, router vs cascade, on a labelled file, against a fake whose "model" answers
   every ``route`` call with the gold label (after the same delay). Cascade accuracy is therefore
   an upper bound for the escalation rule with a perfect model; the latency shows what escalating
   that share of utterances costs. No model quality is measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from assistant.llm.cascade import LLMTier
from assistant.llm.client import LLMClient
from assistant.nlu.types import Understanding
from assistant.settings import Settings
from assistant.store.conversations import ConversationStore
from assistant.store.db import init_db, make_engine
from assistant.store.seed import seed_demo
from assistant.turn_context import TurnContext
from assistant.turns import Assistant
from evals.metrics import machine, percentile, save_result
from tests.llm.fake_openai import BENCH_ANSWER
from tools import build_registry
from tools.billing import Billing

PLAN_TEXT = "我妈那边的电费好像欠着，帮我看看然后告诉我"


def _stats(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50), 2), "p95": round(percentile(values, 95), 2),
            "mean": round(sum(values) / len(values), 2), "n": len(values)}


def _assistant(folder: Path) -> Assistant:
    settings = Settings(data_dir=folder, _env_file=None)
    engine = make_engine(settings.db_url)
    init_db(engine)
    seed_demo(engine)
    return Assistant(settings, None, build_registry(), Billing(engine, confirm_ttl_s=300), ConversationStore(engine))


@contextmanager
def fake_provider(delay_ms: float, oracle: Path | None):
    """The fake in its own process; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "tests.llm.fake_openai", "--port", str(port), "--delay-ms", str(delay_ms)]
    process = subprocess.Popen(cmd + (["--oracle", str(oracle)] if oracle else []))
    try:
        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise SystemExit("the fake provider did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _overheads(base_url: str, turns: int, delay_ms: float, folder: Path) -> dict[str, dict[str, float]]:
    model = "openai/bench"
    client = LLMClient(model, api_base=base_url, api_key="sk-fake", timeout_s=10, retries=0)
    assistant = _assistant(folder)
    tier = LLMTier(client, assistant.registry)
    session, _ = assistant.open_session("u_li", "zh")
    u = Understanding(intent="query_bill", confidence=0.9, slots={"bill_type": "electricity"})
    out: dict[str, list[float]] = {"raw_http": [], "understand": [], "plan": [], "plan_excl_tools": []}

    async def drop(event) -> None:
        return None

    def since(t0: float, calls: int) -> float:
        return (time.perf_counter() - t0) * 1000 - calls * delay_ms

    await tier.understand("warm up")  # one-off costs (imports, connection pools) are not a turn's
    await tier.handle(TurnContext(assistant, session, drop, "zh", "warm"), PLAN_TEXT, u)
    body = {"model": "bench", "messages": [{"role": "user", "content": "电费那个事情"}],
            "tools": [tier.understander.tool], "tool_choice": tier.understander.choice, "temperature": 0}
    async with httpx.AsyncClient(timeout=10) as raw:
        for i in range(turns):
            t0 = time.perf_counter()
            response = await raw.post(f"{base_url}/chat/completions", json=body,
                                      headers={"authorization": "Bearer sk-fake"})
            response.raise_for_status()
            out["raw_http"].append(since(t0, 1))

            t0 = time.perf_counter()
            await tier.understand("电费那个事情")
            out["understand"].append(since(t0, 1))

            turn = TurnContext(assistant, session, drop, "zh", f"t{i}")
            t0 = time.perf_counter()
            reply = await tier.handle(turn, PLAN_TEXT, u)
            overhead = since(t0, 2)
            if reply.text != BENCH_ANSWER or [c["name"] for c in turn.tool_calls] != ["query_bill"]:
                raise SystemExit(f"the plan did not run as scripted: {reply.text!r}")
            out["plan"].append(overhead)
            out["plan_excl_tools"].append(overhead - turn.timings.get("tool", 0.0))
    return {k: _stats(v) for k, v in out.items()}


def _harness(base_url: str, data: Path, folder: Path) -> dict[str, dict]:
    from evals import intent

    os.environ["LUI_LLM_API_KEY"] = "sk-fake"  # this script's own process: the harness reads Settings
    results = {}
    for mode in ("router", "cascade"):
        out = folder / f"{mode}.json"
        code = intent.main(["--data", str(data), "--mode", mode, "--llm-model", "openai/oracle",
                            "--llm-base-url", base_url, "--json-out", str(out), "--no-plot"])
        if code != 0:
            raise SystemExit(f"the harness failed in {mode} mode")
        m = json.loads(out.read_text(encoding="utf-8"))
        results[mode] = {k: m[k] for k in ("n", "accuracy", "macro_f1", "oos_recall", "slot_f1", "latency_ms")}
        results[mode]["per_lang"] = {k: v["accuracy"] for k, v in m["per_lang"].items()}
        results[mode].update({k: m["config"][k] for k in ("llm_calls", "llm_share", "llm_errors")
                              if k in m["config"]})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_llm", description=__doc__.split("\n")[0])
    parser.add_argument("--delay-ms", type=float, default=50.0, help="the fake provider's fixed latency")
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--data", type=Path, default=Path("evals/data/intent_dev.jsonl"))
    parser.add_argument("--skip-harness", action="store_true", help="only the per-turn overhead")
    parser.add_argument("--json-out", type=Path, default=Path("evals/out/bench_llm.json"))
    args = parser.parse_args(argv)

    with fake_provider(args.delay_ms, None if args.skip_harness else args.data) as base_url, \
            tempfile.TemporaryDirectory(prefix="lui-bench-llm-") as tmp:
        folder = Path(tmp)
        with asyncio.Runner() as runner:
            overhead = runner.run(_overheads(base_url, args.turns, args.delay_ms, folder / "turns"))
        harness = None if args.skip_harness else _harness(base_url, args.data, folder)

    result = {
        "machine": machine(),
        "measures": "plumbing only: a scripted fake provider on 127.0.0.1, not a model",
        "provider_delay_ms": args.delay_ms,
        "overhead_ms": overhead,
        "harness": harness,
    }
    save_result(result, args.json_out)
    print(f"written: {args.json_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
