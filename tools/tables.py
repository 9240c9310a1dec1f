"""The ledger's tables: wallets, billers, bills, payments, saved contacts and the audit log.

The app (``assistant.store.models``) re-exports them next to its own tables (users, conversations,
turns); they all live on ``SQLModel.metadata`` and the app's Alembic migrations cover them. Rows
name their user by ``users.id``, the app's user table.

Conventions
- Money is always an integer number of fen (1 yuan = 100 fen), never a float.
- Times are timezone-aware UTC datetimes (:class:`UTCDateTime` stores them portably on SQLite too).
- Table names are plural (``users``, ``bills`` ...) so none is a reserved word on PostgreSQL.
- Only portable column types: the same models run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, Session, SQLModel

BILL_STATUSES = ("unpaid", "paid")
PAYMENT_STATUSES = ("pending", "done", "cancelled", "expired", "failed")
AUDIT_PAYMENT_DONE = "payment.done"  # exactly one such row per done payment (see ledger_check)


class UTCDateTime(sa.types.TypeDecorator):
    """A DateTime that always hands back aware UTC datetimes (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        value = value.astimezone(UTC)
        # SQLite stores text; keep it naive-UTC there so comparisons sort correctly
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_from_ts(ts: float) -> datetime:
    """Epoch seconds (what ``time.time`` returns) as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, tz=UTC)


def ts_field(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class Wallet(SQLModel, table=True):
    __tablename__ = "wallets"
    __table_args__ = (sa.CheckConstraint("balance_fen >= 0", name="ck_wallet_nonneg"),)

    user_id: str = Field(primary_key=True, foreign_key="users.id", max_length=64)
    balance_fen: int = Field(sa_type=sa.BigInteger)
    # opening balance; ledger_check verifies initial_fen - sum(done payments) == balance_fen
    initial_fen: int = Field(sa_type=sa.BigInteger)
    currency: str = Field(default="CNY", max_length=3)
    version: int = 0  # bumped on every debit


class Biller(SQLModel, table=True):
    __tablename__ = "billers"

    id: str = Field(primary_key=True, max_length=64)
    bill_type: str = Field(index=True, max_length=16)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)


class Bill(SQLModel, table=True):
    __tablename__ = "bills"
    __table_args__ = (
        sa.UniqueConstraint("biller_id", "account", "period", name="uq_bill_account_period"),
        sa.CheckConstraint("paid_fen >= 0 AND paid_fen <= amount_fen", name="ck_bill_paid_range"),
    )

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=64)
    biller_id: str = Field(foreign_key="billers.id", max_length=64)
    bill_type: str = Field(index=True, max_length=16)
    account: str = Field(max_length=64)  # the biller's account number (户号)
    account_label: str = Field(default="", max_length=100)  # how the user names it: "家里", "老房子"
    period: str = Field(max_length=7)  # "2026-11"
    amount_fen: int = Field(sa_type=sa.BigInteger)
    due_date: date
    status: str = Field(default="unpaid", max_length=8)  # unpaid / paid
    allow_partial: bool = False
    paid_fen: int = Field(default=0, sa_type=sa.BigInteger)


class Payment(SQLModel, table=True):
    __tablename__ = "payments"
    __table_args__ = (sa.Index("ix_payments_target", "target_kind", "target_id"),)

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=64)
    # what it pays for: target_kind "bill" (target_id = bill_id) or "phone" (a top-up; target_id = the number)
    target_kind: str = Field(default="bill", max_length=8, sa_column_kwargs={"server_default": "bill"})
    target_id: str = Field(max_length=64)
    bill_id: str | None = Field(default=None, foreign_key="bills.id", index=True, max_length=64, nullable=True)
    amount_fen: int = Field(sa_type=sa.BigInteger)
    status: str = Field(default="pending", max_length=10)
    confirmation_id: str = Field(unique=True, max_length=64)
    idempotency_key: str = Field(unique=True, max_length=200)
    created_at: datetime = ts_field()
    expires_at: datetime = ts_field()
    done_at: datetime | None = ts_field(default=None, nullable=True)
    balance_after_fen: int | None = Field(default=None, sa_type=sa.BigInteger)  # for replayed receipts
    error_code: str | None = Field(default=None, max_length=40)  # why it failed, when status=failed


class Contact(SQLModel, table=True):
    """A number the user saved for someone ("妈妈"), so "给我妈充话费" needs no number."""

    __tablename__ = "contacts"
    __table_args__ = (sa.UniqueConstraint("user_id", "label", name="uq_contact_label"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=64)
    label: str = Field(max_length=40)  # how the user calls them: "妈妈"
    aliases: str = Field(default="", max_length=200)  # other words for them, space-separated: "我妈 老妈 mom"
    phone: str = Field(max_length=11)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_field(index=True)
    user_id: str | None = Field(default=None, index=True, max_length=64)
    action: str = Field(index=True, max_length=40)  # e.g. "payment.done", "session.start"
    target: str | None = Field(default=None, index=True, max_length=200)  # e.g. a payment id
    detail_json: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


LEDGER_TABLES = (Wallet, Biller, Bill, Payment, Contact, AuditLog)


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back if it raises.

    Objects stay readable after the commit (``expire_on_commit=False``).
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
