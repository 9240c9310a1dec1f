"""Engine, schema creation and a session helper.

SQLite is the embedded default (a file in ``Settings.data_dir``); PostgreSQL is its scaled-out twin
(``LUI_DATABASE_URL=postgresql+psycopg://...``). Everything above this module is the same code for
both; the only SQLite-specific SQL is the PRAGMAs in the connect hook below.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from assistant.errors import LuiError
from assistant.store import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from tools.tables import session_scope as session_scope  # the ledger's unit of work, shared by the store

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITES = ("insert", "update", "delete", "replace", "create", "drop", "alter", "begin immediate", "begin exclusive")
_FILE_LOCKS: dict[str, threading.Lock] = {}  # one per SQLite file, shared by every engine on it
_FILE_LOCKS_GUARD = threading.Lock()


class StoreError(LuiError):
    """A persistence failure the caller can act on (unknown session, someone else's session ...)."""

    code = "store"


def _json_dumps(value: Any) -> str:
    # keep Chinese readable in the database instead of \\uXXXX escapes
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _file_lock(database: str) -> threading.Lock:
    key = str(Path(database).expanduser().resolve())
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(key, threading.Lock())


def _serialise_writers(engine: sa.Engine, lock: threading.Lock) -> None:
    """This process's writers to one SQLite file take turns on a Python lock, from their first
    write statement to the commit or rollback. SQLite admits one writer at a time anyway; without
    this, the others wait in SQLite's busy handler, which *sleeps* (1, 2, 5 ... 100 ms steps) and
    so leaves the file idle while writers queue (tens of ms per statement under load). Other
    processes on the same file still meet the busy timeout as before. A writer that cannot have
    the lock within the busy timeout writes without it (SQLite's own locking, as before)."""

    held: set[int] = set()  # the DBAPI connections that hold the lock now (by id)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _take(conn, _cursor, statement, _params, _context, _many) -> None:
        key = id(conn.connection.dbapi_connection)
        if key not in held and statement.lstrip()[:16].lower().startswith(_WRITES):
            if lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
                held.add(key)

    def _give(dbapi_conn, *_args) -> None:
        key = id(getattr(dbapi_conn, "dbapi_connection", dbapi_conn))  # the pool's proxy, or the raw one
        if key in held:
            held.discard(key)
            lock.release()

    # released *after* the COMMIT / ROLLBACK ran (SQLAlchemy's commit event fires before it); the
    # pool's reset of a connection returned mid-transaction is a rollback too
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_conn) -> None:
        try:
            commit(dbapi_conn)
        finally:
            _give(dbapi_conn)

    def do_rollback(dbapi_conn) -> None:
        try:
            rollback(dbapi_conn)
        finally:
            _give(dbapi_conn)

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback  # type: ignore[method-assign]
    for closed in ("close", "invalidate", "soft_invalidate", "close_detached"):  # never left held
        sa.event.listen(engine, closed, _give)


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """Create an engine for ``url``.

    SQLite: the parent folder is created, connections may cross threads, and every connection gets
    WAL journaling, a busy timeout (writers queue instead of failing) and foreign-key enforcement.
    Other databases: connections are pinged before use so a restarted server is survived.
    Extra keyword arguments go to :func:`sqlalchemy.create_engine`.
    """
    sa_url = sa.make_url(url)
    kwargs.setdefault("json_serializer", _json_dumps)
    if sa_url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(sa_url, **kwargs)

    database = sa_url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
    if in_memory:
        kwargs.setdefault("poolclass", StaticPool)  # one shared connection, or each sees its own db
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(sa_url, connect_args=connect_args, **kwargs)
    if not in_memory:
        _serialise_writers(engine, _file_lock(database))

    @sa.event.listens_for(engine, "connect")
    def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:  # sqlite-only hook
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cur.execute("PRAGMA journal_mode = WAL")
                # synchronous stays at the FULL default: a confirmed payment survives a power cut
        finally:
            cur.close()

    return engine


def init_db(engine: sa.Engine) -> None:
    """Bring the schema to the newest migration (idempotent; an existing database is upgraded in place)."""
    from assistant.store.migrate import upgrade

    upgrade(engine)
