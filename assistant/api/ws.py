"""One websocket connection: JSON in, events out. Only translates; the turn loop does the work.

Turns run one at a time in a worker task so the receive loop stays responsive: ``ping`` is
answered at once and ``cancel`` stops the turn in progress. Client input can never crash it: every
bad message is answered with an ``error`` event and the connection stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel

from assistant.api.limits import TokenBucket, UserLimits, origin_allowed
from assistant.auth import AuthError, verify_token
from assistant.errors import LuiError
from assistant.protocol import (
    AudioEnd,
    AudioStart,
    CancelIn,
    ConfirmIn,
    ConfirmRequest,
    ErrorEvent,
    PingIn,
    Pong,
    SessionStart,
    SessionStarted,
    TextIn,
    parse_client_message,
)
from assistant.turns import Assistant, Session

log = logging.getLogger(__name__)
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_TOO_MANY_SESSIONS = 4429
MAX_QUEUED_TURNS = 8
Job = Callable[[], Awaitable[None]]


class Connection:
    def __init__(self, websocket: WebSocket, assistant: Assistant, voice=None, limits: UserLimits | None = None):
        self.ws = websocket
        self.assistant = assistant
        self.settings = assistant.settings
        self.voice = voice  # assistant.api.audio.VoiceGateway, when speech-to-text is available
        self.limits = limits or UserLimits(self.settings.user_turns_per_minute, self.settings.max_sessions_per_user)
        rate = self.settings.max_messages_per_s
        self._messages = TokenBucket(rate, burst=2 * rate)
        self.session: Session | None = None
        self.audio = None
        self._send_lock = asyncio.Lock()
        self._jobs: asyncio.Queue[Job] = asyncio.Queue(maxsize=MAX_QUEUED_TURNS)
        self._running: asyncio.Task | None = None
        self._answered = False  # the running turn has sent its one reply or error
        self._closed = False

    async def send(self, event: BaseModel) -> None:
        if self._closed:
            return
        async with self._send_lock:
            await self.ws.send_json(event.wire())  # type: ignore[attr-defined]
        if getattr(event, "type", None) in ("reply", "error"):
            self._answered = True

    async def run(self) -> None:
        await self.ws.accept()
        if not origin_allowed(self.ws.headers.get("origin"), self.settings.allowed_origins):
            await self.send(ErrorEvent(code="origin-forbidden", message="this origin may not connect"))
            self._closed = True
            await self.ws.close(code=CLOSE_FORBIDDEN_ORIGIN)
            return
        worker = asyncio.create_task(self._worker())
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("text") is not None:
                    await self._on_text(message["text"])
                elif message.get("bytes") is not None:
                    await self._on_binary(message["bytes"])
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self._closed = True  # sends become no-ops; queued turns are dropped
            if self.voice is not None:  # audio work (decoding, transcription) stops at once
                self.voice.disconnected(self)
            if self.session is not None:
                self.limits.close(self.session.user_id)
            # what the client sent before leaving (a confirmation!) is still carried out, in order,
            # and its state saved; only the answers go nowhere. Bounded in time.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._jobs.join(), self.settings.finish_turn_on_disconnect_s)
            worker.cancel()
            if self._running is not None:
                self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker

    # --- the worker: one turn at a time ---------------------------------------------------
    async def _worker(self) -> None:
        while True:
            job = await self._jobs.get()
            self._answered = False
            self._running = asyncio.create_task(job())
            try:
                await self._running
            except asyncio.CancelledError:
                if asyncio.current_task().cancelling():  # the connection is closing
                    raise
                if not self._answered:
                    await self.send(ErrorEvent(code="turn-cancelled", message="the turn was cancelled"))
            except Exception:  # a bug must not end the connection
                log.exception("turn job failed")
                await self.send(ErrorEvent(code="internal", message="internal error; the session continues",
                                           retryable=True))
            finally:
                self._running = None
                self._jobs.task_done()

    async def _enqueue(self, job: Job) -> None:
        try:
            self._jobs.put_nowait(job)
        except asyncio.QueueFull:
            await self.send(ErrorEvent(code="busy", message="too many turns in flight; wait for a reply",
                                       retryable=True))

    # --- frames ---------------------------------------------------------------------------
    async def _on_text(self, raw: str) -> None:
        if not self._messages.take():
            await self.send(ErrorEvent(code="rate-limited", message="too many messages; slow down", retryable=True))
            return
        message = parse_client_message(raw, self.settings.max_message_bytes)
        if isinstance(message, ErrorEvent):
            await self.send(message)
            return
        if isinstance(message, PingIn):
            await self.send(Pong())
            return
        if isinstance(message, SessionStart):
            await self._start(message)
            return
        if self.session is None:
            await self.send(ErrorEvent(code="no-session", message="send session.start first"))
            return
        session = self.session
        if isinstance(message, TextIn | ConfirmIn | AudioEnd) and not self.limits.allow_turn(session.user_id):
            await self.send(ErrorEvent(code="rate-limited", message="too many requests; try again in a minute",
                                       retryable=True))
            return
        if isinstance(message, TextIn):
            await self._enqueue(lambda: self.assistant.text_turn(session, message.text, self.send, message.id))
        elif isinstance(message, ConfirmIn):
            await self._enqueue(lambda: self.assistant.confirm(session, message.confirmation_id, message.accept,
                                                               self.send))
        elif isinstance(message, CancelIn):
            if self.audio is not None:  # abandon the utterance being recorded
                self.audio.close()
                self.audio = None
            if self._running is not None and not self._answered:  # stop the turn in progress
                self._running.cancel()
            await self._enqueue(lambda: self.assistant.cancel(session, self.send))
        elif isinstance(message, AudioStart):
            await self._audio_start(message)
        elif isinstance(message, AudioEnd):
            await self._audio_end()

    async def _start(self, message: SessionStart) -> None:
        try:
            if self.settings.auth == "on":
                user = verify_token(message.token, self.settings)
            else:
                user = message.user or (verify_token(message.token, self.settings) if message.token else "u_li")
            session, resumed = await asyncio.to_thread(
                self.assistant.open_session, user, message.lang, message.mode, message.session_id)
        except AuthError as exc:
            await self.send(ErrorEvent(code=exc.code, message=exc.message))
            self._closed = True
            await self.ws.close(code=CLOSE_UNAUTHORIZED)
            return
        except LuiError as exc:
            await self.send(ErrorEvent(code=exc.code, message=exc.message, retryable=exc.retryable))
            return
        if self.session is not None:  # a second session.start on this connection replaces the first
            self.limits.close(self.session.user_id)
        if not self.limits.open(user):
            await self.send(ErrorEvent(code="too-many-sessions", retryable=True,
                                       message=f"at most {self.settings.max_sessions_per_user} live sessions per user"))
            self.session = None
            self._closed = True
            await self.ws.close(code=CLOSE_TOO_MANY_SESSIONS)
            return
        self.session = session
        await self.send(SessionStarted(session_id=session.id, lang=session.lang, mode=session.mode,
                                       resumed=resumed, user=user))
        pending = session.state.confirmation
        if resumed and pending is not None:  # the confirmation survives the reconnect
            await self.send(ConfirmRequest(confirmation_id=pending.confirmation_id, summary=pending.summary,
                                           expires_at=pending.expires_at, details=pending.details or None))

    # --- audio ------------------------------------------------------------------------------
    async def _audio_start(self, message: AudioStart) -> None:
        if self.voice is None:
            await self.send(ErrorEvent(code="voice-unavailable",
                                       message="speech-to-text is not installed on this server ('lui[voice]')"))
            return
        if self.audio is not None and not self.audio.ended:
            await self.send(ErrorEvent(code="audio-in-progress", message="audio.end the current utterance first"))
            return
        self.audio = self.voice.start(self, message)

    async def _on_binary(self, data: bytes) -> None:
        if self.audio is None:
            await self.send(ErrorEvent(code="unexpected-binary", message="binary frames only between audio.start and audio.end"))
            return
        await self.audio.feed(data)

    async def _audio_end(self) -> None:
        if self.audio is None:
            await self.send(ErrorEvent(code="unexpected-audio-end", message="audio.end without audio.start"))
            return
        utterance, self.audio = self.audio, None
        if not utterance.ended:  # else the server already ended it on a long pause
            utterance.ended = True
            await self._enqueue(utterance.finish)

    async def end_audio_turn(self, utterance) -> None:
        """The server heard the end of speech before ``audio.end``: transcribe now."""
        await self._enqueue(utterance.finish)
