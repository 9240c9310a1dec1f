"""One spoken turn in progress: binary frames decoded as they arrive, partial transcripts, the end of the turn.

Frames are decoded as they arrive (``voice.AudioStream``), partial transcripts are sent while the
person speaks (only when the transcription pool is idle, so they never delay a final one), the
server can end the utterance on its own (after a short pause the end-of-turn model says the request
is complete, or a long pause), and the final transcript goes into the same turn loop as typed text.

Decoding starts before the turn is known to be over: at the first short pause (``turn_check_ms``) the
audio so far is transcribed speculatively (when the pool is idle), and sent as a partial transcript.
If the turn then ends without more speech, that transcript is the final one, so the end of the turn
waits only for what is left of it; if the person speaks on, it is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from assistant.protocol import AudioStart, ErrorEvent, TranscriptFinal, TranscriptPartial
from voice.audio import TARGET_RATE
from voice.errors import VoiceError
from voice.stream import AudioStream
from voice.stt import Transcript
from voice.turn import asks

if TYPE_CHECKING:
    from assistant.api.audio import Reading, VoiceGateway
    from assistant.api.ws import Connection

log = logging.getLogger(__name__)


class Utterance:
    """One spoken turn in progress on one connection.

    It ends with ``audio.end``, the end of the turn heard by the server (``end_reason``), ``cancel``, the client leaving
    (:meth:`close`), a crossed limit, or a timeout: no frame for ``audio_idle_timeout_s`` or no
    ``audio.end`` within ``audio_max_open_s`` (``audio-timeout``). Whenever it ends, its audio
    buffers and decoder are freed.
    """

    def __init__(self, gateway: VoiceGateway, conn: Connection, message: AudioStart):
        s = gateway.settings
        self.gateway, self.conn = gateway, conn
        self.lang = message.lang or conn.session.lang  # type: ignore[union-attr]
        self.stream: AudioStream | None = None
        self.ended = False  # the turn already has its terminal event, or the server ended it
        self.closed = False  # dropped: nothing more is done or sent for it
        self._partial: asyncio.Task | None = None
        self._stt: asyncio.Task | None = None
        self._error: VoiceError | None = None
        self._threads = 0  # worker-thread calls on the stream in flight
        self._pending = bytearray()  # frames received, not yet handed to the decoder
        self._received = 0
        self._pump: asyncio.Task | None = None
        self._stopped = False  # no more frames are decoded (end of speech heard, an error, a timeout)
        self._over = False  # finish() is done: the audio can go
        self._started = self._last_frame = time.monotonic()
        self.end_reason: str | None = None  # "complete" / "silence" when the server heard the end
        self._spec: asyncio.Task | None = None  # the speculative transcription at the last pause
        self._spec_end = -1  # the speech end (16 kHz sample) it covers
        elder = conn.session is not None and conn.session.mode == "elder"
        # whether the server may end the utterance itself; not for hold-to-talk (endpoint "client"): audio.end
        # alone ends it, and its pauses are still transcribed speculatively, so a release right after one is
        # answered from that transcript
        self._server_ends = bool(s.stt_endpoint_silence_ms) and message.endpoint != "client"
        silence_ms = s.stt_endpoint_silence_ms if self._server_ends else 0
        check_ms, threshold = s.turn_check_ms, s.turn_threshold
        self._elder = self._server_ends and elder  # the server judges an elder's pauses
        if self._elder:
            silence_ms = max(silence_ms, s.stt_endpoint_elder_silence_ms)  # older people pause longer
            check_ms = max(check_ms, s.turn_elder_check_ms)
            threshold = 0.0  # every pause is judged on the model's probability and the words together
        partial_every_s = s.stt_elder_partial_every_s if elder else s.stt_partial_every_s
        self._silence_ms = silence_ms or 10**9  # the fixed pause that ends the turn (longer while the words dangle)
        self._turn_p = 1.0  # the end-of-turn model's probability at the pause being judged
        try:
            self.stream = AudioStream(message.format, message.sample_rate, max_bytes=s.max_audio_bytes,
                                      max_seconds=s.max_audio_seconds, max_cpu_s=s.max_audio_cpu_s or None,
                                      partial_every_s=partial_every_s,
                                      endpoint_silence_ms=self._silence_ms,
                                      turn=gateway.turn if self._server_ends else None,
                                      turn_check_ms=check_ms, turn_recheck_ms=s.turn_recheck_ms,
                                      turn_threshold=threshold)
        except VoiceError as exc:
            self._error = exc
        self._watchdog: asyncio.Task | None = None
        if s.audio_idle_timeout_s > 0 or s.audio_max_open_s > 0:
            self._watchdog = asyncio.create_task(self._watch())

    @property
    def whisper_lang(self) -> str | None:
        if self.lang in ("zh", "en"):
            return self.lang
        session = self.conn.session
        if session is not None and session.elder and session.state.lang in ("zh", "en"):
            return session.state.lang  # elder mode: the language once heard stays fixed, no detection
        return None

    async def feed(self, data: bytes) -> None:
        """Take one binary frame. It is decoded by a background pump (one worker-thread hop per batch):
        frames that arrive while a batch is being decoded are decoded together in the next one, so
        a flood of small frames costs few hops, and the receive loop never waits for decoding."""
        if self.ended or self._stopped or self._error is not None or self.stream is None:
            return  # frames after a failure or after the server ended the utterance are dropped
        self._last_frame = time.monotonic()
        self._received += len(data)
        if self._received > self.gateway.settings.max_audio_bytes:  # do not even queue it
            self._fail(VoiceError("audio-too-large", f"The audio is over the {self.gateway.settings.max_audio_bytes}"
                                  " byte limit."))
            return
        self._pending += data
        if self._pump is None:
            self._pump = asyncio.create_task(self._run_pump())

    async def _run_pump(self) -> None:
        try:
            while self._pending and self.stream is not None and not (self._stopped or self.closed or self._error):
                taken = await self._decode(self._partial is None and self._pool_idle())
                if taken is None or self._stopped or self.closed:  # failed, timed out or dropped meanwhile
                    return
                ended, partial_due, speech_end, paused = taken
                if ended and self.end_reason == "complete":
                    ended = await self._sounds_finished(speech_end)  # "帮我交……": the words say more is coming
                    if ended and self._pending:  # frames came while the words were checked: speech may go on
                        taken = await self._decode(False)
                        if taken is None or self._stopped or self.closed:
                            return
                        more_ended, _, now_end, paused = taken
                        ended = _same_pause(now_end, speech_end) or (more_ended and self.end_reason == "silence")
                        speech_end = now_end
                if ended:  # the end of the turn, heard without waiting for audio.end
                    self._stopped = True
                    if not self.ended:
                        self.ended = True
                        await self.conn.end_audio_turn(self)
                    return
                self._speculate(speech_end, paused)
                if partial_due and not self.ended and self._spec is None:
                    self._partial = asyncio.create_task(self._send_partial())
        finally:
            self._pump = None
            if self._stopped or self.closed or self._error is not None:
                self._pending = bytearray()

    async def _decode(self, partial_possible: bool) -> tuple[bool, bool, int, bool] | None:
        """Decode the frames received so far (one worker-thread hop): ``_take``'s answer, or None when
        the audio failed (reported: the utterance ends with that error)."""
        data, self._pending = bytes(self._pending), bytearray()
        try:  # decode, end-pointing and partial pacing in one hop
            return await self._in_thread(self._take, data, partial_possible)
        except VoiceError as exc:
            self._fail(exc)
            if exc.code == "audio-cpu-limit":  # say so now, not at audio.end: the frames are dropped
                await self._end_now()
        except Exception:  # hostile input must not end the connection
            log.exception("audio frame failed")
            self._fail(VoiceError("audio-undecodable", "The audio could not be decoded."))
        return None

    def _take(self, data: bytes, partial_possible: bool) -> tuple[bool, bool, int, bool]:
        """(in a worker thread) Add a frame. Is the turn over; is a partial transcript due; where did
        speech last end (-1: not yet); has the person paused there for ``turn_check_ms``?"""
        stream = self.stream
        assert stream is not None
        stream.feed(data)
        if self._server_ends:
            reason = stream.end_of_turn()
            if reason is not None:
                self.end_reason = reason
                if reason == "complete" and stream.turn_probabilities:
                    self._turn_p = stream.turn_probabilities[-1]
                return True, False, stream.speech_end(), False
        speech_end = stream.speech_end()
        paused = speech_end >= 0 and stream.trailing_silence_ms() >= self.gateway.settings.turn_check_ms
        return False, partial_possible and stream.should_emit_partial(time.monotonic()), speech_end, paused

    def _speculate(self, speech_end: int, paused: bool) -> None:
        """Start transcribing at a pause (pool idle); drop that transcription once speech goes on."""
        if self.ended or self.stream is None:
            return
        if self._spec is not None and not _same_pause(speech_end, self._spec_end):  # spoken since: stale
            self._spec.cancel()
            self._spec, self._spec_end = None, -1
            self.stream.endpoint_silence_ms = self._silence_ms  # the last pause's limit was for that pause
        if paused and self._spec is None and self._partial is None and self._pool_idle():
            self._start_spec(speech_end)

    def _start_spec(self, speech_end: int) -> None:
        assert self.stream is not None
        if self._spec is not None:
            self._spec.cancel()
        self._spec_end = speech_end
        self._spec = asyncio.create_task(self._transcribe(self.stream.pcm(), partial=True))
        self._spec.add_done_callback(_retrieve)

    def _pool_idle(self) -> bool:
        stats = self.gateway.pool.stats()
        return stats.running == 0 and stats.queued == 0

    async def _sounds_finished(self, speech_end: int) -> bool:
        """Is the turn over at this pause? The transcript of the pause is the speculative one (started
        now if need be, in elder mode even when the pool is busy), so a "yes" costs nothing: it becomes
        the final transcript. Outside elder mode the model said "complete": the turn ends unless the
        words dangle. In elder mode the model's probability and the words decide together (:meth:`_decide`)."""
        session = self.conn.session
        elder = session is not None and session.elder
        if self._spec is None or not _same_pause(speech_end, self._spec_end):
            if self.stream is None:
                return not elder
            if not elder and not self._pool_idle():
                return True  # no transcription to spare: the model decides alone
            # elder mode: the words decide, so transcribe this pause now, queued behind whatever the pool
            # runs (a partial, a stale guess) — not give up and wait out the long elder pause
            self._start_spec(speech_end)
        spec = self._spec
        assert spec is not None
        try:
            transcript = await asyncio.shield(spec)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if spec.cancelled() and not (task is not None and task.cancelling()):
                return True  # dropped (the utterance closed)
            raise
        except VoiceError:
            return not elder
        reading = await self.gateway.reading(session, transcript.text)
        return self._decide(reading, transcript.text) if elder and self._elder else reading != "unfinished"

    def _decide(self, reading: Reading, text: str) -> bool:
        """Elder mode: words that read as a whole request end the turn at this short pause unless the
        model is all but sure more is coming (``turn_elder_words_threshold``); words that read as
        unfinished (我想交……, 给189……) keep listening through a pause of up to
        ``turn_elder_unfinished_silence_ms``; words in between end it when the model says so
        (``turn_threshold``), else the elder fixed pause does — except words that ask nothing (老捏人乘车, a
        misheard first half): the model's "complete" ends those at a pause of ``turn_elder_unsure_silence_ms``."""
        s = self.gateway.settings
        unfinished = reading == "unfinished"
        limit = max(self._silence_ms, s.turn_elder_unfinished_silence_ms) if unfinished else self._silence_ms
        if unfinished:
            ends = False
        elif reading == "complete":
            ends = self._turn_p >= s.turn_elder_words_threshold
        else:
            ends = self._turn_p >= s.turn_threshold
            if ends and not asks(text):
                ends, limit = False, min(limit, s.turn_elder_unsure_silence_ms)
        if self.stream is not None:  # this pause's limit (until speech goes on: _speculate)
            self.stream.endpoint_silence_ms = limit
        return ends

    async def _transcribe(self, audio, partial: bool = False, biased: bool = True) -> Transcript:
        """Biased by the dialogue state and corrected (``VoiceGateway.transcribe``) when the text may be
        the final one; a plain decode for a partial shown while the person is still speaking."""
        if biased:
            transcript = await self.gateway.transcribe(self.conn.session, audio, self.whisper_lang)
        else:
            transcript = await self.gateway.pool.transcribe(audio, lang=self.whisper_lang)
        if partial and transcript.text and not self.closed:  # finish() sends the final one after this
            await self.conn.send(TranscriptPartial(text=transcript.text))
        return transcript

    async def _send_partial(self) -> None:
        try:
            stream = self.stream
            if stream is None:
                return
            await self._transcribe(await self._in_thread(stream.pcm), partial=True, biased=False)
        except (VoiceError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("partial transcript failed")
        finally:
            self._partial = None

    async def finish(self) -> None:
        """The end of speech: final transcript, then the same turn loop as typed text."""
        partial = self._partial
        self._stop_background()
        if partial is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await partial
        try:
            if self._pump is not None:  # frames sent before audio.end are still being decoded
                await asyncio.shield(self._pump)  # a cancelled turn must not cut a decode in half
            if self.closed:
                return  # the client left before this turn's turn came: nobody to answer
            if self._error is not None:
                raise self._error
            assert self.stream is not None
            started = time.perf_counter()
            audio, speech_end = await self._in_thread(self._finish_stream)
            if self.closed:
                return
            transcript = None
            spec, self._spec = self._spec, None
            if spec is not None and _same_pause(speech_end, self._spec_end):  # nothing said since that pause
                self._stt = spec
                with contextlib.suppress(VoiceError):  # e.g. stt-busy: transcribe afresh below
                    transcript = await self._await_stt()
                if self.closed:
                    return
            elif spec is not None:
                spec.cancel()
            if transcript is None:
                self._stt = asyncio.create_task(self._transcribe(audio))
                transcript = await self._await_stt()
                if transcript is None:
                    return  # close() dropped the transcription: the client is gone
            stt_ms = round((time.perf_counter() - started) * 1000, 2)
        except VoiceError as exc:
            await self.conn.send(ErrorEvent(code=exc.code, message=exc.message, retryable=exc.retryable))
            return
        finally:
            self._stt = None
            self._over = self._stopped = True
            self._release()
            self.gateway._forget(self)
        if self.closed:
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

    def _finish_stream(self) -> tuple:
        assert self.stream is not None
        audio = self.stream.finish()
        return audio, self.stream.speech_end(force=True)

    async def _await_stt(self) -> Transcript | None:
        """The transcription in ``self._stt``; None when close() dropped it (the client left)."""
        assert self._stt is not None
        try:
            return await self._stt
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self.closed and not (task is not None and task.cancelling()):
                return None
            raise

    def close(self) -> None:
        """Drop the utterance (``cancel``, the client left): stop decoding and transcribing, free the audio."""
        self.ended = self.closed = self._stopped = True
        self._pending = bytearray()
        self._stop_background()
        for task in (self._stt, self._spec):
            if task is not None:
                task.cancel()  # a queued transcription is dropped; a running one is thrown away
        self._release()
        self.gateway._forget(self)

    # -- internals --------------------------------------------------------------------------------
    async def _watch(self) -> None:
        """End the utterance with ``audio-timeout`` when frames stop coming or audio.end never does."""
        s = self.gateway.settings
        while not self.ended:
            deadlines = []
            if s.audio_idle_timeout_s > 0:
                deadlines.append(self._last_frame + s.audio_idle_timeout_s)
            if s.audio_max_open_s > 0:
                deadlines.append(self._started + s.audio_max_open_s)
            wait = min(deadlines) - time.monotonic()
            if wait <= 0:
                self._watchdog = None  # _end_now must not cancel the task running it
                idle = time.monotonic() - self._last_frame
                self._fail(VoiceError("audio-timeout", f"No audio.end within {s.audio_max_open_s:g} s of audio.start."
                                      if idle < s.audio_idle_timeout_s or s.audio_idle_timeout_s <= 0
                                      else f"No audio frame for {s.audio_idle_timeout_s:g} s."))
                await self._end_now()
                return
            await asyncio.sleep(wait)

    async def _end_now(self) -> None:
        """The server ends the utterance on an error: report it in turn order (``finish`` sends it)."""
        self._stopped = True
        if self.ended:  # audio.end came first: its finish reports the error
            return
        self.ended = True
        self._release()
        await self.conn.end_audio_turn(self)

    def _fail(self, exc: VoiceError) -> None:
        if self._error is None:  # the first failure is the one reported
            self._error = exc
        self._release()

    def _stop_background(self) -> None:
        for task in (self._watchdog, self._partial):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self._watchdog = None

    async def _in_thread(self, fn, *args):
        """Run a stream call in a worker thread; the stream is freed only when none is in flight."""
        self._threads += 1
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            self._threads -= 1
            self._release()

    def _release(self) -> None:
        """Free the audio (bytes, samples, decoder thread) once no worker thread uses the stream."""
        if self.stream is not None and self._threads == 0 and (self._error is not None or self.closed
                                                                  or self._over or self.stream.closed):
            self.stream.close()
            self.stream = None


def _same_pause(speech_end: int, spec_end: int) -> bool:
    """Speech ends where it did (give or take 0.1 s: the energy threshold adapts as silence comes in;
    anything said after a pause moves the end by more than the pause)."""
    return spec_end >= 0 and abs(speech_end - spec_end) <= TARGET_RATE // 10


def _retrieve(task: asyncio.Task) -> None:
    """A speculative transcription may fail or be dropped unseen; its outcome is not an error to log."""
    if not task.cancelled():
        task.exception()
