"""A text turn that answers writes its log row and the session's state in one commit (the commit,
an fsync on SQLite, was the largest cost of a text turn in the profile)."""

from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import demo_assistant, of_type, say


async def test_an_answered_turn_commits_once_and_its_state_is_saved(settings, router):
    assistant = demo_assistant(settings, router)
    session, _ = assistant.open_session("u_li", "zh")
    commits: list[int] = []
    sa.event.listen(assistant.conversations.engine, "commit", lambda conn: commits.append(1))
    events = await say(assistant, session, "帮我交电费")  # reads bills, prepares a payment, asks
    asked = of_type(events, "confirm.request")[0]
    prepared = len(commits)  # the ledger's own transaction(s) for preparing the payment
    commits.clear()
    await say(assistant, session, "你好")
    assert len(commits) == 1  # log row + state together
    stored = assistant.conversations.load_state(session.id)
    assert stored["confirmation"]["confirmation_id"] == asked["confirmation_id"]
    assert [t.text for t in assistant.conversations.turns(session.id)] == ["帮我交电费", "你好"]
    assert prepared >= 1
