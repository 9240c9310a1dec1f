"""Two workers (two Assistants on one database and one Redis): a worker re-reads a session's state
from the database only when another worker owned the session since its own last turn of it. The
re-read was a database round trip on every turn of every session; the state it must not miss is a
pending confirmation settled elsewhere."""

from __future__ import annotations

import sqlalchemy as sa

from assistant.shared.redis_state import RedisState
from assistant.store.conversations import ConversationStore
from assistant.store.db import init_db, make_engine
from assistant.store.models import Payment
from assistant.store.seed import seed_demo
from assistant.turns import Assistant
from tests.conftest import of_type, say
from tools import build_registry
from tools.billing import Billing


class CountingStore(ConversationStore):
    """The real store, counting how often a turn re-reads a session's state."""

    def __init__(self, engine: sa.Engine, turn_log_flush_ms: float = 0):
        super().__init__(engine, turn_log_flush_ms=turn_log_flush_ms)
        self.reads = 0

    def load_state(self, session_id: str) -> dict:
        self.reads += 1
        return super().load_state(session_id)


def worker(settings, router, engine) -> Assistant:
    # as lui serve builds it: states group-committed and the turn log written behind (store/turn_writer.py)
    return Assistant(settings, router, build_registry(), Billing(engine),
                     CountingStore(engine, turn_log_flush_ms=settings.turn_log_flush_ms),
                     shared=RedisState.from_settings(settings))


async def confirm(assistant: Assistant, session, confirmation_id: str) -> list[dict]:
    events: list[dict] = []

    async def emit(event) -> None:
        events.append(event.wire())

    await assistant.confirm(session, confirmation_id, True, emit)
    return events


async def test_a_worker_rereads_a_session_only_after_another_worker_owned_it(settings, router, redis_url):
    settings = settings.model_copy(update={"redis_url": redis_url})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    init_db(engine)
    seed_demo(engine)
    one, two = worker(settings, router, engine), worker(settings, router, engine)
    assert one.conversations.writer is not None  # the pending confirmation travels through the group commit
    try:
        on_one, _ = one.open_session("u_li", "zh")
        asked = of_type(await say(one, on_one, "帮我交电费"), "confirm.request")[0]
        assert one.conversations.reads == 1  # new to this worker's turn loop: read once
        await say(one, on_one, "你好")
        await say(one, on_one, "你好")
        assert one.conversations.reads == 1  # nobody else owned it: what this worker holds is the newest
        assert on_one.state.confirmation.confirmation_id == asked["confirmation_id"]

        on_two, resumed = two.open_session("u_li", "zh", session_id=on_one.id)
        assert resumed
        paid = await confirm(two, on_two, asked["confirmation_id"])
        assert of_type(paid, "tool.result")[-1]["ok"], paid
        assert on_two.state.confirmation is None

        await say(one, on_one, "你好")  # the other worker moved the session on: re-read
        assert one.conversations.reads == 2
        assert on_one.state.confirmation is None
        await confirm(one, on_one, asked["confirmation_id"])  # a late double click on worker one
        with engine.connect() as c:
            done = c.execute(sa.select(Payment.status).where(Payment.confirmation_id == asked["confirmation_id"]))
            assert [row.status for row in done] == ["done"]  # paid once
        assert Billing(engine).ledger_check() == []
    finally:
        await one.shared.aclose()
        await two.shared.aclose()
        one.pools.close()
        two.pools.close()
