"""``python -m evals.load --think-ms``: sessions paced like people (think time between turns) report the
offered rate next to the achieved one, and pacing lowers the achieved rate (no timing bound is tested:
the achieved rate cannot exceed the offered one whatever the machine's load)."""

from __future__ import annotations

import asyncio

from assistant.api.app import create_app
from assistant.api.server import ServerThread
from evals.load import run, seed_load_users
from evals.load_workers import LOAD_SETTINGS


def test_paced_sessions_report_offered_and_achieved_rates_and_think_time_lowers_the_rate(settings, router):
    settings = settings.model_copy(update=LOAD_SETTINGS)
    clients, turns = 3, 4
    seed_load_users(settings.db_url, 2 * clients)  # one set of users for each run: each pays its own bills
    with ServerThread(create_app(settings), ws_ping_interval=None) as live:
        closed = asyncio.run(run(live.ws, clients, turns, budget_s=300))
        paced = asyncio.run(run(live.ws, clients, turns, budget_s=300, think_ms=700, first_user=clients))
    for result in (closed, paced):
        assert result["errors"] == {} and result["payments"] == clients
        assert result["turns"] >= clients * turns and set(result["latency_ms"]) == {"p50", "p95", "p99"}
    assert closed["think_ms"] == 0 and closed["offered_per_s"] is None
    assert paced["think_ms"] == 700 and paced["offered_per_s"] > 0
    assert paced["turns_per_s"] < closed["turns_per_s"]
    # the run lasts at least its longest session's thinking (seeded: 5.4 s): never above the offered rate
    assert paced["seconds"] >= 5 and paced["turns_per_s"] <= paced["offered_per_s"] + 0.1
