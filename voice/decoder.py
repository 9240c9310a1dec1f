"""Incremental decoding of a WebM/Ogg/WAV byte stream that arrives in pieces.

FFmpeg's demuxer and decoder keep their state between frames, so every byte is demuxed and
decoded once: the cost of an utterance is linear in its size whatever the framing (re-decoding the
container from its start on every frame made 1 KB frames cost ~135x one whole-file decode).

PyAV reads from a file-like object; :class:`StreamDecoder` runs that read loop in its own thread
and hands it bytes as they come (``read`` blocks until there are more, or the end). ``feed`` returns
once the thread has taken every byte and waits for more, so after it the decoded samples are as
current as the bytes allow (deterministic, like a synchronous decoder). ``close`` (end of the
utterance, an error, a timeout, the client leaving) ends the thread and frees the buffers.

Limits are checked in the thread after each decoded frame: ``max_seconds`` of audio
(``audio-too-long``) and ``max_cpu_s`` of CPU time spent by the thread (``audio-cpu-limit``).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from voice.audio import TARGET_RATE, Resampler, SampleBuffer, _av
from voice.errors import VoiceError

# the container is recognised by its first bytes, whatever the client's label said
_MAGIC = {b"OggS": "ogg", b"\x1aE\xdf\xa3": "matroska", b"RIFF": "wav", b"RF64": "wav"}
MAGIC_BYTES = 4
_TRIM_AT = 64 * 1024  # drop bytes FFmpeg has read once this many pile up at the front


def sniff(head: bytes, fmt: str) -> str:
    """The FFmpeg demuxer for a stream starting with ``head``; ``audio-undecodable`` if none fits."""
    demuxer = _MAGIC.get(bytes(head[:MAGIC_BYTES]))
    if demuxer is None:
        raise VoiceError("audio-undecodable", f"Not {fmt} audio: no WebM, Ogg or WAV header.")
    return demuxer


class StreamDecoder:
    """Decode a container as it grows -> float32 mono 16 kHz in :attr:`samples`."""

    def __init__(self, fmt: str, *, max_seconds: float | None = None, max_cpu_s: float | None = None):
        self.fmt = fmt
        self.max_samples = None if max_seconds is None else int(max_seconds * TARGET_RATE)
        self.max_seconds, self.max_cpu_s = max_seconds, max_cpu_s
        self.samples = SampleBuffer()
        self.cpu_s = 0.0  # CPU time the decoding thread has used
        self.error: VoiceError | None = None  # a limit was crossed: the utterance fails
        self.tail_error: str | None = None  # FFmpeg stopped on damaged input: what decoded before it counts
        self._cond = threading.Condition()
        self._buf = bytearray()
        self._pos = 0  # next byte of _buf FFmpeg will read
        self._eof = False  # no more bytes will come
        self._closed = False  # stop as soon as possible, results are not wanted
        self._waiting = False  # the thread is blocked in read() with nothing left to read
        self._done = False
        self._thread: threading.Thread | None = None
        self._cpu_start = 0.0

    # -- the feeding side (any one thread at a time) ------------------------------------------
    def feed(self, chunk: bytes) -> None:
        """Hand over bytes; return when the decoder has used all it can (or stopped)."""
        with self._cond:
            if self._eof or self._done:
                return
            self._buf += chunk
            self._waiting = False
            if self._thread is None:
                if len(self._buf) - self._pos < MAGIC_BYTES:
                    return
                demuxer = sniff(self._buf[self._pos : self._pos + MAGIC_BYTES], self.fmt)
                self._thread = threading.Thread(target=self._run, args=(demuxer,), name="lui-audio-decode",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()
            while not (self._done or (self._waiting and self._pos >= len(self._buf))):
                self._cond.wait()

    def finish(self) -> np.ndarray:
        """The end of the stream: wait for the last samples. Raises a crossed limit, or
        ``audio-undecodable`` when nothing decoded."""
        with self._cond:
            self._eof = True
            self._cond.notify_all()
            if self._thread is not None:
                while not self._done:
                    self._cond.wait()
        if self.error is not None:
            raise self.error
        if len(self.samples) == 0:
            reason = self.tail_error or "no audio frames"
            raise VoiceError("audio-undecodable", f"Could not decode {self.fmt} audio: {reason}.")
        return self.samples.view()

    def close(self) -> None:
        """Stop the thread (it ends after the frame in hand) and free the bytes held."""
        with self._cond:
            self._eof = self._closed = True
            self._buf = bytearray()
            self._pos = 0
            self._cond.notify_all()

    @property
    def done(self) -> bool:
        return self._done

    # -- the decoding thread ---------------------------------------------------------------------
    def read(self, size: int) -> bytes:
        """PyAV's read callback: block until bytes arrive; b"" is the end of the stream."""
        with self._cond:
            self.cpu_s = time.thread_time() - self._cpu_start
            while self._pos >= len(self._buf) and not self._eof:
                self._waiting = True
                self._cond.notify_all()
                self._cond.wait()
            self._waiting = False
            if self._closed:
                return b""
            chunk = bytes(self._buf[self._pos : self._pos + size])
            self._pos += len(chunk)
            if self._pos >= _TRIM_AT:
                del self._buf[: self._pos]
                self._pos = 0
            return chunk

    def _run(self, demuxer: str) -> None:
        self._cpu_start = time.thread_time()
        av = _av()
        resampler = Resampler(TARGET_RATE)
        try:
            # tiny probe: the headers say what the stream is; do not wait for seconds of audio first
            with av.open(self, mode="r", format=demuxer, options={"probesize": "32", "analyzeduration": "0"},
                         buffer_size=4096) as container:
                if not container.streams.audio:
                    raise VoiceError("audio-undecodable", "The container has no audio stream.")
                for frame in container.decode(container.streams.audio[0]):
                    if self._closed:
                        return
                    self.samples.append(resampler.push_frame(frame))
                    self._check_limits()
            self.samples.append(resampler.flush())
        except VoiceError as exc:
            if exc.code == "audio-undecodable":
                self.tail_error = exc.message.rstrip(".")
            else:
                self.error = exc
        except Exception as exc:  # damaged or hostile input (FFmpeg errors, absurd header values)
            self.tail_error = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
            try:
                self.samples.append(resampler.flush())
            except Exception:  # noqa: BLE001 - the resampler itself choked: keep what we have
                pass
        finally:
            with self._cond:
                self.cpu_s = time.thread_time() - self._cpu_start
                self._done = True
                self._buf = bytearray()
                self._pos = 0
                self._cond.notify_all()

    def _check_limits(self) -> None:
        if self.max_samples is not None and len(self.samples) > self.max_samples:
            raise VoiceError("audio-too-long", f"The audio is over the {self.max_seconds:g} second limit.")
        self.cpu_s = time.thread_time() - self._cpu_start
        if self.max_cpu_s is not None and self.cpu_s > self.max_cpu_s:
            raise VoiceError("audio-cpu-limit", f"Decoding this audio took over {self.max_cpu_s:g} s of CPU time.")
