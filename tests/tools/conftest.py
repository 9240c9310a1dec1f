"""The ledger fixtures: a seeded database on SQLite and on PostgreSQL, and a clock the tests move."""

from __future__ import annotations

import pytest

from assistant.store import init_db, seed_demo
from tools.billing import Billing

T0 = 1_795_000_000.0  # 2026-11-18, an arbitrary fixed "now"


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(blank_engine):
    init_db(blank_engine)
    seed_demo(blank_engine)
    return blank_engine


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def billing(engine, clock):
    return Billing(engine, confirm_ttl_s=300, clock=clock)


