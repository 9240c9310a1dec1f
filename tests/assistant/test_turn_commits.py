"""What a text turn writes before it answers. The commit (an fsync on SQLite, a round trip on
PostgreSQL) was the largest cost of a text turn in the profile: a turn that changes the dialogue
state commits it before its reply (a pending confirmation must survive anything after the reply);
a turn that changes nothing writes nothing before its reply; log rows are written behind the
turns (assistant/store/turn_writer.py), many to one commit."""

from __future__ import annotations

import asyncio
import threading

import pytest
import sqlalchemy as sa

from assistant.store.conversations import ConversationStore
from tests.conftest import demo_assistant, of_type, say

LATER = 3_600_000  # ms: log rows go with a state's commit, a flush or close, never by the clock


async def test_a_turn_commits_its_changed_state_before_the_reply_and_nothing_when_unchanged(settings, router):
    assistant = demo_assistant(settings.model_copy(update={"turn_log_flush_ms": LATER}), router)
    session, _ = assistant.open_session("u_li", "zh")
    commits: list[int] = []
    sa.event.listen(assistant.conversations.engine, "commit", lambda conn: commits.append(1))
    events = await say(assistant, session, "帮我交电费")  # reads bills, prepares a payment, asks
    asked = of_type(events, "confirm.request")[0]
    stored = assistant.conversations.load_state(session.id)  # committed before the reply
    assert stored["confirmation"]["confirmation_id"] == asked["confirmation_id"]
    commits.clear()
    await say(assistant, session, "你好")  # the state changes (the last intent): one commit
    assert len(commits) == 1
    commits.clear()
    await say(assistant, session, "你好")  # nothing changes: no write before the reply
    assert commits == []
    assert assistant.conversations.writer.pending() == 2  # the log rows of both, written behind
    assert [t.text for t in assistant.conversations.turns(session.id)] == ["帮我交电费", "你好", "你好"]
    assert assistant.conversations.load_state(session.id)["confirmation"]["confirmation_id"] == asked["confirmation_id"]


async def test_without_write_behind_a_turn_commits_its_row_and_state_together(settings, router):
    assistant = demo_assistant(settings.model_copy(update={"turn_log_flush_ms": 0}), router)
    assert assistant.conversations.writer is None
    session, _ = assistant.open_session("u_li", "zh")
    commits: list[int] = []
    sa.event.listen(assistant.conversations.engine, "commit", lambda conn: commits.append(1))
    asked = of_type(await say(assistant, session, "帮我交电费"), "confirm.request")[0]
    commits.clear()
    await say(assistant, session, "你好")
    assert len(commits) == 1  # log row + state together
    assert assistant.conversations.load_state(session.id)["confirmation"]["confirmation_id"] == asked["confirmation_id"]
    assert [t.text for t in assistant.conversations.turns(session.id)] == ["帮我交电费", "你好"]


class GatedStore(ConversationStore):
    """The real store whose batches wait at a gate (a slow commit, held open by the test)."""

    def __init__(self, engine, **kwargs):
        super().__init__(engine, **kwargs)
        self.entered, self.gate = threading.Event(), threading.Event()

    def write_batch(self, states, rows):
        self.entered.set()
        assert self.gate.wait(30)
        return super().write_batch(states, rows)


async def test_a_turn_cancelled_while_its_state_commits_still_saves_it_and_logs_its_row(settings, router):
    assistant = demo_assistant(settings, router)
    store = assistant.conversations = GatedStore(assistant.conversations.engine, turn_log_flush_ms=LATER)
    session, _ = assistant.open_session("u_li", "zh")
    turn = asyncio.create_task(say(assistant, session, "帮我交电费"))  # prepares a payment: the state changes
    assert await asyncio.to_thread(store.entered.wait, 60)
    turn.cancel()  # the client cancelled (or left) while the state was being committed
    with pytest.raises(asyncio.CancelledError):
        await turn
    store.gate.set()
    for _ in range(600):  # the shielded rest of the turn runs on: its state commits, its row is queued
        if store.writer.pending():
            break
        await asyncio.sleep(0.05)
    assert [t.text for t in await asyncio.to_thread(store.turns, session.id)] == ["帮我交电费"]  # logged
    stored = await asyncio.to_thread(store.load_state, session.id)
    assert stored["confirmation"] is not None  # saved: a resumed session gets its confirmation back
