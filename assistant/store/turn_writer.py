"""One background thread that writes what turns leave behind, many turns to one transaction.

Two kinds of work, both from the turn loop (assistant/turns.py):

``log(row)``  a turn's log row (what was said and answered: a transcript, not money). Write-behind:
    the turn does not wait for it. Rows gather for up to ``flush_ms`` (or until a state write comes)
    and go to the database together, in one transaction. The queue is bounded (``max_pending``):
    when it is full, ``log`` returns False and the caller writes the row itself, synchronously, so a
    row is never dropped for want of room.
``save_state(session_id, state)``  a session's changed dialogue state (slots being filled, a pending
    confirmation). Synchronous for the turn: the turn awaits the returned future, and answers only
    once the state is committed. Only the commit is shared (group commit): every state and log row
    waiting when the thread wakes goes into the same transaction, so N turns cost one commit (one
    fsync on SQLite, one round trip to COMMIT on PostgreSQL) instead of N.

Crash semantics. A dialogue state is committed before its turn answers, as before. A log row is
durable after the next batch (at most ``flush_ms`` later, sooner when a state write comes), after
``flush()`` and after ``close()`` (run at server shutdown): a kill -9 or a power cut loses at most
the log rows of the last ``flush_ms`` (their replies were already sent). The ledger (payments,
idempotency) never goes through here: it commits in its own transactions. While the database is
down, log rows stay queued and are tried again (with a growing pause, up to 2 s); a row the
database refuses for good (its session was deleted) is logged as an error and dropped, as a
failed synchronous write was before.

Readers in this process see their own writes: ``ConversationStore.turns`` flushes first. Rows of
one session are written in order; when a session moves to another worker within ``flush_ms`` of its
last turn here, the two workers' rows may interleave by write time (``created_at`` is the turn's
own time either way).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError, IntegrityError

if TYPE_CHECKING:
    from assistant.store.conversations import ConversationStore

log = logging.getLogger(__name__)
MAX_BATCH = 500  # log rows per transaction
MAX_BACKOFF_S = 2.0


class TurnWriter:
    def __init__(self, store: ConversationStore, *, flush_ms: float, max_pending: int = 5000):
        self.store = store
        self.flush_s = max(flush_ms, 0.0) / 1000
        self.max_pending = max(1, max_pending)
        self._cond = threading.Condition()
        self._rows: deque[dict[str, Any]] = deque()
        self._states: list[tuple[str, dict[str, Any], Future]] = []
        self._queued = 0  # log rows ever accepted
        self._settled = 0  # ... of which written (or refused for good)
        self._urgent = 0  # flush() callers waiting: no gathering pause
        self._stop = False
        self._thread: threading.Thread | None = None
        self.batches = 0  # transactions written (for tests and benchmarks)

    # ---- producers (any thread) ---------------------------------------------------------------
    def log(self, row: dict[str, Any]) -> bool:
        """Queue a log row (see ``ConversationStore.turn_row``); False when the queue is full or the
        writer is closed: then the caller writes it itself."""
        with self._cond:
            if self._stop or len(self._rows) >= self.max_pending:
                return False
            self._rows.append(row)
            self._queued += 1
            self._start()
            self._cond.notify_all()
            return True

    def save_state(self, session_id: str, state: dict[str, Any]) -> Future:
        """Commit the session's dialogue state in the next batch; the future resolves once it is
        committed (or raises what the database said: a ``StoreError`` for an unknown session)."""
        future: Future = Future()
        with self._cond:
            if self._stop:
                future.set_exception(RuntimeError("the turn writer is closed"))
                return future
            self._states.append((session_id, state, future))
            self._start()
            self._cond.notify_all()
        return future

    @property
    def accepting(self) -> bool:
        """False once closed."""
        return not self._stop

    def pending(self) -> int:
        with self._cond:
            return len(self._rows)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every row queued before this call is written; False if that took too long
        (the database is down: the rows stay queued)."""
        with self._cond:
            target = self._queued
            if self._settled >= target:
                return True
            self._urgent += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: self._settled >= target, timeout_s)
            finally:
                self._urgent -= 1

    def close(self, timeout_s: float = 10.0) -> bool:
        """Write everything queued, then stop the thread (later rows are written by their callers)."""
        flushed = self.flush(timeout_s)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return flushed

    # ---- the thread ---------------------------------------------------------------------------
    def _start(self) -> None:  # under the lock
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lui-turn-writer", daemon=True)
            self._thread.start()

    def _take(self) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any], Future]]] | None:
        with self._cond:
            while not (self._rows or self._states or self._stop):
                self._cond.wait()
            if self._rows and not (self._states or self._urgent or self._stop) and self.flush_s > 0:
                # only log rows: let more gather, unless a state write or a flush comes
                self._cond.wait_for(lambda: self._states or self._urgent or self._stop
                                    or len(self._rows) >= MAX_BATCH, self.flush_s)
            if self._stop and not (self._rows or self._states):
                return None
            rows = [self._rows.popleft() for _ in range(min(len(self._rows), MAX_BATCH))]
            states, self._states = self._states, []
            return rows, states

    def _run(self) -> None:
        backoff = 0.0
        while True:
            taken = self._take()
            if taken is None:
                return
            rows, states = taken
            states = [(sid, state, f) for sid, state, f in states if f.set_running_or_notify_cancel()]
            kept = self._write(rows, states)
            with self._cond:
                self._settled += len(rows) - len(kept)
                if kept:  # the database is unreachable: try again later, in the same order
                    self._rows.extendleft(reversed(kept))
                self._cond.notify_all()
            if kept:
                backoff = min(MAX_BACKOFF_S, backoff * 2 or 0.05)
                with self._cond:
                    self._cond.wait_for(lambda: self._stop and not self._urgent, backoff)
                    if self._stop and not self._urgent:
                        log.error("turn writer stopping with %d log rows unwritten (database unreachable)",
                                  len(self._rows))
                        return
            else:
                backoff = 0.0

    def _write(self, rows: list[dict[str, Any]], states: list[tuple[str, dict[str, Any], Future]]) -> list[dict[str, Any]]:
        """Write one batch; the rows to try again (the database did not answer)."""
        try:
            missing = self.store.write_batch([(sid, state) for sid, state, _ in states], rows)
        except Exception:  # one bad item (a deleted session, a seq raced by another worker) or a dead database
            log.debug("turn batch failed; writing its items one by one", exc_info=True)
        else:
            self.batches += 1
            for (sid, _, future), absent in zip(states, missing, strict=True):
                if absent:
                    future.set_exception(self.store.no_session(sid))
                else:
                    future.set_result(None)
            return []
        for sid, state, future in states:
            try:
                self.store.save_state(sid, state)
            except Exception as exc:
                future.set_exception(exc)
            else:
                future.set_result(None)
        kept = []
        for row in rows:
            try:
                self.store.insert_turn_row(row)
            except DBAPIError as exc:
                if isinstance(exc, IntegrityError):
                    log.error("turn log row of session %s refused: %s", row.get("session_id"), exc.orig)
                else:
                    kept.append(row)
            except Exception:
                log.exception("turn log row of session %s not written", row.get("session_id"))
        return kept
