"""One utterance arriving as binary websocket frames between ``audio.start`` and ``audio.end``.

``AudioStream`` takes the bytes, enforces the size, duration and CPU limits as soon as a frame
crosses them, decodes to 16 kHz as the bytes come (``pcm()``), paces partial transcripts
(``should_emit_partial``) and detects the end of the turn (``end_of_turn``): after a short pause
(``turn_check_ms``, about 250 ms) the end-of-turn model (:class:`voice.turn.SmartTurn`) is asked
once per pause whether the request is complete; it ends the turn if so. Otherwise, or without the
model, a fixed pause (``endpoint_silence_ms``) ends it (``trailing_silence_ms`` / ``should_end``).

Every format is decoded incrementally, so an utterance costs time linear in its bytes whatever
the framing: ``pcm16`` and 16-bit PCM ``wav`` are converted frame by frame (a streaming resampler
keeps its state across frames); WebM/Ogg (and other WAV) go through :class:`voice.decoder.StreamDecoder`,
which keeps FFmpeg's demuxer and decoder state between frames. ``close()`` frees everything
(the utterance timed out, failed or the client left).
"""

from __future__ import annotations

import struct
import time
from typing import TYPE_CHECKING, Literal

import numpy as np

from voice.audio import MAX_RATE, MIN_RATE, TARGET_RATE, Resampler, SampleBuffer, check_format
from voice.decoder import StreamDecoder
from voice.errors import VoiceError

if TYPE_CHECKING:
    from voice.turn import SmartTurn

FRAME = TARGET_RATE // 50  # 20 ms analysis frames for the energy endpointer
# the endpointer looks at the audio again after this much more of it (100 ms), however small the frames
ANALYSIS_STEP = 5 * FRAME
_WAV_HEADER_LIMIT = 64 * 1024  # no "data" chunk within this many bytes: let FFmpeg try instead
MAX_CHANNELS = 8


class AudioStream:
    def __init__(
        self,
        fmt: str,
        sample_rate: int | None = None,
        *,
        max_bytes: int = 4 * 1024 * 1024,
        max_seconds: float = 30.0,
        max_cpu_s: float | None = None,
        partial_every_s: float = 1.0,
        endpoint_silence_ms: int = 800,
        endpointer: Literal["energy", "silero"] = "energy",
        turn: SmartTurn | None = None,
        turn_check_ms: int = 250,
        turn_recheck_ms: int = 0,
        turn_threshold: float = 0.5,
    ):
        self.fmt, self.sample_rate = check_format(fmt, sample_rate)
        self.max_bytes, self.max_seconds, self.max_cpu_s = max_bytes, max_seconds, max_cpu_s
        self.partial_every_s = partial_every_s
        self.endpoint_silence_ms = endpoint_silence_ms
        self.endpointer = endpointer
        self.turn, self.turn_check_ms, self.turn_threshold = turn, turn_check_ms, turn_threshold
        self.turn_recheck_ms = turn_recheck_ms
        self.turn_probabilities: list[float] = []  # what the end-of-turn model said, in order
        self._asked = (-1, 0)  # (speech end, silence ms) when the model was last asked
        self._nbytes = 0
        self._raw = bytearray()  # pcm16 / PCM wav bytes (the WAV header included)
        self._error: VoiceError | None = None
        self._finished: np.ndarray | None = None
        self._closed = False
        self._cpu = 0.0  # CPU seconds spent in feed() and the endpointer, in the callers' threads
        self._samples = SampleBuffer()  # everything decoded so far, float32 mono 16 kHz
        # incremental PCM path (pcm16, wav with 16-bit PCM)
        self._incremental = self.fmt == "pcm16"
        self._channels = 1
        self._data_start = 0 if self._incremental else -1  # wav: offset of the samples once parsed
        self._data_end: int | None = None
        self._consumed = 0  # raw bytes already turned into samples
        self._source_samples = 0
        self._resampler = Resampler(self.sample_rate or TARGET_RATE) if self._incremental else None
        # container path: WebM, Ogg, and WAV that is not 16-bit PCM
        self._decoder: StreamDecoder | None = None
        if self.fmt in ("webm", "ogg"):
            self._start_decoder()
        # partials and endpointing
        self._partial_at_s = 0.0
        self._partial_wall: float | None = None
        self._frames_db: list[float] = []
        self._last_speech_end = -1  # 16 kHz sample index where speech was last heard; -1 = never
        self._analyzed_at = 0  # samples already looked at by the endpointer

    # -- receiving ------------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        return self._nbytes

    @property
    def seconds(self) -> float:
        """Audio received so far (exact for PCM; as decoded so far for containers)."""
        if self._incremental:
            return self._source_samples / float(self.sample_rate or TARGET_RATE)
        return len(self._samples) / TARGET_RATE

    @property
    def cpu_seconds(self) -> float:
        """CPU time this utterance has cost so far: decoding (in any thread) and end-pointing."""
        return self._cpu + (self._decoder.cpu_s if self._decoder is not None else 0.0)

    def feed(self, chunk: bytes) -> None:
        """Add one binary frame. Raises ``audio-too-large`` / ``audio-too-long`` / ``audio-cpu-limit``
        once over a limit, ``audio-undecodable`` for a header no decoder can take."""
        if self._error is not None:
            raise self._error
        if self._finished is not None or self._closed:
            raise VoiceError("audio-undecodable", "Audio arrived after the end of the utterance.")
        started = time.thread_time()
        try:
            self._nbytes += len(chunk)
            if self._nbytes > self.max_bytes:
                self._fail("audio-too-large", f"The audio is over the {self.max_bytes} byte limit.")
            if self._decoder is not None:
                self._feed_decoder(chunk)
            else:
                self._raw += chunk
                if self.fmt == "wav" and self._data_start == -1:  # header not parsed yet
                    self._parse_wav_header()
                if self._incremental and self._data_start >= 0:
                    self._convert_new_samples()
            self._check_duration()
        finally:
            self._cpu += time.thread_time() - started
        if self.max_cpu_s is not None and self.cpu_seconds > self.max_cpu_s:
            self._fail("audio-cpu-limit", f"Decoding this audio took over {self.max_cpu_s:g} s of CPU time.")

    def pcm(self) -> np.ndarray:
        """Everything received so far as float32 mono 16 kHz (a read-only view while receiving)."""
        if self._finished is not None:
            return self._finished
        return self._samples.view()

    def finish(self) -> np.ndarray:
        """The end of the utterance: the complete 16 kHz audio. Raises ``audio-undecodable`` if none."""
        if self._error is not None:
            raise self._error
        if self._finished is None:
            if self._closed:
                raise VoiceError("audio-undecodable", "The utterance was abandoned.")
            try:
                if self._decoder is None and not self._incremental and self._raw:
                    self._start_decoder()  # a WAV whose header never completed: FFmpeg decides
                if self._decoder is not None:
                    audio = self._decoder.finish()
                else:  # pcm16 / PCM wav: limits were checked exactly as the bytes came
                    if self._resampler is not None:
                        self._samples.append(self._resampler.flush())
                    audio = self._samples.view()
                if audio.size == 0:
                    raise VoiceError("audio-undecodable", "No audio was received." if not self._nbytes
                                     else "The audio holds no samples.")
            except VoiceError as exc:
                self._error = exc
                self.close()
                raise
            self._finished = np.clip(audio, -1.0, 1.0)
            self.close()
        return self._finished

    def close(self) -> None:
        """Free the bytes and samples held and stop decoding (idempotent). ``finish`` keeps its result."""
        self._closed = True
        if self._decoder is not None:
            self._decoder.close()
        self._raw = bytearray()
        self._samples = SampleBuffer(0)
        self._resampler = None

    @property
    def closed(self) -> bool:
        return self._closed

    # -- partials and endpointing ---------------------------------------------------------------
    def should_emit_partial(self, now: float) -> bool:
        """True (and remembered) when ``partial_every_s`` of new audio arrived since the last partial,
        at least that much wall time (``now``, e.g. ``time.monotonic()``) has passed, and speech started.
        ``partial_every_s`` 0: never."""
        if self._finished is not None or not self.partial_every_s:
            return False
        if self.seconds - self._partial_at_s < self.partial_every_s:
            return False
        if self._partial_wall is not None and now - self._partial_wall < self.partial_every_s:
            return False
        if not self.speech_started():
            return False
        self._partial_at_s, self._partial_wall = self.seconds, now
        return True

    def speech_started(self) -> bool:
        self._analyze()
        return self._last_speech_end >= 0

    def trailing_silence_ms(self) -> int:
        """Milliseconds of non-speech at the end of the audio (all of it if no speech yet)."""
        total = self._analyze()
        end = max(self._last_speech_end, 0)
        return int((total - end) * 1000 / TARGET_RATE)

    def should_end(self, silence_ms: int | None = None) -> bool:
        """Speech was heard and has been followed by ``silence_ms`` (default 800 ms) of silence."""
        limit = self.endpoint_silence_ms if silence_ms is None else silence_ms
        return self.speech_started() and self.trailing_silence_ms() >= limit

    def end_of_turn(self) -> Literal["complete", "silence"] | None:
        """Is the turn over? ``"complete"``: a pause of ``turn_check_ms`` and the end-of-turn model
        says the request is finished (asked again every ``turn_recheck_ms`` of the same pause, 0 = once);
        ``"silence"``: a pause of ``endpoint_silence_ms`` (the fallback, and the upper limit while the
        model says "not finished"); None: keep listening."""
        if not self.speech_started():
            return None
        silence = self.trailing_silence_ms()
        if silence >= self.endpoint_silence_ms:
            return "silence"
        if self.turn is None or silence < self.turn_check_ms:
            return None
        end, asked_ms = self._asked
        if end == self._last_speech_end and (not self.turn_recheck_ms or silence - asked_ms < self.turn_recheck_ms):
            return None
        self._asked = (self._last_speech_end, silence)
        probability = self.turn.complete_probability(self.pcm())
        self.turn_probabilities.append(probability)
        return "complete" if probability >= self.turn_threshold else None

    def speech_end(self, force: bool = False) -> int:
        """The 16 kHz sample index where speech was last heard (-1: none); ``force``: from every sample
        so far (else the analysis may lag by up to 100 ms of audio, like ``trailing_silence_ms``)."""
        self._analyze(force=force)
        return self._last_speech_end

    def _analyze(self, force: bool = False) -> int:
        """Bring the speech/non-speech state up to date; return the number of 16 kHz samples."""
        audio = self.pcm()
        if len(audio) - self._analyzed_at < (1 if force else ANALYSIS_STEP):  # re-analysed every 100 ms of new audio, not per call
            return len(audio)
        self._analyzed_at = len(audio)
        started = time.thread_time()
        try:
            return self._analyze_new(audio)
        finally:
            self._cpu += time.thread_time() - started

    def _analyze_new(self, audio: np.ndarray) -> int:
        if self.endpointer == "silero":
            return self._analyze_silero(audio)
        done = len(self._frames_db)
        n_frames = len(audio) // FRAME
        if n_frames > done:
            frames = audio[done * FRAME : n_frames * FRAME].reshape(-1, FRAME).astype(np.float64)
            self._frames_db.extend((10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)).tolist())
        if not self._frames_db:
            return len(audio)
        db = np.asarray(self._frames_db)
        floor = _percentile(db, 10)
        threshold = min(max(floor + 12.0, -50.0), -30.0)
        loud = db > threshold
        # speech = at least 3 loud frames (60 ms) in a row; clicks do not count
        run = np.convolve(loud.astype(int), np.ones(3, dtype=int), mode="valid") == 3
        if run.any():
            last = int(np.flatnonzero(run)[-1]) + 3  # frame index just past the last loud run
            self._last_speech_end = last * FRAME
        return len(audio)

    def _analyze_silero(self, audio: np.ndarray, window_s: float = 3.0) -> int:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        start = max(0, len(audio) - int(window_s * TARGET_RATE))
        tail = audio[start:]
        if len(tail) >= 512:
            chunks = get_speech_timestamps(tail, VadOptions(min_silence_duration_ms=100, speech_pad_ms=30))
            if chunks:
                self._last_speech_end = start + int(chunks[-1]["end"])
        return len(audio)

    # -- internals --------------------------------------------------------------------------------
    def _fail(self, code: str, message: str) -> None:
        self._error = VoiceError(code, message)
        raise self._error

    def _check_duration(self, seconds: float | None = None) -> None:
        if (self.seconds if seconds is None else seconds) > self.max_seconds:
            self._fail("audio-too-long", f"The audio is over the {self.max_seconds:g} second limit.")

    def _convert_new_samples(self) -> None:
        end = len(self._raw) if self._data_end is None else min(len(self._raw), self._data_end)
        frame_bytes = 2 * self._channels
        usable = (end - self._data_start - self._consumed) // frame_bytes * frame_bytes
        if usable <= 0:
            return
        begin = self._data_start + self._consumed
        samples = np.frombuffer(bytes(self._raw[begin : begin + usable]), dtype="<i2")
        if self._channels > 1:
            samples = samples.reshape(-1, self._channels).T
        self._samples.append(self._resampler.push(samples))
        self._consumed += usable
        self._source_samples += usable // frame_bytes
        if self.fmt == "pcm16":  # the bytes are not needed once converted (wav keeps its header offsets)
            del self._raw[: self._consumed]
            self._consumed = 0

    def _start_decoder(self) -> None:
        """Decode with FFmpeg from here on (WebM, Ogg, WAV that is not 16-bit PCM)."""
        self._incremental = False
        self._decoder = StreamDecoder(self.fmt, max_seconds=self.max_seconds, max_cpu_s=self.max_cpu_s)
        self._samples = self._decoder.samples
        raw, self._raw = bytes(self._raw), bytearray()
        if raw:
            self._feed_decoder(raw)

    def _feed_decoder(self, chunk: bytes) -> None:
        assert self._decoder is not None
        try:
            self._decoder.feed(chunk)
        except VoiceError as exc:  # no header any decoder knows
            self._error = exc
            raise
        if self._decoder.error is not None:  # a limit crossed while decoding
            self._error = self._decoder.error
            raise self._error

    def _parse_wav_header(self) -> None:
        """Find fmt and data chunks; 16-bit PCM continues incrementally, anything else via FFmpeg."""
        raw = self._raw
        if len(raw) < 12:
            return
        if raw[:4] not in (b"RIFF", b"RF64") or raw[8:12] != b"WAVE":
            self._data_start = -2  # not a RIFF header (an Ogg or WebM labelled wav?): FFmpeg decides
            self._start_decoder()
            return
        pos, fmt = 12, None
        while pos + 8 <= len(raw):
            cid, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
            if cid == b"fmt " and pos + 8 + 16 <= len(raw):
                fmt = struct.unpack("<HHIIHH", raw[pos + 8 : pos + 24])
            elif cid == b"data":
                if fmt is None:
                    break
                tag, channels, rate, _, _, bits = fmt
                if not (MIN_RATE <= rate <= MAX_RATE and 1 <= channels <= MAX_CHANNELS):  # hostile or broken
                    self._fail("audio-undecodable", f"Unsupported WAV header: {rate} Hz, {channels} channels; "
                               f"use {MIN_RATE}..{MAX_RATE} Hz and 1..{MAX_CHANNELS} channels.")
                if tag in (1, 0xFFFE) and bits == 16:
                    self._incremental, self._channels, self.sample_rate = True, channels, rate
                    self._resampler = Resampler(rate, channels)
                    self._data_start = pos + 8
                    if 0 < size < 0xFFFFFFF0:  # streamed WAVs put 0 or 0xFFFFFFFF here
                        self._data_end = pos + 8 + size
                else:
                    self._data_start = -2  # e.g. float or 24-bit: FFmpeg decodes it
                    self._start_decoder()
                return
            pos += 8 + size + (size & 1)
        if len(raw) > _WAV_HEADER_LIMIT:
            self._data_start = -2
            self._start_decoder()


def _percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) by partial sort: ~30x faster on short arrays."""
    pos = q / 100 * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    part = np.partition(values, [lo, hi])
    return float(part[lo] + (part[hi] - part[lo]) * (pos - lo))
