"""The turn writer (assistant/store/turn_writer.py): turn log rows written behind the turns in
batches, dialogue states committed many to one transaction; nothing dropped for want of room."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from assistant.store import ConversationStore, StoreError, init_db, make_engine

LATER = 3_600_000  # ms: rows are written only by a state, a flush or close, never by the clock


@pytest.fixture
def engine(blank_engine):
    init_db(blank_engine)
    return blank_engine


def stored_texts(engine, session_id: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT text FROM turns WHERE session_id = :s ORDER BY seq"), {"s": session_id})
        return [r.text for r in rows]


def test_rows_are_written_behind_and_are_durable_after_a_flush(engine):
    store = ConversationStore(engine, turn_log_flush_ms=LATER)
    sid = store.open(user_id=None).session_id
    for i in range(5):
        store.log_turn(store.turn_row(sid, text=f"t{i}", intent="greet", reply="hi", timings={"total": 1.0}))
    assert stored_texts(engine, sid) == []  # queued, not written yet
    assert store.flush()
    assert stored_texts(engine, sid) == [f"t{i}" for i in range(5)]
    turns = store.turns(sid)
    assert [t.seq for t in turns] == [1, 2, 3, 4, 5] and turns[0].timings == {"total": 1.0}
    assert store.writer.batches == 1  # five rows, one transaction


def test_close_writes_what_is_queued_and_later_rows_are_written_at_once(engine):
    store = ConversationStore(engine, turn_log_flush_ms=LATER)
    sid = store.open(user_id=None).session_id
    store.log_turn(store.turn_row(sid, text="before"))
    assert store.close()  # server shutdown
    assert stored_texts(engine, sid) == ["before"]
    store.log_turn(store.turn_row(sid, text="after"))  # the writer is gone: written synchronously
    assert stored_texts(engine, sid) == ["before", "after"]


def test_turns_read_this_process_rows_still_queued(engine):
    store = ConversationStore(engine, turn_log_flush_ms=LATER)
    sid = store.open(user_id=None).session_id
    store.log_turn(store.turn_row(sid, text="你好"))
    assert [t.text for t in store.turns(sid)] == ["你好"]


def test_a_full_queue_writes_the_row_synchronously_never_drops_it(engine):
    store = ConversationStore(engine, turn_log_flush_ms=LATER, turn_log_max_pending=2)
    sid = store.open(user_id=None).session_id
    for i in range(3):
        store.log_turn(store.turn_row(sid, text=f"t{i}"))
    assert stored_texts(engine, sid) == ["t2"]  # the third found no room: written by its caller
    assert store.writer.pending() == 2
    store.flush()
    assert sorted(stored_texts(engine, sid)) == ["t0", "t1", "t2"]


def test_states_and_rows_of_many_turns_share_one_commit(engine):
    store = ConversationStore(engine)
    sids = [store.open(user_id=None).session_id for _ in range(3)]
    commits: list[int] = []
    sa.event.listen(engine, "commit", lambda conn: commits.append(1))
    rows = [store.turn_row(sid, text=f"{n}") for sid in sids for n in range(2)]
    missing = store.write_batch([(sid, {"last_intent": "greet", "n": n}) for n, sid in enumerate(sids)], rows)
    assert missing == [False, False, False] and len(commits) == 1
    assert [store.load_state(sid)["n"] for sid in sids] == [0, 1, 2]
    assert all(stored_texts(engine, sid) == ["0", "1"] for sid in sids)


def test_a_batch_of_states_with_an_unknown_session_says_which_and_saves_the_others(engine):
    store = ConversationStore(engine)
    sids = [store.open(user_id=None).session_id, "s_gone", store.open(user_id=None).session_id]
    missing = store.write_batch([(sid, {"n": n}) for n, sid in enumerate(sids)], [])
    assert missing == [False, True, False]  # (one UPDATE for the batch found 2 rows of 3: retold one by one)
    assert [store.load_state(sid).get("n") for sid in sids] == [0, None, 2]


def test_a_state_is_committed_when_its_future_resolves(engine):
    store = ConversationStore(engine, turn_log_flush_ms=LATER)
    sid = store.open(user_id=None).session_id
    store.log_turn(store.turn_row(sid, text="帮我交电费"))
    store.writer.save_state(sid, {"confirmation": {"confirmation_id": "c1"}}).result(30)
    other = ConversationStore(make_engine(engine.url))  # another worker reads the database
    assert other.load_state(sid) == {"confirmation": {"confirmation_id": "c1"}}
    assert stored_texts(engine, sid) == ["帮我交电费"]  # the queued row went in the same commit
    other.engine.dispose()


def test_an_unknown_session_fails_its_state_and_drops_only_its_own_row(engine):
    store = ConversationStore(engine, turn_log_flush_ms=LATER)
    sid = store.open(user_id=None).session_id
    store.log_turn(store.turn_row("s_gone", text="lost"))
    store.log_turn(store.turn_row(sid, text="kept"))
    with pytest.raises(StoreError) as err:
        store.writer.save_state("s_gone", {"n": 1}).result(30)
    assert err.value.code == "session-not-found"
    assert store.flush()
    assert stored_texts(engine, sid) == ["kept"]


class FlakyStore(ConversationStore):
    """The real store whose database is unreachable for the first ``outages`` writes."""

    def __init__(self, engine, outages: int, **kwargs):
        super().__init__(engine, **kwargs)
        self.outages = outages

    def _down(self) -> None:
        if self.outages > 0:
            self.outages -= 1
            raise OperationalError("INSERT", {}, Exception("could not connect to server"))

    def write_batch(self, states, rows):
        self._down()
        return super().write_batch(states, rows)

    def insert_turn_row(self, row):
        self._down()
        super().insert_turn_row(row)


def test_rows_wait_out_a_database_outage(engine):
    store = FlakyStore(engine, outages=3, turn_log_flush_ms=LATER)
    sid = store.open(user_id=None).session_id
    store.log_turn(store.turn_row(sid, text="a"))
    store.log_turn(store.turn_row(sid, text="b"))
    assert store.flush(timeout_s=60)  # tried again after the outage, in order
    assert stored_texts(engine, sid) == ["a", "b"]
