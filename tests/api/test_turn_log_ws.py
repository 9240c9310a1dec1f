"""The turn log is written behind the turns (assistant/store/turn_writer.py); a server that stops
writes what is still queued before it exits, so every answered turn is in the log."""

from __future__ import annotations

import sqlalchemy as sa
from websockets.asyncio.client import connect

from assistant.api.app import create_app
from assistant.store.db import make_engine
from tests.api.conftest import Client
from tests.conftest import LiveServer, demo_assistant

LATER = 3_600_000  # ms: only a state's commit, a flush or the shutdown writes log rows


async def test_log_rows_still_queued_are_written_when_the_server_stops(settings, router):
    changed = settings.model_copy(update={"turn_log_flush_ms": LATER})
    assistant = demo_assistant(changed, router)
    with LiveServer(create_app(changed, assistant)) as live:
        async with connect(live.ws) as ws:
            client = Client(ws)
            started = await client.start(user="u_li", lang="zh")
            assert (await client.say("你好"))[-1]["type"] == "reply"
            assert (await client.say("你好"))[-1]["type"] == "reply"
        assert assistant.conversations.writer.pending() == 2  # answered, not yet written
    engine = make_engine(changed.db_url)  # what another process would read after the shutdown
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT seq, text, reply FROM turns WHERE session_id = :s ORDER BY seq"),
                            {"s": started["session_id"]}).all()
    engine.dispose()
    assert [(r.seq, r.text) for r in rows] == [(1, "你好"), (2, "你好")] and all(r.reply for r in rows)
