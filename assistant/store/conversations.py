"""Sessions, their dialogue state, the turn log and the audit trail.

All state lives in the database, so any worker can pick up a session after a reconnect. The
dialogue state (slots being filled, a pending confirmation ...) is stored as one JSON document per
session: pass a JSON-safe dict or a pydantic model, get a dict back.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from assistant.store.db import StoreError, session_scope
from assistant.store.models import AuditLog, Conversation, TurnRow, User, UTCDateTime, utc_from_ts
from assistant.store.turn_writer import TurnWriter


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    user_id: str | None
    lang: str  # zh / en / auto
    mode: str  # standard / elder
    state: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    resumed: bool = False  # open() found this session already stored


@dataclass(frozen=True)
class TurnRecord:
    id: int
    session_id: str
    seq: int  # 1, 2, 3 ... within the session
    text: str
    intent: str | None
    confidence: float | None
    slots: dict[str, Any]
    source: str | None
    tool_calls: list[Any]
    reply: str | None
    error_code: str | None
    timings: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    user_id: str | None
    action: str
    target: str | None
    detail: dict[str, Any]


def _json_safe(value: Mapping[str, Any] | BaseModel, what: str) -> dict[str, Any]:
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else dict(value)
    try:
        return json.loads(json.dumps(data, ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} must be JSON-serialisable: {exc}", code="invalid-state") from exc


def _record(c: Any, *, resumed: bool = False) -> SessionRecord:
    """A session from a ``Conversation`` or a row of the conversations table."""
    return SessionRecord(
        c.session_id, c.user_id, c.lang, c.mode, dict(c.state_json or {}), c.created_at, c.updated_at, resumed
    )


def _turn(t: TurnRow) -> TurnRecord:
    assert t.id is not None
    return TurnRecord(
        t.id,
        t.session_id,
        t.seq,
        t.text,
        t.intent,
        t.confidence,
        dict(t.slots_json or {}),
        t.source,
        list(t.tool_calls_json or []),
        t.reply,
        t.error_code,
        dict(t.timings_json or {}),
        t.created_at,
    )


def _next_seq(session_id: Any) -> Any:
    """The session's next turn number, computed by the database as the row is inserted."""
    table = TurnRow.__table__
    return (sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0) + 1)
            .where(table.c.session_id == session_id).scalar_subquery())


_CONVERSATIONS = Conversation.__table__
# the hot statements, built once (building one per call cost more than running it on SQLite)
_SESSION_ROW = sa.select(_CONVERSATIONS).where(_CONVERSATIONS.c.session_id == sa.bindparam("sid"))
_USER_ID = sa.select(User.__table__.c.id).where(User.__table__.c.id == sa.bindparam("uid"))
_NOW = sa.bindparam("now", type_=UTCDateTime())
# replaces a session's dialogue state (no row updated: no such session)
_STATE_UPDATE = (sa.update(_CONVERSATIONS).where(_CONVERSATIONS.c.session_id == sa.bindparam("sid"))
                 .values(state_json=sa.bindparam("state", type_=_CONVERSATIONS.c.state_json.type), updated_at=_NOW))
_RESUME = (sa.update(_CONVERSATIONS).where(_CONVERSATIONS.c.session_id == sa.bindparam("sid"))
           .values(lang=sa.bindparam("new_lang"), mode=sa.bindparam("new_mode"), updated_at=_NOW))
_INSERT_SESSION = sa.insert(_CONVERSATIONS)
_INSERT_AUDIT = sa.insert(AuditLog.__table__)


def _state_params(session_id: str, state: Mapping[str, Any] | BaseModel, now: datetime) -> dict[str, Any]:
    """The parameters of ``_STATE_UPDATE``."""
    return {"sid": session_id, "state": _json_safe(state, "the dialogue state"), "now": now}


# a batch of log rows: one INSERT executed with many parameter sets (no RETURNING, so each set is
# its own execution and sees the rows before it: seqs 1, 2, 3 ... within a session)
_BATCH_INSERT = sa.insert(TurnRow.__table__).values(seq=_next_seq(sa.bindparam("sid")))


class ConversationStore:
    """Durable sessions. Thread-safe; holds no state but the engine."""

    def __init__(self, engine: sa.Engine, *, clock: Callable[[], float] = time.time, max_reply_chars: int = 4000,
                 max_tool_calls: int = 20, max_call_chars: int = 2000, turn_log_flush_ms: float = 0,
                 turn_log_max_pending: int = 5000):
        self.engine = engine
        self._clock = clock
        self.max_reply_chars = max_reply_chars  # a turn's stored reply is cut here ("…")
        self.max_tool_calls = max_tool_calls  # tool calls stored per turn; the rest are counted
        self.max_call_chars = max_call_chars  # one stored call larger than this keeps no arguments
        # turn_log_flush_ms > 0: log rows written behind and states group-committed (store/turn_writer.py)
        self.writer = (TurnWriter(self, flush_ms=turn_log_flush_ms, max_pending=turn_log_max_pending)
                       if turn_log_flush_ms > 0 else None)

    def _now(self) -> datetime:
        return utc_from_ts(self._clock())

    # ------------------------------------------------------------ sessions
    def ping(self) -> None:
        """Raise unless the database answers a trivial query (readiness)."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def user_exists(self, user_id: str) -> bool:
        """Whether ``user_id`` is a known user (a valid token may still name a deleted one)."""
        with self.engine.connect() as conn:
            return conn.execute(_USER_ID, {"uid": user_id}).first() is not None

    def open(
        self, *, user_id: str | None, lang: str = "zh", mode: str = "standard", session_id: str | None = None
    ) -> SessionRecord:
        """Resume ``session_id`` when it exists and is this user's; otherwise start a new session.

        An unknown ``session_id`` starts a fresh session with a server-made id (ids are never taken
        from clients). Resuming updates ``lang`` and ``mode`` and keeps the dialogue state.
        Someone else's session raises :class:`StoreError` with code ``forbidden``.
        """
        now = self._now()
        with self.engine.begin() as conn:
            conv = conn.execute(_SESSION_ROW, {"sid": session_id}).first() if session_id else None
            if conv is not None:
                if conv.user_id != user_id:
                    raise StoreError("this session belongs to another user", code="forbidden")
                conn.execute(_RESUME, {"sid": session_id, "new_lang": lang, "new_mode": mode, "now": now})
                return _record(SimpleNamespace(**{**conv._asdict(), "lang": lang, "mode": mode, "updated_at": now}),
                               resumed=True)
            conv = SimpleNamespace(session_id=f"s_{secrets.token_urlsafe(12)}", user_id=user_id, lang=lang, mode=mode,
                                   state_json={}, created_at=now, updated_at=now)
            conn.execute(_INSERT_SESSION, vars(conv))
            conn.execute(_INSERT_AUDIT, {"at": now, "user_id": user_id, "action": "session.start",
                                         "target": conv.session_id, "detail_json": {"lang": lang, "mode": mode}})
            return _record(conv)

    def load(self, session_id: str) -> SessionRecord | None:
        with self.engine.connect() as conn:
            conv = conn.execute(_SESSION_ROW, {"sid": session_id}).first()
        return None if conv is None else _record(conv)

    def save_state(self, session_id: str, state: Mapping[str, Any] | BaseModel) -> None:
        """Replace the session's dialogue state (last write wins)."""
        with self.engine.begin() as conn:
            updated = conn.execute(_STATE_UPDATE, _state_params(session_id, state, self._now())).rowcount
            if updated != 1:
                raise self.no_session(session_id)

    @staticmethod
    def no_session(session_id: str) -> StoreError:
        return StoreError(f"no session {session_id!r}", code="session-not-found")

    def load_state(self, session_id: str) -> dict[str, Any]:
        """The stored dialogue state; ``{}`` for a new or unknown session."""
        record = self.load(session_id)
        return {} if record is None else record.state

    # ------------------------------------------------------------ turns
    def append_turn(
        self,
        session_id: str,
        *,
        text: str,
        intent: str | None = None,
        confidence: float | None = None,
        slots: Mapping[str, Any] | None = None,
        source: str | None = None,
        tool_calls: list[Any] | None = None,
        reply: str | None = None,
        error_code: str | None = None,
        timings: Mapping[str, Any] | None = None,
        state: Mapping[str, Any] | BaseModel | None = None,
    ) -> TurnRecord:
        """Log one finished turn with the next ``seq`` of its session. What is stored is bounded:
        the reply to ``max_reply_chars``, the tool calls to ``max_tool_calls`` of at most
        ``max_call_chars`` each (whatever a model sent back). ``state``: the session's dialogue state
        saved in the same transaction (one commit per turn instead of two)."""
        state_values = {} if state is None else {"state_json": _json_safe(state, "the dialogue state")}
        row = self.turn_row(session_id, text=text, intent=intent, confidence=confidence, slots=slots, source=source,
                            tool_calls=tool_calls, reply=reply, error_code=error_code, timings=timings)
        table = TurnRow.__table__
        for _ in range(5):  # two writers raced for the same seq: take the next one
            row["created_at"] = now = self._now()
            try:
                with session_scope(self.engine) as s:
                    # two statements a turn (round trips on PostgreSQL): the session's row first (it
                    # must exist; on PostgreSQL its row lock queues the session's other writers), then
                    # the log row with the next seq computed in the INSERT
                    updated = s.exec(
                        sa.update(Conversation)
                        .where(Conversation.session_id == session_id)
                        .values(updated_at=now, **state_values)
                    ).rowcount
                    if updated != 1:
                        raise self.no_session(session_id)
                    turn_id, seq = s.exec(
                        sa.insert(table).values(seq=_next_seq(session_id), **row).returning(table.c.id, table.c.seq)
                    ).one()
                    return _turn(TurnRow(id=turn_id, seq=seq, **row))
            except IntegrityError:
                continue
        raise StoreError("could not append the turn (seq conflict)", code="conflict", retryable=True)

    def turn_row(self, session_id: str, *, text: str, intent: str | None = None, confidence: float | None = None,
                 slots: Mapping[str, Any] | None = None, source: str | None = None,
                 tool_calls: list[Any] | None = None, reply: str | None = None, error_code: str | None = None,
                 timings: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A turn's log row as stored (bounded, JSON-safe, stamped now), without its ``seq``: for
        :meth:`append_turn`, :meth:`insert_turn_row` and the write-behind writer."""
        if reply is not None and len(reply) > self.max_reply_chars:
            reply = reply[: self.max_reply_chars - 1] + "…"
        payload = _json_safe(
            {"slots": slots or {}, "tool_calls": self._bounded_calls(tool_calls or []), "timings": timings or {}},
            "the turn's slots, tool calls and timings",
        )
        return {"session_id": session_id, "text": text, "intent": intent, "confidence": confidence,
                "slots_json": payload["slots"], "source": source, "tool_calls_json": payload["tool_calls"],
                "reply": reply, "error_code": error_code, "timings_json": payload["timings"],
                "created_at": self._now()}

    def queue_turn(self, row: dict[str, Any]) -> bool:
        """Queue a row from :meth:`turn_row` for the writer (never blocks); False when the writer is off,
        closed or full: the caller then writes it with :meth:`insert_turn_row`."""
        return self.writer is not None and self.writer.log(row)

    def log_turn(self, row: dict[str, Any]) -> None:
        """Log a row from :meth:`turn_row`: behind the turn when the writer is on and has room,
        else now (blocking: call from a worker thread)."""
        if not self.queue_turn(row):
            self.insert_turn_row(row)

    def insert_turn_row(self, row: dict[str, Any]) -> None:
        """Insert one log row now, with the next seq of its session (its own transaction)."""
        for _ in range(5):  # another worker raced for the same seq: take the next one
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.insert(TurnRow.__table__).values(seq=_next_seq(row["session_id"]), **row))
                return
            except IntegrityError:
                if not self.exists(row["session_id"]):
                    raise
        raise StoreError("could not append the turn (seq conflict)", code="conflict", retryable=True)

    def exists(self, session_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(Conversation.session_id).where(Conversation.session_id == session_id)
                                ).first() is not None

    def write_batch(self, states: list[tuple[str, dict[str, Any]]], rows: list[dict[str, Any]]) -> list[bool]:
        """Dialogue states and log rows of many turns, in one transaction (the turn writer's batch).
        Returns, per state, whether its session was missing (nothing written for it). Raises (and
        writes nothing) when a row is refused: the writer then writes the items one by one."""
        now = self._now()
        table = Conversation.__table__
        missing = []
        with self.engine.begin() as conn:
            # first: on PostgreSQL these row locks queue other writers. One statement, many parameter sets:
            # when it updates as many rows as there are states, no session was missing (one row at most
            # each); otherwise (rare) the states are updated again one by one to tell which was
            params = [_state_params(session_id, state, now) for session_id, state in states]
            if len(params) > 1 and self.engine.dialect.supports_sane_multi_rowcount:
                if conn.execute(_STATE_UPDATE, params).rowcount == len(params):
                    params, missing = [], [False] * len(states)
            for one in params:
                missing.append(conn.execute(_STATE_UPDATE, one).rowcount != 1)
            if rows:
                touched = {row["session_id"] for row in rows} - {sid for sid, _ in states}
                if touched:  # the sessions' last activity
                    conn.execute(sa.update(table).where(table.c.session_id.in_(sorted(touched)))
                                 .values(updated_at=now))
                # one statement, many parameter sets; each row's seq is computed as it is inserted
                conn.execute(_BATCH_INSERT, [{**row, "sid": row["session_id"]} for row in rows])
        return missing

    def _bounded_calls(self, calls: list[Any]) -> list[Any]:
        kept: list[Any] = []
        for call in calls[: self.max_tool_calls]:
            if len(json.dumps(call, ensure_ascii=False, default=str)) > self.max_call_chars and isinstance(call, dict):
                call = {**{k: v for k, v in call.items() if k != "args"}, "args": {"omitted": "too large"}}
            kept.append(call)
        if len(calls) > self.max_tool_calls:
            kept.append({"omitted_calls": len(calls) - self.max_tool_calls})
        return kept

    def turns(self, session_id: str, *, limit: int | None = None) -> list[TurnRecord]:
        """The session's turns in order; with ``limit``, only the last ``limit`` of them (this
        process's rows still queued for writing are written first)."""
        self.flush()
        query = select(TurnRow).where(TurnRow.session_id == session_id).order_by(TurnRow.seq.desc())
        if limit is not None:
            query = query.limit(limit)
        with Session(self.engine) as s:
            return [_turn(t) for t in reversed(s.exec(query).all())]

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Write the log rows still queued (write-behind); False if the database did not take them in time."""
        return True if self.writer is None else self.writer.flush(timeout_s)

    def close(self, timeout_s: float = 10.0) -> bool:
        """Flush and stop the writer thread (server shutdown); later rows are written synchronously."""
        return True if self.writer is None else self.writer.close(timeout_s)

    # ------------------------------------------------------------ audit
    def audit(
        self,
        action: str,
        *,
        user_id: str | None = None,
        target: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Write one audit row (e.g. ``session.resume``, ``auth.denied``, ``handoff.requested``)."""
        data = _json_safe(detail or {}, "the audit detail")
        with session_scope(self.engine) as s:
            s.add(AuditLog(at=self._now(), user_id=user_id, action=action, target=target, detail_json=data))

    def audit_log(
        self,
        *,
        user_id: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Audit rows, newest first, optionally filtered."""
        query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
        if user_id is not None:
            query = query.where(AuditLog.user_id == user_id)
        if action is not None:
            query = query.where(AuditLog.action == action)
        if target is not None:
            query = query.where(AuditLog.target == target)
        with Session(self.engine) as s:
            return [
                AuditEntry(a.id or 0, a.at, a.user_id, a.action, a.target, dict(a.detail_json or {}))
                for a in s.exec(query).all()
            ]
