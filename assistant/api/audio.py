"""The voice path of the websocket: ``audio.start`` → binary frames → ``audio.end`` → a text turn.

Frames are decoded as they arrive (``voice.AudioStream``), partial transcripts are sent while the
person speaks (only when the transcription pool is idle, so they never delay a final one), a long
pause can end the utterance on its own, and the final transcript goes into the same turn loop as
typed text. Every failure is an ``error`` event with a stable code; the session carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from assistant.protocol import AudioStart, ErrorEvent, TranscriptFinal, TranscriptPartial
from assistant.settings import Settings
from assistant.turns import Assistant
from voice.errors import VoiceError
from voice.pool import TranscriptionPool
from voice.stream import AudioStream
from voice.stt import WhisperSTT

if TYPE_CHECKING:
    from assistant.api.ws import Connection

log = logging.getLogger(__name__)


class VoiceGateway:
    """One per process: the speech-to-text model and its bounded worker pool."""

    def __init__(self, settings: Settings, assistant: Assistant, pool: TranscriptionPool):
        self.settings = settings
        self.assistant = assistant
        self.pool = pool

    @classmethod
    def create(cls, settings: Settings, assistant: Assistant) -> VoiceGateway:
        stt = WhisperSTT.from_settings(settings)  # VoiceError "stt-unavailable" names the setting
        stt.load()  # load weights at start-up, not in the first speaker's turn
        return cls(settings, assistant, TranscriptionPool(stt, workers=settings.stt_workers,
                                                          max_queue=settings.stt_max_queue))

    def start(self, conn: Connection, message: AudioStart) -> Utterance:
        return Utterance(self, conn, message)


class Utterance:
    """One spoken turn in progress on one connection."""

    def __init__(self, gateway: VoiceGateway, conn: Connection, message: AudioStart):
        s = gateway.settings
        self.gateway, self.conn = gateway, conn
        self.lang = message.lang or conn.session.lang  # type: ignore[union-attr]
        self.stream: AudioStream | None = None
        self.ended = False  # the turn already has its terminal event, or the server ended it
        self._partial: asyncio.Task | None = None
        self._error: VoiceError | None = None
        try:
            self.stream = AudioStream(message.format, message.sample_rate, max_bytes=s.max_audio_bytes,
                                      max_seconds=s.max_audio_seconds, partial_every_s=s.stt_partial_every_s,
                                      endpoint_silence_ms=s.stt_endpoint_silence_ms or 10**9)
        except VoiceError as exc:
            self._error = exc

    @property
    def whisper_lang(self) -> str | None:
        return self.lang if self.lang in ("zh", "en") else None

    async def feed(self, data: bytes) -> None:
        if self.ended or self._error is not None or self.stream is None:
            return  # frames after a failure or after the server ended the utterance are dropped
        try:  # one worker-thread hop per frame: decode, end-pointing, partial pacing
            ended, partial_due = await asyncio.to_thread(self._take, data, self._partial is None and self._pool_idle())
        except VoiceError as exc:
            self._error = exc
            return
        if ended:
            self.ended = True  # a long pause ends the utterance without waiting for audio.end
            await self.conn.end_audio_turn(self)
        elif partial_due:
            self._partial = asyncio.create_task(self._send_partial())

    def _take(self, data: bytes, partial_possible: bool) -> tuple[bool, bool]:
        """(in a worker thread) Add a frame; has speech ended, and is a partial transcript due?"""
        assert self.stream is not None
        self.stream.feed(data)
        if self.gateway.settings.stt_endpoint_silence_ms and self.stream.should_end():
            return True, False
        return False, partial_possible and self.stream.should_emit_partial(time.monotonic())

    def _pool_idle(self) -> bool:
        stats = self.gateway.pool.stats()
        return stats.running == 0 and stats.queued == 0

    async def _send_partial(self) -> None:
        try:
            audio = await asyncio.to_thread(self.stream.pcm)  # type: ignore[union-attr]
            transcript = await self.gateway.pool.transcribe(audio, lang=self.whisper_lang)
            if transcript.text and not self.ended:
                await self.conn.send(TranscriptPartial(text=transcript.text))
        except (VoiceError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("partial transcript failed")
        finally:
            self._partial = None

    async def finish(self) -> None:
        """The end of speech: final transcript, then the same turn loop as typed text."""
        if self._partial is not None:
            self._partial.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._partial
        try:
            if self._error is not None:
                raise self._error
            assert self.stream is not None
            started = time.perf_counter()
            audio = await asyncio.to_thread(self.stream.finish)
            transcript = await self.gateway.pool.transcribe(audio, lang=self.whisper_lang)
            stt_ms = round((time.perf_counter() - started) * 1000, 2)
        except VoiceError as exc:
            await self.conn.send(ErrorEvent(code=exc.code, message=exc.message, retryable=exc.retryable))
            return
        if transcript.no_speech or not transcript.text.strip():
            await self.conn.send(ErrorEvent(code="no-speech", message="no speech was heard; please try again",
                                            retryable=True))
            return
        await self.conn.send(TranscriptFinal(text=transcript.text, lang=transcript.lang,
                                             duration_ms=transcript.duration_ms))
        session = self.conn.session
        assert session is not None
        await self.gateway.assistant.text_turn(session, transcript.text, self.conn.send, stt_ms=stt_ms)
