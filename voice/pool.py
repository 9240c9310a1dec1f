"""Run blocking speech-to-text off the event loop, bounded, queued and cancellable.

One pool serves every session of a process. ``workers`` threads run Whisper (each uses the model's
``cpu_threads``: on 2 cores, 1 worker x 2 threads); up to ``max_queue`` further requests wait in
line, and one more is refused with the retryable ``stt-busy`` instead of piling up audio in memory.

Cancelling the awaiting task (client sent ``cancel``, disconnected, or an ``asyncio.wait_for``
timed out) drops a queued job before it runs; a job already running finishes in its thread and
its result is thrown away.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from common.errors import CodedError
from voice.errors import VoiceError
from voice.stt import SpeechToText, Transcript


@dataclass(frozen=True)
class PoolStats:
    workers: int
    max_queue: int
    queued: int  # admitted, waiting for a worker
    running: int
    completed: int
    rejected: int  # refused with stt-busy
    cancelled: int  # dropped before they ran
    discarded: int  # ran to the end after their caller had gone


class _Job:
    __slots__ = ("audio", "lang", "prompt", "hotwords", "domain_lm", "alternatives_within", "cancelled")

    def __init__(self, audio: np.ndarray, lang: str | None, prompt: str | None, hotwords: str | None = None,
                 domain_lm: bool = False, alternatives_within: float = 0.0):
        self.audio, self.lang, self.prompt, self.hotwords, self.domain_lm = audio, lang, prompt, hotwords, domain_lm
        self.alternatives_within = alternatives_within
        self.cancelled = threading.Event()


class TranscriptionPool:
    def __init__(self, stt: SpeechToText, workers: int = 1, max_queue: int = 16):
        if workers < 1 or max_queue < 0:
            raise ValueError("workers must be >= 1 and max_queue >= 0")
        self.stt = stt
        self.workers = workers
        self.max_queue = max_queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lui-stt")
        self._lock = threading.Lock()
        self._queued = self._running = 0
        self._completed = self._rejected = self._cancelled = self._discarded = 0
        self._closed = False

    # -- public --------------------------------------------------------------------------------
    async def transcribe(
        self, audio: np.ndarray, *, lang: str | None = None, prompt: str | None = None,
        hotwords: str | None = None, domain_lm: bool = False, alternatives_within: float = 0.0,
    ) -> Transcript:
        """Transcribe in a worker thread. Raises ``stt-busy`` (retryable) when the queue is full.
        ``domain_lm``: the backend may choose the transcript with its domain language model;
        ``alternatives_within``: its other hypotheses that scored within this of the best, if it has any."""
        with self._lock:
            if self._closed:
                raise VoiceError("stt-unavailable", "The transcription pool is shut down.")
            if self._queued >= self.max_queue + max(0, self.workers - self._running):
                self._rejected += 1
                raise VoiceError(
                    "stt-busy", f"Speech-to-text is busy ({self._running} running, {self._queued} waiting)."
                )
            self._queued += 1
        job = _Job(audio, lang, prompt, hotwords, domain_lm, alternatives_within)
        future = self._executor.submit(self._run, job)
        future.add_done_callback(self._on_done)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            job.cancelled.set()
            future.cancel()  # succeeds only while the job is still queued
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # our caller was cancelled: let it propagate
            raise VoiceError("stt-cancelled", "The transcription pool shut down before this job ran.") from None

    def stats(self) -> PoolStats:
        with self._lock:
            return PoolStats(self.workers, self.max_queue, self._queued, self._running, self._completed,
                             self._rejected, self._cancelled, self._discarded)

    def close(self) -> None:
        """Refuse new work, drop queued jobs; running jobs finish in the background."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def aclose(self) -> None:
        """Like :meth:`close`, then wait (off the loop) for running jobs to finish."""
        self.close()
        await asyncio.to_thread(self._executor.shutdown, wait=True)

    async def __aenter__(self) -> TranscriptionPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- worker side ---------------------------------------------------------------------------
    def _run(self, job: _Job) -> Transcript | None:
        with self._lock:
            self._queued -= 1
            if job.cancelled.is_set():  # cancelled in the instant between dequeue and start
                self._cancelled += 1
                return None
            self._running += 1
        try:
            # backends written against an older interface take no hotwords, and none without a model domain_lm
            options = {"hotwords": job.hotwords} if job.hotwords is not None else {}
            if job.domain_lm and getattr(self.stt, "lm", None) is not None:
                options["domain_lm"] = True
            if job.alternatives_within > 0 and getattr(self.stt, "gives_alternatives", False):
                options["alternatives_within"] = job.alternatives_within
            return self.stt.transcribe(job.audio, lang=job.lang, prompt=job.prompt, **options)
        except CodedError:
            raise
        except Exception as exc:  # a backend bug must not kill the session: report it as a coded error
            raise VoiceError("stt-failed", f"Speech-to-text failed: {type(exc).__name__}: {exc}") from exc
        finally:
            with self._lock:
                self._running -= 1
                if job.cancelled.is_set():
                    self._discarded += 1
                else:
                    self._completed += 1
            job.audio = None  # free the samples as soon as possible

    def _on_done(self, future: Future) -> None:
        if future.cancelled():  # never started: _run did not account for it
            with self._lock:
                self._queued -= 1
                self._cancelled += 1
