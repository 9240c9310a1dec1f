"""Spoken replies on the websocket: ``reply.audio.start``, binary frames, ``reply.audio.end``.

A session that sent ``session.start`` with ``speech: true`` hears every ``reply``: the text is cut
into pieces (sentences; the first piece only its first few words, ``tts_first_piece_units``:
:func:`voice.tts.speakable_pieces`), each piece is synthesised in the ``tts`` pool and sent as soon as
it is ready (the silence the synthesizer leaves after it cut short), so the first words play while
the rest is made. One reply speaks at a time per connection: a ``cancel``, new speech
(``audio.start``), a new text or a confirmation stops it (barge-in), and the stopped reply ends
with ``reply.audio.end`` ``interrupted: true``. A synthesis failure ends it with ``error``; the text
reply stands, so a turn still ends with exactly one ``reply``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable

import numpy as np
from pydantic import BaseModel

from assistant.errors import LuiError
from assistant.pools import BoundedPool
from assistant.protocol import Reply, ReplyAudioEnd, ReplyAudioStart
from assistant.replies import MESSAGES
from assistant.settings import Settings
from voice.tts import (
    PhraseCache,
    Synthesizer,
    Voices,
    make_synthesizer,
    reply_openings,
    speakable_pieces,
    spoken_units,
    text_lang,
    to_pcm16,
    trim_trailing_silence,
)

log = logging.getLogger(__name__)
FRAME_S = 0.25  # audio per binary frame
FAILING_AFTER = 3  # syntheses failed in a row before /readyz calls spoken replies down
SHORT_PIECE_UNITS = 4  # pieces this short (好的。, 五百元。) are kept in the cache too
WARM_UP_NICE = 10  # the warm-up thread runs this much nicer (Linux: per thread): the turns come first


def lower_thread_priority(nice: int) -> bool:
    """Make the calling thread ``nice`` more than it is (at most 19; Linux applies it to the thread alone, so
    a server started under ``nice`` still ranks it below its own work); False where it cannot."""
    try:
        me = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + nice))
        return True
    except (AttributeError, OSError):  # no per-thread priority here (not Linux), or not allowed
        return False


class SpeechGateway:
    """One per process: the synthesizer and its bounded pool."""

    def __init__(self, settings: Settings, synthesizer: Synthesizer, pool: BoundedPool | None = None):
        self.settings = settings
        self.synthesizer = synthesizer
        self.pool = pool or BoundedPool("tts", settings.tts_workers)
        self.voices = Voices(settings.tts_voice_zh, settings.tts_voice_en, settings.tts_speed,
                             settings.tts_elder_speed)
        self.failed_in_a_row = 0  # syntheses; a success resets it
        self.last_error: str | None = None
        # the fixed phrases replies open with: a first piece on its own, its audio kept in the cache
        self.openings = reply_openings(t for texts in MESSAGES.values() for t in texts)
        self.cache = PhraseCache(settings.tts_cache_entries)
        self._cacheable = set(self.openings)
        self._warm: threading.Thread | None = None
        self._closing = threading.Event()

    def health(self) -> str:
        """For /readyz: "ok" (the model is loaded and the last syntheses worked) or "down (<code>)"
        after ``FAILING_AFTER`` failures in a row."""
        if self.failed_in_a_row >= FAILING_AFTER:
            return f"down ({self.last_error})"
        return "ok"

    def outcome(self, error: str | None) -> None:
        """Count one synthesis (None: it worked)."""
        self.failed_in_a_row = 0 if error is None else self.failed_in_a_row + 1
        if error is not None:
            self.last_error = error

    @classmethod
    def create(cls, settings: Settings) -> SpeechGateway | None:
        """The gateway, or None (spoken replies off) when ``LUI_TTS=off`` or the model is not set up."""
        try:
            synthesizer = make_synthesizer(settings)
        except LuiError as exc:
            log.warning("spoken replies unavailable: %s", exc.message)
            return None
        if synthesizer is None:
            return None
        speakable_pieces("预热分词用的词典", first_units=2)  # jieba's dictionary, at start-up
        return cls(settings, synthesizer)  # the app warms it up once it serves (start_warm_up)

    def start_warm_up(self, budget_s: float) -> threading.Thread | None:
        """Warm up (:meth:`warm_up`) in a background thread at low OS priority (``WARM_UP_NICE``): the
        server answers meanwhile. None when ``budget_s`` is 0 or a warm-up already runs."""
        if budget_s <= 0 or (self._warm is not None and self._warm.is_alive()):
            return None

        def run() -> None:
            lower_thread_priority(WARM_UP_NICE)
            self.warm_up(budget_s)

        self._warm = threading.Thread(target=run, name="lui-tts-warm-up", daemon=True)
        self._warm.start()
        return self._warm

    def warm_up(self, budget_s: float) -> int:
        """(blocking) Synthesise the Mandarin reply openings at the elder speed into the cache (the first
        run of the model is slower too), for up to ``budget_s`` seconds of synthesis; how many. Phrases
        already cached are skipped; it waits while replies are being synthesised (the ``tts`` pool is busy)
        and stops when the gateway closes."""
        spent, done = 0.0, 0
        voice, speed = self.voices.pick("好的", elder=True)
        # Kokoro: its own one-thread copy, so no onnxruntime worker of the replies' model works at full priority
        background = getattr(self.synthesizer, "background", None)
        synthesizer = background() if background is not None else self.synthesizer
        for phrase in self.openings:
            if spent >= budget_s or self._closing.is_set():
                break
            if text_lang(phrase) != "zh" or self.cache.get(phrase, voice, speed) is not None:
                continue
            while (load := self.pool.load()).busy + load.waiting and not self._closing.wait(0.05):
                pass  # a reply is being spoken: it goes first
            started = time.monotonic()
            try:
                self.cache.put(phrase, voice, speed, self._trimmed(phrase, voice, speed, synthesizer))
            except Exception:  # the first reply reports a broken synthesizer; the server goes on
                log.warning("speech warm-up failed", exc_info=True)
                break
            spent += time.monotonic() - started
            done += 1
        log.info("spoken replies: %d opening phrases synthesised in %.1f s", done, spent)
        return done

    def pieces(self, text: str) -> list[str]:
        return speakable_pieces(text, self.settings.tts_max_chars, self.settings.tts_first_piece_units,
                                self.openings)

    async def synth(self, piece: str, voice: str, speed: float) -> tuple[np.ndarray, int]:
        """One piece's audio, its trailing silence cut short: from the cache (an opening or a short
        piece said before), else synthesised in the pool."""
        cached = self.cache.get(piece, voice, speed)
        if cached is not None:
            return cached
        audio = await self.pool.run(self._trimmed, piece, voice, speed)
        if piece in self._cacheable or spoken_units(piece) <= SHORT_PIECE_UNITS:
            self.cache.put(piece, voice, speed, audio)
        return audio

    def _trimmed(self, piece: str, voice: str, speed: float,
                 synthesizer: Synthesizer | None = None) -> tuple[np.ndarray, int]:
        samples, rate = (synthesizer or self.synthesizer).synth(piece, voice, speed)
        return trim_trailing_silence(samples, rate), rate

    def close(self) -> None:
        self._closing.set()  # a warm-up still running stops after its phrase
        self.pool.close()


class Speaker:
    """The spoken replies of one connection, one at a time."""

    def __init__(self, gateway: SpeechGateway, send: Callable[[BaseModel], Awaitable[None]],
                 send_bytes: Callable[[bytes], Awaitable[None]]):
        self.gateway = gateway
        self._send, self._send_bytes = send, send_bytes
        self._task: asyncio.Task | None = None

    @property
    def speaking(self) -> bool:
        return self._task is not None and not self._task.done()

    def say(self, reply: Reply, elder: bool) -> None:
        """Speak ``reply`` (stopping whatever this connection was saying)."""
        self.stop()
        if not self.gateway.pieces(reply.text):
            return
        self._task = asyncio.create_task(self._speak(reply.text, reply.id or uuid.uuid4().hex[:12], elder))

    def stop(self) -> None:
        """Barge-in: the reply being spoken stops now (it ends with ``interrupted``)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    async def _speak(self, text: str, audio_id: str, elder: bool) -> None:
        gateway = self.gateway
        voice, speed = gateway.voices.pick(text, elder)
        started, sent_ms, error = False, 0.0, None
        try:
            for piece in gateway.pieces(text):
                samples, rate = await gateway.synth(piece, voice, speed)
                gateway.outcome(None)
                if not started:
                    await self._send(ReplyAudioStart(id=audio_id, sample_rate=rate))
                    started = True
                pcm, step = to_pcm16(samples), 2 * max(1, int(rate * FRAME_S))
                for at in range(0, len(pcm), step):
                    await self._send_bytes(pcm[at : at + step])
                sent_ms += 1000 * len(samples) / rate
        except asyncio.CancelledError:
            if started:  # tell the client to stop playing; then let the cancellation through
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._send(ReplyAudioEnd(id=audio_id, interrupted=True,
                                                                  audio_ms=round(sent_ms))))
            raise
        except LuiError as exc:
            error = exc.code
        except Exception:  # a synthesizer bug must not end the connection
            log.exception("speaking a reply failed")
            error = "tts-failed"
        if error is not None:
            gateway.outcome(error)
        if started or error:
            await self._send(ReplyAudioEnd(id=audio_id, error=error, audio_ms=round(sent_ms)))
