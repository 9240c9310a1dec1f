"""The durable state: SQLModel tables of the app (users, conversations, turns) and, re-exported from
:mod:`tools.tables`, the ledger's (wallets, billers, bills, payments, contacts, audit log).

Conventions (the same as the ledger's)
- Money is always an integer number of fen (1 yuan = 100 fen), never a float.
- Times are timezone-aware UTC datetimes (:class:`UTCDateTime` stores them portably on SQLite too).
- Table names are plural (``users``, ``bills`` ...) so none is a reserved word on PostgreSQL.
- Only portable column types: the same models run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from tools.kinds import BILL_TYPES as BILL_TYPES  # one list, shared with the tools and the understanding
from tools.tables import (
    AUDIT_PAYMENT_DONE,
    BILL_STATUSES,
    PAYMENT_STATUSES,
    AuditLog,
    Bill,
    Biller,
    Contact,
    Payment,
    UTCDateTime,
    Wallet,
    ts_field,
    utc_from_ts,
)

__all__ = [
    "ALL_TABLES", "AUDIT_PAYMENT_DONE", "BILL_STATUSES", "BILL_TYPES", "PAYMENT_STATUSES", "AuditLog", "Bill",
    "Biller", "Contact", "Conversation", "Payment", "TurnRow", "UTCDateTime", "User", "Wallet", "utc_from_ts",
]


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=64)  # e.g. "u_li"
    display_name: str = Field(max_length=100)
    lang: str = Field(default="zh", max_length=8)  # preferred reply language: zh / en


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"

    session_id: str = Field(primary_key=True, max_length=64)
    user_id: str | None = Field(default=None, index=True, max_length=64)
    lang: str = Field(default="zh", max_length=8)  # zh / en / auto
    mode: str = Field(default="standard", max_length=16)  # standard / elder
    state_json: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class TurnRow(SQLModel, table=True):
    """One stored turn (the turn in progress is :class:`assistant.turn_context.TurnContext`)."""

    __tablename__ = "turns"
    __table_args__ = (sa.UniqueConstraint("session_id", "seq", name="uq_turn_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(foreign_key="conversations.session_id", index=True, max_length=64)
    seq: int
    text: str = Field(default="", sa_type=sa.Text)  # what the user said or typed
    intent: str | None = Field(default=None, max_length=40)
    confidence: float | None = None
    slots_json: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    source: str | None = Field(default=None, max_length=16)  # router / llm
    tool_calls_json: list[Any] = Field(default_factory=list, sa_type=JSON)
    reply: str | None = Field(default=None, sa_type=sa.Text)
    error_code: str | None = Field(default=None, max_length=40)
    timings_json: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = ts_field()


ALL_TABLES = (User, Wallet, Biller, Bill, Payment, Contact, Conversation, TurnRow, AuditLog)
