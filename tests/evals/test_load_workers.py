"""``python -m evals.load --workers``: real worker processes, clients in their own process, and the
figures and ledger check it reports (a tiny run: the figures themselves are measured, not tested)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.workers import REPO, worker_env

pytestmark = pytest.mark.slow


def test_load_with_workers_reports_throughput_latency_payments_and_the_ledger(tmp_path, shared_cache, router):
    out = tmp_path / "load.json"
    env = worker_env(cache_path=shared_cache)  # router: trained into the cache already
    done = subprocess.run([sys.executable, "-m", "evals.load", "--workers", "1", "--backend", "sqlite",
                           "--clients", "4", "--turns", "4", "--idle", "3", "--json-out", str(out)],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = json.loads(out.read_text())["runs"]
    assert run["workers"] == 1 and run["backend"] == "sqlite" and run["turns"] >= 4 * 4 - 3
    assert run["payments"] == 4 and run["ledger"] == {"problems": [], "bills_paid": 4}
    assert run["idle_sessions"]["held"] == 3 and set(run["latency_ms"]) == {"p50", "p95", "p99"}
    assert run["ratio_to_first"]["turns_per_s"] == 1.0
    assert run["server"]["cpu_ms_per_turn"] > 0 and run["server"]["rss_mb_after"] > 0  # the server processes
