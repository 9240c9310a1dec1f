"""Alembic migrations: a database made by the first release (create_all, no version table, rows in
it) upgrades in place at start-up, on SQLite and PostgreSQL; the newest revision matches the models."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from assistant.store import init_db, make_engine
from assistant.store.migrate import BASELINE, alembic_config, current, head
from tools.billing import Billing


@pytest.fixture
def engine(blank_engine):
    return blank_engine


def old_release_database(engine: sa.Engine) -> None:
    """The schema of the first release (revision 0001 is exactly what its create_all made), without
    the version table, as such a database is, holding one user's bills and a done payment."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
        conn.execute(sa.text("DROP TABLE alembic_version"))
        rows = [
            "INSERT INTO users (id, display_name, lang) VALUES ('u_old', 'Old', 'zh')",
            "INSERT INTO wallets (user_id, balance_fen, initial_fen, currency, version) "
            "VALUES ('u_old', 9000, 10000, 'CNY', 1)",
            "INSERT INTO billers (id, bill_type, name_zh, name_en) VALUES ('b_el', 'electricity', '电力', 'Power')",
            "INSERT INTO bills (id, user_id, biller_id, bill_type, account, account_label, period, amount_fen, "
            "due_date, status, allow_partial, paid_fen) VALUES ('bill_1', 'u_old', 'b_el', 'electricity', "
            "'1234567', '家里', '2026-10', 1000, '2026-11-20', 'paid', false, 1000)",
            "INSERT INTO payments (id, user_id, bill_id, amount_fen, status, confirmation_id, idempotency_key, "
            "created_at, expires_at, done_at, balance_after_fen) VALUES ('pay_1', 'u_old', 'bill_1', 1000, "
            "'done', 'cf_1', 'k1', '2026-11-01 10:00:00', '2026-11-01 10:05:00', '2026-11-01 10:01:00', 9000)",
            "INSERT INTO audit_log (at, user_id, action, target, detail_json) "
            "VALUES ('2026-11-01 10:01:00', 'u_old', 'payment.done', 'pay_1', '{}')",
        ]
        for row in rows:
            conn.execute(sa.text(row))


def test_an_old_release_database_upgrades_in_place_keeping_its_rows(engine):
    old_release_database(engine)
    assert current(engine) is None
    init_db(engine)  # what every start-up runs
    assert current(engine) == head()
    billing = Billing(engine)
    assert billing.balance("u_old").balance_fen == 9000
    [bill] = billing.bills("u_old")
    assert (bill.id, bill.status, bill.paid_fen, bill.account_label) == ("bill_1", "paid", 1000, "家里")
    assert billing.ledger_check() == []
    with engine.connect() as conn:  # the old payment names its bill as its target
        row = conn.execute(sa.text("SELECT target_kind, target_id, bill_id FROM payments")).one()
    assert tuple(row) == ("bill", "bill_1", "bill_1")
    init_db(engine)  # idempotent
    assert current(engine) == head()


def test_the_newest_revision_matches_the_models(engine):
    init_db(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


def test_lui_migrate_upgrades_an_old_database(tmp_path, monkeypatch, capsys):
    from assistant.cli import main

    path = tmp_path / "cli.db"
    engine = make_engine(f"sqlite:///{path}")
    old_release_database(engine)
    engine.dispose()
    monkeypatch.setenv("LUI_DATABASE_URL", f"sqlite:///{path}")
    assert main(["migrate"]) == 0
    assert f"at revision {head()} (was not under migrations)" in capsys.readouterr().out
