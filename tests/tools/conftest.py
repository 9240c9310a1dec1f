"""The ledger fixtures: a seeded database on SQLite and on PostgreSQL, and a clock the tests move."""

from __future__ import annotations

import pytest

from assistant.store import init_db, make_engine, seed_demo
from tests.conftest import wipe_pg
from tools.billing import Billing

T0 = 1_795_000_000.0  # 2026-11-18, an arbitrary fixed "now"


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'lui.db'}")
    else:
        eng = make_engine(request.getfixturevalue("pg_url"))
        wipe_pg(eng)
    init_db(eng)
    seed_demo(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def billing(engine, clock):
    return Billing(engine, confirm_ttl_s=300, clock=clock)


