"""One websocket connection: JSON in, events out. Only translates; the turn loop does the work.

Turns run one at a time in a worker task so the receive loop stays responsive: ``ping`` is
answered at once and ``cancel`` stops the turn in progress. Client input can never crash it: every
bad message is answered with an ``error`` event and the connection stays open.

A connection without a session is kept cheap: it may only send small frames
(``max_unauth_message_bytes``) and must start a session within ``session_start_timeout_s``;
connections per client address and in total are capped. Those refusals send an ``error`` event,
then close with a code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel

from assistant.api.limits import ConnectionLimits, TokenBucket, origin_allowed
from assistant.auth import AuthError, verify_token
from assistant.errors import LuiError
from assistant.protocol import (
    AudioEnd,
    AudioStart,
    CancelIn,
    ConfirmIn,
    ErrorEvent,
    PingIn,
    Pong,
    Reply,
    SessionStart,
    SessionStarted,
    TextIn,
    parse_client_message,
)
from assistant.shared import SharedState, build_shared_state
from assistant.turn_context import ChatSession
from assistant.turns import Assistant

log = logging.getLogger(__name__)
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_TOO_MANY_SESSIONS = 4429
CLOSE_SESSION_TIMEOUT = 4408  # no session.start in time
CLOSE_TOO_LARGE = 1009  # a frame too large before a session (RFC 6455 "message too big")
CLOSE_TRY_AGAIN_LATER = 1013  # too many connections (RFC 6455 "try again later")
MAX_QUEUED_TURNS = 8
Job = Callable[[], Awaitable[None]]


class Connection:
    def __init__(self, websocket: WebSocket, assistant: Assistant, voice=None, limits: SharedState | None = None,
                 connections: ConnectionLimits | None = None, speech=None):
        self.ws = websocket
        self.assistant = assistant
        self.settings = assistant.settings
        self.voice = voice  # assistant.api.audio.VoiceGateway, when speech-to-text is available
        self.speech = speech  # assistant.api.speech.SpeechGateway, when text-to-speech is available
        self.speaker = None  # assistant.api.speech.Speaker, when the session asked for spoken replies
        self.limits = limits or build_shared_state(self.settings)
        self.slot = uuid.uuid4().hex  # this connection's live-session slot (shared across workers)
        self.connections = connections
        self.ip = websocket.client.host if websocket.client else "unknown"
        rate = self.settings.max_messages_per_s
        self._messages = TokenBucket(rate, burst=2 * rate)
        self._frames = TokenBucket(self.settings.max_audio_frames_per_s, burst=self.settings.max_audio_frames_burst)
        self.session: ChatSession | None = None
        self.audio = None
        self._send_lock = asyncio.Lock()
        self._jobs: asyncio.Queue[Job] = asyncio.Queue(maxsize=MAX_QUEUED_TURNS)
        self._running: asyncio.Task | None = None
        self._answered = False  # the running turn has sent its one reply or error
        self._closed = False

    async def send(self, event: BaseModel) -> None:
        if self._closed:
            return
        payload = event.wire_text()  # type: ignore[attr-defined]
        async with self._send_lock:
            try:
                await self.ws.send_text(payload)
            except (WebSocketDisconnect, RuntimeError, OSError):  # the peer is gone; later sends are no-ops
                self._closed = True
                return
        if getattr(event, "type", None) in ("reply", "error"):
            self._answered = True
        if isinstance(event, ErrorEvent):
            self.assistant.metrics.error(event.code)
        elif isinstance(event, Reply) and self.speaker is not None and self.session is not None:
            self.speaker.say(event, elder=self.session.mode == "elder")

    async def send_bytes(self, data: bytes) -> None:
        """One binary frame (spoken reply audio); a no-op once the peer is gone."""
        if self._closed:
            return
        async with self._send_lock:
            try:
                await self.ws.send_bytes(data)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._closed = True

    async def refuse(self, code: str, message: str, close_code: int, retryable: bool = False) -> None:
        """Answer with an ``error`` event, then close the connection."""
        await self.send(ErrorEvent(code=code, message=message, retryable=retryable))
        self._closed = True
        with contextlib.suppress(Exception):  # already closed by the peer
            await self.ws.close(code=close_code)

    async def run(self) -> None:
        await self.ws.accept()
        if not origin_allowed(self.ws.headers.get("origin"), self.settings.allowed_origins):
            await self.refuse("origin-forbidden", "this origin may not connect", CLOSE_FORBIDDEN_ORIGIN)
            return
        if self.connections is not None and not self.connections.open(self.ip):
            await self.refuse("too-many-connections", "too many connections; try again later",
                              CLOSE_TRY_AGAIN_LATER, retryable=True)
            return
        try:
            await self._serve()
        finally:
            if self.connections is not None:
                self.connections.close(self.ip)

    async def _receive(self, deadline: float) -> dict | None:
        """The next frame; None when the client left or (before a session) the deadline passed."""
        try:
            if self.session is not None:
                message = await self.ws.receive()
            else:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise TimeoutError
                message = await asyncio.wait_for(self.ws.receive(), remaining)
        except TimeoutError:
            await self.refuse("session-timeout", f"send session.start within {self.settings.session_start_timeout_s:g} s",
                              CLOSE_SESSION_TIMEOUT)
            return None
        except (WebSocketDisconnect, RuntimeError):  # RuntimeError: receive after the disconnect
            return None
        return None if message["type"] == "websocket.disconnect" else message

    async def _serve(self) -> None:
        deadline = asyncio.get_running_loop().time() + self.settings.session_start_timeout_s
        worker = asyncio.create_task(self._worker())
        try:
            while not self._closed:
                message = await self._receive(deadline)
                if message is None:
                    break
                try:
                    if message.get("text") is not None:
                        await self._on_text(message["text"])
                    elif message.get("bytes") is not None:
                        await self._on_binary(message["bytes"])
                except Exception:  # a bug must not end the connection silently
                    log.exception("frame handling failed")
                    await self.send(ErrorEvent(code="internal", message="internal error; the session continues",
                                               retryable=True))
        finally:
            self._closed = True  # sends become no-ops; queued turns are dropped
            if self.speaker is not None:
                self.speaker.stop()
            if self.voice is not None:  # audio work (decoding, transcription) stops at once
                self.voice.disconnected(self)
            if self.session is not None:
                await self.limits.close_session(self.session.user_id, self.slot)
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
    async def _too_large_before_session(self, size: int) -> bool:
        """Before a session only small frames are read: a larger one closes the connection."""
        limit = self.settings.max_unauth_message_bytes
        if self.session is not None or size <= limit:
            return False
        await self.refuse("message-too-large", f"at most {limit} bytes per frame before session.start",
                          CLOSE_TOO_LARGE)
        return True

    async def _on_text(self, raw: str) -> None:
        if self.session is None and await self._too_large_before_session(len(raw.encode("utf-8"))):
            return
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
        if self.speaker is not None and isinstance(message, TextIn | ConfirmIn | CancelIn | AudioStart):
            self.speaker.stop()  # barge-in: the person speaks, types, answers or cancels
        if isinstance(message, TextIn | ConfirmIn | AudioEnd) and not await self.limits.allow_turn(session.user_id):
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
        """Every check comes before anything is written: a refused start leaves no row behind."""
        try:
            if self.settings.auth == "on":
                user = verify_token(message.token, self.settings)
            else:
                user = message.user or (verify_token(message.token, self.settings) if message.token else "u_li")
            if not await self.assistant.pools.run("db", self.assistant.conversations.user_exists, user):
                if self.settings.auth == "on":
                    raise AuthError("the token names no known user")
                raise AuthError(f"no user {user[:64]!r}", code="unknown-user")
        except AuthError as exc:
            await self.refuse(exc.code, exc.message, CLOSE_UNAUTHORIZED)
            return
        if not await self.limits.allow_start(user):
            await self.send(ErrorEvent(code="rate-limited", retryable=True,
                                       message="too many session starts; try again in a minute"))
            return
        old = self.session
        took_slot = old is None or old.user_id != user  # a restart for the same user keeps its slot
        if took_slot and not await self.limits.open_session(user, self.slot):
            if old is not None:
                await self.limits.close_session(old.user_id, self.slot)
                self.session = None
            await self.refuse("too-many-sessions", f"at most {self.settings.max_sessions_per_user} live sessions "
                              "per user", CLOSE_TOO_MANY_SESSIONS, retryable=True)
            return
        try:
            session, resumed = await self.assistant.pools.run("db",
                self.assistant.open_session, user, message.lang, message.mode, message.session_id)
        except LuiError as exc:
            if took_slot:
                await self.limits.close_session(user, self.slot)
            await self.send(ErrorEvent(code=exc.code, message=exc.message, retryable=exc.retryable))
            return
        if took_slot and old is not None:  # a second session.start on this connection replaces the first
            await self.limits.close_session(old.user_id, self.slot)
        self.session = session
        if self.speaker is not None:
            self.speaker.stop()
        self.speaker = None
        if message.speech and self.speech is not None:
            from assistant.api.speech import Speaker

            self.speaker = Speaker(self.speech, self.send, self.send_bytes)
        await self.send(SessionStarted(session_id=session.id, lang=session.lang, mode=session.mode,
                                       resumed=resumed, user=user,
                                       speech=(self.speaker is not None) if message.speech else None,
                                       max_audio_seconds=self.settings.max_audio_seconds if self.voice else None))
        if resumed:  # the confirmation survives the reconnect (or its receipt, if it was paid meanwhile)
            await self.assistant.resume(session, self.send)
        if message.reminders:  # bills due soon, in one reply (none when nothing is due)
            await self.assistant.remind(session, self.send)

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
        if self.session is None and await self._too_large_before_session(len(data)):
            return
        # a flood of frames is slowed, not served: this connection's socket is not read until its frame
        # budget refills, so the sender waits on TCP instead of the server spending CPU on its frames
        while not self._frames.take():  # noqa: ASYNC110 (a refill is time passing, not an event)
            await asyncio.sleep(max(self._frames.wait_s(), 0.001))
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
