"""This process's writers to one SQLite file queue on a lock instead of SQLite's sleeping busy handler."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from assistant.store.conversations import ConversationStore
from assistant.store.db import init_db, make_engine


def test_threads_writing_at_once_never_meet_a_locked_database(tmp_path):
    """With SQLite's busy timeout at 0, a writer that finds another one's transaction open fails at
    once ("database is locked"): so none failing means the writers never met inside SQLite. Before,
    they met there and waited in the busy handler's sleeps."""
    url = f"sqlite:///{tmp_path / 'lui.db'}"
    init_db(make_engine(url))
    engine = make_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_conn, _record) -> None:  # runs after make_engine's own hook
        dbapi_conn.execute("PRAGMA busy_timeout = 0")

    store = ConversationStore(engine)
    sessions = [store.open(user_id=None).session_id for _ in range(8)]
    failures: list[BaseException] = []

    def writer(session_id: str) -> None:
        try:
            for i in range(25):
                store.append_turn(session_id, text=f"t{i}", reply="ok", state={"n": i})
        except BaseException as exc:  # noqa: BLE001 (collected for the assert)
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures[:1]
    for s in sessions:
        assert [t.seq for t in store.turns(s)] == list(range(1, 26))
        assert store.load_state(s) == {"n": 24}
    # a second engine on the same file (another part of this process) queues on the same lock
    other = ConversationStore(make_engine(url))
    store_session = sessions[0]
    done = threading.Event()

    def late() -> None:
        other.append_turn(store_session, text="late", reply="ok")
        done.set()

    with engine.begin() as conn:  # an open write transaction holds the file's lock
        conn.execute(sa.text("UPDATE conversations SET lang = 'en' WHERE session_id = :s"), {"s": store_session})
        thread = threading.Thread(target=late)
        thread.start()
        assert not done.wait(0.3)  # queued on the lock (SQLite would have said "locked" or slept)
    thread.join(30)
    assert done.is_set() and store.turns(store_session)[-1].text == "late"
