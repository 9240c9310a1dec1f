"""``python -m evals.load --workers 1,2,4 --backend sqlite|postgres+redis``: the load test against
real ``lui serve --workers N`` processes, with the clients in a separate process.

For each worker count: a fresh data folder (and, for ``postgres+redis``, a throwaway PostgreSQL
cluster and Redis server), the load users seeded, ``lui serve --workers N`` started on a free port,
then ``python -m evals.load --client URL`` (its own process, so client CPU is not server CPU)
runs the mixed text/payment load while holding ``--idle`` extra idle sessions. Reports turns/s,
p50/p95/p99, errors, payments, idle sessions held and the ledger check, and each figure's ratio
to the first worker count.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from assistant.store.db import make_engine
from tools.billing import Billing

LOAD_SETTINGS = {"user_turns_per_minute": 10**6, "max_messages_per_s": 10**4, "max_sessions_per_user": 10**4,
                 "session_starts_per_minute": 10**6, "max_connections_per_ip": 10**5, "max_connections": 10**5,
                 "session_start_timeout_s": 600}


@contextlib.contextmanager
def backend(kind: str, home: Path):
    """(database URL, Redis URL or None) for one run."""
    if kind == "sqlite":
        yield f"sqlite:///{home / 'lui.db'}", None
        return
    from tests.pg import PgServer  # the suite's throwaway servers (Debian postgresql, redis-server)
    from tests.redis_server import throwaway_redis

    pg = PgServer()
    pg.start()
    try:
        with throwaway_redis() as redis_url:
            yield pg.url, redis_url
    finally:
        pg.remove()


def run_one(workers: int, kind: str, clients: int, turns: int, idle: int, budget_s: float, cache: Path,
            think_ms: float = 0) -> dict:
    from evals.load import seed_load_users
    from tests.workers import Worker, worker_env

    with tempfile.TemporaryDirectory() as tmp, backend(kind, Path(tmp)) as (db_url, redis_url):
        home = Path(tmp)
        users = max(clients, 1)
        seed_load_users(db_url, users)
        env = worker_env(data_dir=home / "data", cache_path=cache, database_url=db_url, redis_url=redis_url,
                         log_format="json", **LOAD_SETTINGS)
        env["LUI_ALLOWED_ORIGINS"] = '["*"]'
        with Worker(env, workers=workers, log_path=home / "serve.log") as served:
            all_ready(served.http, workers)
            group = served.proc.pid  # lui serve and its worker processes (one process group)
            cpu_before, rss_before = server_usage(group)
            done = subprocess.run([sys.executable, "-m", "evals.load", "--client", served.ws, "--clients", str(clients),
                                   "--turns", str(turns), "--idle", str(idle), "--budget-s", str(budget_s),
                                   "--think-ms", str(think_ms)],
                                  env=env, capture_output=True, text=True, timeout=budget_s + 600)
            if done.returncode != 0:
                raise RuntimeError(f"load client failed: {done.stderr[-2000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            cpu_after, rss_after = server_usage(group)
            # server CPU per answered turn: user + system time of every server process over the run,
            # a figure a busy shared machine disturbs less than turns/s
            result["server"] = {"cpu_s": round(cpu_after - cpu_before, 2),
                                "cpu_ms_per_turn": round((cpu_after - cpu_before) * 1000 / max(result["turns"], 1), 2),
                                "rss_mb_before": round(rss_before, 1), "rss_mb_after": round(rss_after, 1)}
        engine = make_engine(db_url)
        billing = Billing(engine)
        problems = billing.ledger_check()
        paid = sum(1 for i in range(users) if billing.bills(f"load_{i:04d}", "electricity", "paid"))
        engine.dispose()
    result |= {"workers": workers, "backend": kind, "ledger": {"problems": problems, "bills_paid": paid}}
    return result


def server_usage(group: int) -> tuple[float, float]:
    """(CPU seconds, resident MB) summed over the processes of a process group (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
    cpu = rss = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == group:  # pgrp (fields after the command name start at state)
            cpu += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
            rss += int(fields[21]) * page_mb
    return cpu, rss


def all_ready(http: str, workers: int, timeout_s: float = 600) -> None:
    """Wait until every worker behind the port has loaded service lookup (``Worker`` waits for the
    first one): otherwise the load competes with the others' start-up and measures that."""
    deadline, streak = time.monotonic() + timeout_s, 0
    while streak < 4 * workers:  # answers come from whichever worker accepts: many in a row
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every worker became ready within {timeout_s} s")
        try:
            with httpx.Client(timeout=5) as fresh:  # a new connection each time
                ready = fresh.get(f"{http}/readyz").json().get("status") == "ready"
        except (httpx.HTTPError, ValueError):
            ready = False
        streak = streak + 1 if ready else 0
        time.sleep(0.05 if ready else 0.5)


def run_workers(counts: list[int], kind: str, clients: int, turns: int, idle: int, budget_s: float,
                cache: Path, think_ms: float = 0) -> dict:
    runs = [run_one(n, kind, clients, turns, idle, budget_s, cache, think_ms) for n in counts]
    base = runs[0]
    for r in runs:
        r["ratio_to_first"] = {
            "turns_per_s": round(r["turns_per_s"] / max(base["turns_per_s"], 1e-9), 2),
            "p95": round(r["latency_ms"]["p95"] / max(base["latency_ms"]["p95"], 1e-9), 2),
        }
    return {"backend": kind, "clients": clients, "idle": idle, "think_ms": think_ms, "runs": runs}
