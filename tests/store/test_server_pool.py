"""On PostgreSQL a database call mostly waits on the network, so a worker runs more of them at once
(``pool_db_threads_postgres``) than on SQLite, and its engine keeps a connection for each thread:
no connection is opened per query under load."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from assistant.runtime import build_assistant
from assistant.store.db import make_engine
from tests.conftest import wipe_pg


async def test_postgresql_runs_more_database_threads_each_on_a_kept_connection(settings, router, pg_url):
    scratch = make_engine(pg_url)
    wipe_pg(scratch)
    scratch.dispose()
    on_sqlite = build_assistant(settings, lookup_later=True)
    assert on_sqlite.pools["db"].workers == settings.pool_db_threads == 4
    on_sqlite.pools.close()

    a = build_assistant(settings.model_copy(update={"database_url": pg_url}), lookup_later=True)
    engine = a.conversations.engine
    try:
        assert a.pools["db"].workers == 16
        sid = a.conversations.open(user_id="u_li").session_id
        opened: list[int] = []
        sa.event.listen(engine, "connect", lambda *_: opened.append(1))
        for _ in range(3):
            await asyncio.gather(*[a.pools.run("db", a.conversations.load_state, sid) for _ in range(64)])
        assert a.pools["db"].load().completed >= 192
        assert len(opened) <= 16  # at most one new connection per thread, then kept: none per query
    finally:
        a.pools.close()
        engine.dispose()
