"""The store on real SQLite files: engine set-up, schema, demo seed, sessions, turns and audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable
from sqlmodel import Session, SQLModel, select

from assistant.store import ConversationStore, StoreError, init_db, make_engine, seed_demo
from assistant.store.models import (
    ALL_TABLES,
    BILL_TYPES,
    AuditLog,
    Bill,
    Payment,
    User,
    Wallet,
)
from tools.billing import Billing


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'data' / 'lui.db'}")
    init_db(eng)
    yield eng
    eng.dispose()


def counts(engine) -> dict[str, int]:
    with Session(engine) as s:
        return {t.__tablename__: s.exec(select(sa.func.count()).select_from(t)).one() for t in ALL_TABLES}


# ------------------------------------------------------------------ engine and schema


def test_sqlite_engine_pragmas_and_folder(tmp_path, engine):
    assert (tmp_path / "data" / "lui.db").exists()  # the parent folder was created
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_in_memory_engine_is_shared_across_sessions():
    eng = make_engine("sqlite://")
    init_db(eng)
    seed_demo(eng)
    assert Billing(eng).balance("u_li").balance_fen == 50_000


def test_init_db_is_idempotent(engine):
    init_db(engine)
    assert set(sa.inspect(engine).get_table_names()) >= {t.__tablename__ for t in ALL_TABLES}


def test_schema_compiles_for_postgresql():
    dialect = postgresql.dialect()
    for table in SQLModel.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        assert "PRAGMA" not in ddl and "AUTOINCREMENT" not in ddl


def test_utc_datetimes_round_trip(engine):
    store = ConversationStore(engine, clock=lambda: 1_795_000_000.5)
    record = store.open(user_id="u_x")
    loaded = store.load(record.session_id)
    assert loaded.created_at.tzinfo is not None and loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at == datetime.fromtimestamp(1_795_000_000.5, tz=UTC)
    with Session(engine) as s, pytest.raises(sa.exc.StatementError, match="naive datetime"):
        s.add(AuditLog(at=datetime(2026, 11, 1), action="x"))
        s.flush()


# ------------------------------------------------------------------ seed


def test_seed_demo_contents(engine):
    assert seed_demo(engine) > 0
    with Session(engine) as s:
        users = {u.id: u for u in s.exec(select(User)).all()}
        wallets = {w.user_id: w.balance_fen for w in s.exec(select(Wallet)).all()}
        bills = s.exec(select(Bill)).all()
        done = s.exec(select(Payment).where(Payment.status == "done")).all()
    assert {"u_li", "u_wang", "u_amy"} <= set(users)
    assert users["u_li"].display_name == "李阿姨" and users["u_amy"].lang == "en"
    assert wallets == {"u_li": 50_000, "u_wang": 3_000, "u_amy": 100_000}
    unpaid = [b for b in bills if b.status == "unpaid"]
    assert {b.bill_type for b in unpaid} == set(BILL_TYPES)
    assert {b.user_id for b in unpaid} == {"u_li", "u_wang", "u_amy"}
    assert any(b.allow_partial for b in unpaid)
    wang_power = {b.account for b in unpaid if b.user_id == "u_wang" and b.bill_type == "electricity"}
    assert len(wang_power) == 2
    assert any(b.amount_fen > 3_000 for b in unpaid if b.user_id == "u_wang")  # insufficient balance to try
    assert len(done) >= 3 and all(p.balance_after_fen is not None for p in done)  # paid history
    assert Billing(engine).ledger_check() == []


def test_seed_demo_is_idempotent_and_never_resets(engine):
    seed_demo(engine)
    first = counts(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(Wallet).where(Wallet.user_id == "u_li").values(balance_fen=12_345))
    assert seed_demo(engine) == 0
    assert counts(engine) == first
    assert Billing(engine).balance("u_li").balance_fen == 12_345


# ------------------------------------------------------------------ conversations


class PendingConfirmation(BaseModel):
    confirmation_id: str
    amount_fen: int
    expires_at: datetime


def test_conversation_state_round_trip(tmp_path, engine):
    store = ConversationStore(engine)
    record = store.open(user_id="u_li", lang="zh", mode="elder")
    assert record.state == {} and not record.resumed
    state = {
        "intent": "pay_bill",
        "slots": {"bill_type": "electricity", "account": "3100123456", "amount": 186.5},
        "awaiting": "confirm",
        "pending": {
            "confirmation_id": "cf_1",
            "summary": "国网上海市电力公司 电费 ¥186.50",
            "expires_at": "2026-11-24T06:10:00+00:00",
        },
        "history": [1, 2, None, True],
    }
    store.save_state(record.session_id, state)

    other_worker = ConversationStore(make_engine(f"sqlite:///{tmp_path / 'data' / 'lui.db'}"))
    assert other_worker.load_state(record.session_id) == state
    resumed = other_worker.open(user_id="u_li", lang="en", mode="standard", session_id=record.session_id)
    assert resumed.resumed and resumed.session_id == record.session_id
    assert resumed.state == state and (resumed.lang, resumed.mode) == ("en", "standard")

    model = PendingConfirmation(
        confirmation_id="cf_2", amount_fen=5, expires_at=datetime(2026, 11, 24, tzinfo=UTC)
    )
    store.save_state(record.session_id, model)
    assert PendingConfirmation.model_validate(store.load_state(record.session_id)) == model
    assert store.load_state("s_unknown") == {}


def test_conversation_guards(engine):
    store = ConversationStore(engine)
    record = store.open(user_id="u_li")
    with pytest.raises(StoreError) as err:
        store.open(user_id="u_amy", session_id=record.session_id)
    assert err.value.code == "forbidden"
    fresh = store.open(user_id="u_li", session_id="s_made_up_by_client")
    assert not fresh.resumed and fresh.session_id != "s_made_up_by_client"
    with pytest.raises(StoreError) as err:
        store.save_state(record.session_id, {"when": datetime.now(UTC)})
    assert err.value.code == "invalid-state"
    with pytest.raises(StoreError) as err:
        store.save_state("s_unknown", {})
    assert err.value.code == "session-not-found"
    with pytest.raises(StoreError) as err:
        store.append_turn("s_unknown", text="hi")
    assert err.value.code == "session-not-found"


def test_turns_and_audit(engine):
    store = ConversationStore(engine)
    sid = store.open(user_id="u_wang").session_id
    first = store.append_turn(
        sid,
        text="帮我把这个月电费交了",
        intent="pay_bill",
        confidence=0.93,
        slots={"bill_type": "electricity"},
        source="router",
        tool_calls=[{"name": "bills", "args": {"bill_type": "electricity"}}],
        reply="您有两处房子，交哪一处的？",
        timings={"understand": 4.2, "total": 9.0},
    )
    store.append_turn(sid, text="老房子", intent="pay_bill", slots={"account": "3100987654"})
    store.append_turn(sid, text="确认", intent="confirm", error_code="insufficient-balance")
    turns = store.turns(sid)
    assert [t.seq for t in turns] == [1, 2, 3]
    assert turns[0] == first and turns[0].slots == {"bill_type": "electricity"}
    assert turns[0].tool_calls[0]["name"] == "bills" and turns[0].timings["total"] == 9.0
    assert [t.text for t in store.turns(sid, limit=2)] == ["老房子", "确认"]
    assert turns[2].error_code == "insufficient-balance"

    store.audit("handoff.requested", user_id="u_wang", target=sid, detail={"reason": "老人要求人工"})
    entries = store.audit_log(user_id="u_wang")
    assert [e.action for e in entries] == ["handoff.requested", "session.start"]
    assert entries[0].detail == {"reason": "老人要求人工"}
