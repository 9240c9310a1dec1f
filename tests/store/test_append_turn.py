"""Logging a turn is two statements (the session's row, then the log row with its seq computed in
the INSERT): each statement is a round trip on PostgreSQL, paid by every turn. Seqs stay 1, 2, 3 ...
under writers racing on one session, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from assistant.store import ConversationStore, init_db
from assistant.store.db import StoreError


@pytest.fixture
def engine(blank_engine):
    init_db(blank_engine)
    return blank_engine


def test_a_turn_is_logged_in_two_statements_with_the_next_seq(engine):
    store = ConversationStore(engine)
    sid = store.open(user_id=None).session_id
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda conn, cursor, sql, params, context, many: statements.append(sql.split()[0].upper()))
    first = store.append_turn(sid, text="你好", intent="greet", slots={"a": 1}, timings={"total": 2.5},
                              state={"lang": "zh"})
    second = store.append_turn(sid, text="余额", reply="余额100元。", tool_calls=[{"name": "check_balance"}])
    sql = [s for s in statements if s in ("SELECT", "INSERT", "UPDATE", "DELETE")]
    assert sql == ["UPDATE", "INSERT"] * 2, statements
    assert (first.seq, second.seq) == (1, 2) and first.id != second.id
    assert (first.text, first.intent, first.slots, first.timings) == ("你好", "greet", {"a": 1}, {"total": 2.5})
    stored = store.turns(sid)
    assert [(t.seq, t.text, t.reply, t.tool_calls) for t in stored] == [
        (1, "你好", None, []), (2, "余额", "余额100元。", [{"name": "check_balance"}])]
    assert stored[0].created_at == first.created_at
    assert store.load_state(sid) == {"lang": "zh"}
    with pytest.raises(StoreError) as err:
        store.append_turn("s_unknown", text="hi")
    assert err.value.code == "session-not-found"


def test_writers_racing_on_one_session_get_distinct_seqs(engine):
    store = ConversationStore(engine)
    sid = store.open(user_id=None).session_id
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: store.append_turn(sid, text=f"t{i}"), range(24)))
    assert sorted(t.seq for t in store.turns(sid)) == list(range(1, 25))
