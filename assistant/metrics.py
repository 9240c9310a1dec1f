"""What the assistant is doing, for Prometheus: turns, stage latencies, payments, errors, load.

One :class:`Metrics` per :class:`~assistant.turns.Assistant` (its own registry, so several apps in
one process, as in tests, do not share counters). The turn loop records each turn; the API layer
counts protocol errors and renders the text format at ``/metrics`` with the pool loads and live
sessions read at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STAGES = ("stt", "understand", "llm", "tool", "total")
# milliseconds: a router turn is ~10 ms, a voice turn ~1 s, a stuck provider call up to its deadline
BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
PAYMENT_TOOLS = {"confirm_payment": "confirm", "cancel_payment": "cancel", "pay_bill": "prepare"}


class _Load:
    """Gauges read when scraped: live sessions and each pool's busy/waiting/saturated."""

    def __init__(self, live: Callable[[], int], pools: Callable[[], Iterable[dict[str, Any]]]):
        self.live, self.pools = live, pools

    def collect(self):
        yield GaugeMetricFamily("lui_live_sessions", "Sessions held in this process", value=self.live())
        busy = GaugeMetricFamily("lui_pool_busy", "Threads of a worker pool running work", labels=["pool"])
        waiting = GaugeMetricFamily("lui_pool_waiting", "Jobs waiting for a worker pool", labels=["pool"])
        saturated = GaugeMetricFamily("lui_pool_saturated", "1 when all threads are busy and work waits",
                                      labels=["pool"])
        for pool in self.pools():
            busy.add_metric([pool["name"]], pool.get("busy", 0))
            waiting.add_metric([pool["name"]], pool.get("waiting", 0))
            saturated.add_metric([pool["name"]], 1.0 if pool.get("saturated") else 0.0)
        yield from (busy, waiting, saturated)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter("lui_turns", "Turns by intent, who understood it and how it ended",
                             ["intent", "source", "outcome"], registry=self.registry)
        self.stage_ms = Histogram("lui_stage_ms", "Time per turn stage in milliseconds", ["stage"],
                                  buckets=BUCKETS_MS, registry=self.registry)
        self.payments = Counter("lui_payments", "Payment actions (prepare, confirm, cancel) by outcome",
                                ["action", "outcome"], registry=self.registry)
        self.errors = Counter("lui_errors", "Error events sent to clients, by code", ["code"], registry=self.registry)
        self._load: _Load | None = None

    def watch(self, live: Callable[[], int], pools: Callable[[], Iterable[dict[str, Any]]]) -> None:
        """Report these gauges at each scrape (once per registry)."""
        if self._load is None:
            self._load = _Load(live, pools)
            self.registry.register(self._load)

    def turn(self, intent: str | None, source: str | None, error_code: str | None, timings: dict[str, float],
             tool_calls: list[dict[str, Any]]) -> None:
        """Record one finished turn: its outcome, its stages and the payment actions it took."""
        self.turns.labels(intent or "none", source or "none", "error" if error_code else "reply").inc()
        for stage in STAGES:
            if stage in timings:
                self.stage_ms.labels(stage).observe(timings[stage])
        for call in tool_calls:
            action = PAYMENT_TOOLS.get(call.get("name", ""))
            if action is not None:
                self.payments.labels(action, "ok" if call.get("ok") else (call.get("error") or "failed")).inc()

    def error(self, code: str) -> None:
        self.errors.labels(code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
