"""The turn loop: understand → decide → act → reply, as explicit stages that emit protocol events.

Knows nothing about FastAPI or websockets: callers pass an async ``emit`` that ships events.
Every public entry point ends with exactly one ``reply`` or one ``error`` event, persists the turn,
and never lets an exception escape into the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from typing import Any

from assistant.dialogue import DialogueState
from assistant.errors import LuiError
from assistant.handlers import handle_cancel, handle_confirmation, handle_understanding
from assistant.logs import SESSION_ID, TURN_ID
from assistant.metrics import Metrics
from assistant.nlu.fast import start_turn_memo
from assistant.nlu.numbers import strip_invisible
from assistant.nlu.text import detect_lang
from assistant.nlu.types import Understanding
from assistant.pools import Pools
from assistant.protocol import ConfirmRequest, ErrorEvent, IntentEvent, Reply
from assistant.replies import sentence_case
from assistant.settings import Settings
from assistant.shared import SessionBusy, SharedState
from assistant.store.conversations import ConversationStore
from assistant.suggest import reminder
from assistant.turn_context import ChatSession, Emit, ReplyOut, TurnContext
from tools.billing import Billing
from tools.registry import ToolRegistry

log = logging.getLogger(__name__)


class Assistant:
    """Holds the parts a turn needs; one instance per process, shared by all sessions."""

    def __init__(self, settings: Settings, router: Any, registry: ToolRegistry, billing: Billing,
                 conversations: ConversationStore, retriever: Any = None, translator: Any = None,
                 llm: Any = None, pools: Pools | None = None, shared: SharedState | None = None):
        self.settings = settings
        self.pools = pools or Pools.from_settings(settings)  # blocking work, by kind (assistant/pools.py)
        self.router = router
        self.registry = registry
        self.billing = billing
        self.conversations = conversations
        self.retriever = retriever
        self.translator = translator
        self.llm = llm  # assistant.llm tier (cascade + planner), None = router only
        self._live: weakref.WeakValueDictionary[str, ChatSession] = weakref.WeakValueDictionary()
        self.metrics = Metrics()  # turns, stages, payments; the API layer adds errors and load
        if shared is None:
            from assistant.shared.memory import MemoryState

            shared = MemoryState.from_settings(settings)
        self.shared = shared  # limits and session ownership: this process, or Redis for several workers

    @property
    def live_sessions(self) -> int:
        return len(self._live)

    # --- sessions -------------------------------------------------------------------------
    def open_session(self, user_id: str, lang: str = "auto", mode: str = "standard",
                     session_id: str | None = None) -> tuple[ChatSession, bool]:
        """Start a session, or resume one of this user's (state and pending confirmation kept)."""
        record = self.conversations.open(user_id=user_id, lang=lang, mode=mode, session_id=session_id)
        live = self._live.get(record.session_id)
        if live is not None:
            live.lang, live.mode = lang, mode
            if self.shared.distributed and not live.lock.locked():  # another worker may have moved it on
                live.loaded(DialogueState.model_validate(record.state))
            return live, True
        session = ChatSession(record.session_id, user_id, lang, mode, DialogueState())
        session.loaded(DialogueState.model_validate(record.state))
        self._live[session.id] = session
        return session, record.resumed

    def save(self, session: ChatSession) -> None:
        state = session.state.model_dump(mode="json")
        self.conversations.save_state(session.id, state)
        session.saved = state

    # --- entry points ---------------------------------------------------------------------
    async def text_turn(self, session: ChatSession, text: str, emit: Emit, msg_id: str | None = None,
                        stt_ms: float | None = None) -> None:
        text = strip_invisible(text).strip()  # zero-width marks hide digits ("1\u200b0元") and words
        if not text:
            await emit(ErrorEvent(code="empty-text", message="the text is empty", id=msg_id))
            return
        if len(text) > self.settings.max_text_chars:
            await emit(ErrorEvent(code="text-too-long", id=msg_id,
                                  message=f"text longer than {self.settings.max_text_chars} characters"))
            return

        async def stages(turn: TurnContext) -> tuple[ReplyOut, Understanding]:
            if stt_ms is not None:
                turn.timings["stt"], turn.heard = stt_ms, True
            started = time.perf_counter()
            u = await self.pools.run("router", self.router.understand, text, turn.state.context(), turn.lang)
            turn.timings["understand"] = round((time.perf_counter() - started) * 1000, 2)
            await emit(IntentEvent(name=u.intent, confidence=u.confidence, slots=u.slots, source=u.source))
            return await handle_understanding(turn, text, u), u

        await self._run(session, emit, text, msg_id, stages, spoken=True)

    async def confirm(self, session: ChatSession, confirmation_id: str, accept: bool, emit: Emit,
                      receipt_if_done: bool = False) -> None:
        async def stages(turn: TurnContext) -> tuple[ReplyOut, None]:
            return await handle_confirmation(turn, confirmation_id, accept, receipt_if_done), None

        await self._run(session, emit, f"[confirm {'yes' if accept else 'no'}]", None, stages)

    async def cancel(self, session: ChatSession, emit: Emit) -> None:
        async def stages(turn: TurnContext) -> tuple[ReplyOut, None]:
            return await handle_cancel(turn), None

        await self._run(session, emit, "[cancel]", None, stages)

    async def resume(self, session: ChatSession, emit: Emit) -> None:
        """After a reconnect: the pending confirmation again; or, when it was paid meanwhile (a crash
        between the payment and its reply), its receipt; one that was cancelled or lapsed is dropped."""
        pending = session.state.confirmation
        if pending is None:
            return
        try:
            status = (await self.pools.run("db", self.billing.payment, session.user_id, pending.confirmation_id)).status
        except Exception:  # the ledger is unreachable: show the question again, settle later
            log.warning("could not read payment status on resume of %s", session.id, exc_info=True)
            status = "pending"
        if status == "pending":
            await emit(ConfirmRequest(confirmation_id=pending.confirmation_id, summary=pending.summary,
                                      expires_at=pending.expires_at, details=pending.details or None))
        elif status == "done":  # idempotent: confirming a done payment returns its receipt, pays nothing
            await self.confirm(session, pending.confirmation_id, True, emit, receipt_if_done=True)
        else:
            async with session.lock:
                try:  # owned like a turn, so the other workers know to re-read the state
                    async with self._owned(session):
                        current = session.state.confirmation
                        if current is not None and current.confirmation_id == pending.confirmation_id:
                            session.state.confirmation = None
                            await self.pools.run("db", self.save, session)
                except SessionBusy:  # a turn elsewhere owns it: that turn settles the confirmation
                    pass

    async def remind(self, session: ChatSession, emit: Emit) -> None:
        """Bills due soon, as one ``reply`` with quick replies; nothing when none are (assistant/suggest.py)."""
        async with session.lock:
            lang = session.lang if session.lang in ("zh", "en") else session.state.lang or "zh"
            try:
                out = await reminder(TurnContext(self, session, emit, lang, key=uuid.uuid4().hex[:12]))
            except Exception:  # a reminder is a courtesy: the session goes on without it
                log.warning("could not build the reminder of session %s", session.id, exc_info=True)
                return
        if out is not None:
            await emit(Reply(text=sentence_case(out.text), quick_replies=out.quick_replies, card=out.card))

    # --- the guard every turn runs in -----------------------------------------------------
    async def _run(self, session: ChatSession, emit: Emit, text: str, msg_id: str | None, stages,
                   spoken: bool = False) -> None:
        started = time.perf_counter()
        async with session.lock:
            try:
                async with self._owned(session):
                    await self._owned_run(session, emit, text, msg_id, stages, spoken, started)
            except SessionBusy as exc:
                self.metrics.turn(None, None, exc.code, {}, [])
                await emit(ErrorEvent(code=exc.code, message=exc.message, retryable=True, id=msg_id))

    @contextlib.asynccontextmanager
    async def _owned(self, session: ChatSession) -> AsyncIterator[None]:
        """Own the session (one worker at a time, with Redis) with its newest state: re-read from the
        database only when another worker owned it since this one last did."""
        async with self.shared.session_lock(session.id, session.owner) as owned:
            fresh = owned.fresh or not self.shared.distributed or await self._reload(session)
            session.owner = owned.token if fresh else None
            yield

    async def _reload(self, session: ChatSession) -> bool:
        """The session as the database has it: another worker may have run its last turn. False when
        the database did not answer (the state may be stale: re-read next turn)."""
        try:
            state = await self.pools.run("db", self.conversations.load_state, session.id)
        except Exception:  # the turn itself will say whether the database is down
            log.warning("could not reload the state of session %s", session.id, exc_info=True)
            return False
        session.loaded(DialogueState.model_validate(state))
        return True

    async def _owned_run(self, session: ChatSession, emit: Emit, text: str, msg_id: str | None, stages,
                         spoken: bool, started: float) -> None:
        if session.lang in ("zh", "en"):
            lang = session.lang
        elif spoken:  # "auto": the language of what the person just said or typed
            lang = session.state.lang = detect_lang(text, session.state.lang or "zh")
        else:  # a confirm or cancel button: answer in the language of the conversation
            lang = session.state.lang or "zh"
        turn = TurnContext(self, session, emit, lang, key=msg_id or uuid.uuid4().hex[:12])
        SESSION_ID.set(session.id)  # every log record of this turn names it (assistant/logs.py)
        TURN_ID.set(turn.key)
        start_turn_memo()  # this turn's embeddings, shared by the router and service lookup (nlu/fast.py)
        u: Understanding | None = None
        error: ErrorEvent | None = None
        out: ReplyOut | None = None
        try:
            out, u = await stages(turn)
        except LuiError as exc:
            error = ErrorEvent(code=exc.code, message=exc.message, retryable=exc.retryable, id=msg_id)
        except Exception:  # never let a bug end the session; the client gets a stable code
            log.exception("turn failed in session %s", session.id)
            error = ErrorEvent(code="internal", message="internal error; the session continues",
                               retryable=True, id=msg_id)
        turn.timings["total"] = round((time.perf_counter() - started) * 1000, 2)
        logged = turn.understood or u
        if self.conversations.writer is not None:
            # the state (a pending confirmation!) is committed before the reply, when the turn changed
            # it, in a commit shared with other turns; the log row is written behind (store/turn_writer.py).
            # Shielded: a turn cancelled meanwhile still saves its state and logs its row
            out, error = await asyncio.shield(self._persist_behind(session, text, logged, turn, out, error, msg_id))
        else:
            # logged before it is answered: a reply the client saw is always in the turn log; a turn that
            # answers saves the session's state with its log row, in one transaction (one commit a turn)
            if out is not None:
                try:
                    await asyncio.shield(self.pools.run("db", self._save_turn, session, text, logged, turn, out))
                except Exception as exc:
                    out, error = None, self._unsaved(exc, session, msg_id)
            if out is None:  # the state was not saved: the database's copy is the one to trust next turn
                session.owner = None
                await asyncio.shield(self.pools.run("db", self._log_turn, session, text, logged, turn, out, error))
        self.metrics.turn(logged.intent if logged else None, logged.source if logged else None,
                          error.code if error else None, turn.timings, turn.tool_calls)
        if out is not None:
            await emit(Reply(text=sentence_case(out.text), quick_replies=out.quick_replies, card=out.card,
                             timings_ms=turn.timings, id=msg_id))
        else:
            assert error is not None
            await emit(error)

    @staticmethod
    def _unsaved(exc: Exception, session: ChatSession, msg_id: str | None) -> ErrorEvent:
        """What a turn whose state could not be saved answers: the store's code, or ``internal``."""
        if isinstance(exc, LuiError):
            return ErrorEvent(code=exc.code, message=exc.message, retryable=exc.retryable, id=msg_id)
        log.error("could not save a turn of session %s", session.id, exc_info=exc)
        return ErrorEvent(code="internal", message="internal error; the session continues", retryable=True, id=msg_id)

    async def _persist_behind(self, session: ChatSession, text: str, logged: Understanding | None, turn: TurnContext,
                              out: ReplyOut | None, error: ErrorEvent | None,
                              msg_id: str | None) -> tuple[ReplyOut | None, ErrorEvent | None]:
        """The turn's changed state committed, then its log row queued; what the turn answers."""
        if out is not None:
            try:
                await self._save_state(session)
            except Exception as exc:
                out, error = None, self._unsaved(exc, session, msg_id)
        if out is None:  # the state was not saved: the database's copy is the one to trust next turn
            session.owner = None
        await self._log_behind(session, text, logged, turn, out, error)
        return out, error

    async def _save_state(self, session: ChatSession) -> None:
        """Commit the session's state if this turn changed it (with the writer: many turns, one commit)."""
        state = session.state.model_dump(mode="json")
        if state == session.saved:  # nothing changed: no write at all
            return
        writer = self.conversations.writer
        if writer is not None and writer.accepting:
            await asyncio.wrap_future(writer.save_state(session.id, state))
        else:  # shutting down: the writer is closed
            await self.pools.run("db", self.conversations.save_state, session.id, state)
        session.saved = state

    async def _log_behind(self, session: ChatSession, text: str, u: Understanding | None, turn: TurnContext,
                          out: ReplyOut | None, error: ErrorEvent | None) -> None:
        """The turn's log row, queued for the writer; written here only when its queue is full."""
        try:
            row = self.conversations.turn_row(session.id, **_row_fields(text, u, turn, out, error))
            if not self.conversations.queue_turn(row):
                await asyncio.shield(self.pools.run("db", self.conversations.insert_turn_row, row))
        except Exception:  # the reply is going out; a logging failure must not break the session
            log.exception("could not persist a turn of session %s", session.id)

    def _save_turn(self, session: ChatSession, text: str, u: Understanding | None, turn: TurnContext, out: ReplyOut) -> None:
        """The answered turn's log row and the session's state, together; raises when not saved."""
        state = session.state.model_dump(mode="json")
        self._append(session, text, u, turn, out, None, state=state)
        session.saved = state

    def _log_turn(self, session: ChatSession, text: str, u: Understanding | None, turn: TurnContext,
                  out: ReplyOut | None, error: ErrorEvent | None) -> None:
        try:
            self._append(session, text, u, turn, out, error)
        except Exception:  # the reply is already out; a logging failure must not break the session
            log.exception("could not persist a turn of session %s", session.id)

    def _append(self, session: ChatSession, text: str, u: Understanding | None, turn: TurnContext, out: ReplyOut | None,
                error: ErrorEvent | None, state: DialogueState | None = None) -> None:
        self.conversations.append_turn(session.id, **_row_fields(text, u, turn, out, error), state=state)


def _row_fields(text: str, u: Understanding | None, turn: TurnContext, out: ReplyOut | None,
                error: ErrorEvent | None) -> dict[str, Any]:
    """What a turn's log row records (ConversationStore.turn_row / append_turn keywords)."""
    return {"text": text, "intent": u.intent if u else None, "confidence": u.confidence if u else None,
            "slots": u.slots if u else {}, "source": u.source if u else None, "tool_calls": turn.tool_calls,
            "reply": out.text if out else None, "error_code": error.code if error else None,
            "timings": turn.timings}
