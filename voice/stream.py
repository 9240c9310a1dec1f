"""One utterance arriving as binary websocket frames between ``audio.start`` and ``audio.end``.

``AudioStream`` keeps the bytes, enforces the size and duration limits as soon as a frame crosses
them, decodes to 16 kHz on demand (``pcm()``), paces partial transcripts (``should_emit_partial``)
and detects the end of speech from the tail (``trailing_silence_ms`` / ``should_end``).

``pcm16`` and 16-bit PCM ``wav`` are converted frame by frame (a streaming resampler keeps its
state across frames); WebM/Ogg are re-decoded whole when asked, which tolerates a cut-off last
chunk. The work per call is small (well under a millisecond per frame for PCM, tens of
milliseconds to re-decode 30 s of Opus); a caller may still run it in a thread.
"""

from __future__ import annotations

import struct
from typing import Literal

import numpy as np

from voice.audio import TARGET_RATE, Resampler, check_format, decode_container
from voice.errors import VoiceError

FRAME = TARGET_RATE // 50  # 20 ms analysis frames for the energy endpointer
_WAV_HEADER_LIMIT = 64 * 1024  # no "data" chunk within this many bytes: let FFmpeg try instead


class AudioStream:
    def __init__(
        self,
        fmt: str,
        sample_rate: int | None = None,
        *,
        max_bytes: int = 4 * 1024 * 1024,
        max_seconds: float = 30.0,
        partial_every_s: float = 1.0,
        endpoint_silence_ms: int = 800,
        endpointer: Literal["energy", "silero"] = "energy",
        container_check_bytes: int = 8 * 1024,
    ):
        self.fmt, self.sample_rate = check_format(fmt, sample_rate)
        self.max_bytes, self.max_seconds = max_bytes, max_seconds
        self.partial_every_s = partial_every_s
        self.endpoint_silence_ms = endpoint_silence_ms
        self.endpointer = endpointer
        self.container_check_bytes = container_check_bytes
        self._raw = bytearray()  # every byte received (kept for containers and for a final re-decode)
        self._error: VoiceError | None = None
        self._finished: np.ndarray | None = None
        # incremental PCM path (pcm16, wav with 16-bit PCM)
        self._incremental = self.fmt == "pcm16"
        self._channels = 1
        self._data_start = 0 if self._incremental else -1  # wav: offset of the samples once parsed
        self._data_end: int | None = None
        self._consumed = 0  # raw bytes already turned into samples
        self._source_samples = 0
        self._resampler = Resampler(self.sample_rate or TARGET_RATE) if self._incremental else None
        self._parts: list[np.ndarray] = []
        # container path
        self._decoded = np.zeros(0, dtype=np.float32)
        self._decoded_at = 0
        # partials and endpointing
        self._partial_at_s = 0.0
        self._partial_wall: float | None = None
        self._frames_db: list[float] = []
        self._last_speech_end = -1  # 16 kHz sample index where speech was last heard; -1 = never

    # -- receiving ------------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        return len(self._raw)

    @property
    def seconds(self) -> float:
        """Audio received so far (exact for PCM; as of the last decode for containers)."""
        if self._incremental:
            return self._source_samples / float(self.sample_rate or TARGET_RATE)
        return len(self._decoded) / TARGET_RATE

    def feed(self, chunk: bytes) -> None:
        """Add one binary frame. Raises ``audio-too-large`` / ``audio-too-long`` once over a limit."""
        if self._error is not None:
            raise self._error
        if self._finished is not None:
            raise VoiceError("audio-undecodable", "Audio arrived after the end of the utterance.")
        self._raw += chunk
        if len(self._raw) > self.max_bytes:
            self._fail("audio-too-large", f"The audio is over the {self.max_bytes} byte limit.")
        if self.fmt == "wav" and self._data_start == -1:  # header not parsed yet
            self._parse_wav_header()
        if self._incremental and self._data_start >= 0:
            self._convert_new_samples()
        elif len(self._raw) - self._decoded_at >= self.container_check_bytes:
            self._decode_container()
        self._check_duration()

    def pcm(self) -> np.ndarray:
        """Everything received so far as float32 mono 16 kHz."""
        if self._finished is not None:
            return self._finished
        if self._incremental:
            return np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.float32)
        if len(self._raw) > self._decoded_at:
            self._decode_container()
        return self._decoded

    def finish(self) -> np.ndarray:
        """The end of the utterance: the complete 16 kHz audio. Raises ``audio-undecodable`` if none."""
        if self._error is not None:
            raise self._error
        if self._finished is None:
            try:
                if self._incremental:  # limits were checked exactly as the bytes came
                    tail = self._resampler.flush() if self._resampler is not None else np.zeros(0, np.float32)
                    audio = np.concatenate([*self._parts, tail]) if self._parts else tail
                elif self._raw:
                    audio = decode_container(bytes(self._raw), self.fmt, max_seconds=self.max_seconds)
                else:
                    audio = np.zeros(0, np.float32)
                if audio.size == 0:
                    raise VoiceError("audio-undecodable", "No audio was received." if not self._raw
                                     else "The audio holds no samples.")
            except VoiceError as exc:
                self._error = exc
                raise
            self._finished = np.clip(audio, -1.0, 1.0)
        return self._finished

    # -- partials and endpointing ---------------------------------------------------------------
    def should_emit_partial(self, now: float) -> bool:
        """True (and remembered) when ``partial_every_s`` of new audio arrived since the last partial,
        at least that much wall time (``now``, e.g. ``time.monotonic()``) has passed, and speech started."""
        if self._finished is not None:
            return False
        if not self._incremental:
            self.pcm()  # containers: refresh the decode so that `seconds` is current
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

    def _analyze(self) -> int:
        """Bring the speech/non-speech state up to date; return the number of 16 kHz samples."""
        audio = self.pcm()
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
        floor = float(np.percentile(db, 10))
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
        self._parts.append(self._resampler.push(samples))
        self._consumed += usable
        self._source_samples += usable // frame_bytes

    def _decode_container(self) -> None:
        try:
            self._decoded = decode_container(bytes(self._raw), self.fmt, partial=True, max_seconds=self.max_seconds)
        except VoiceError as exc:  # audio-too-long, found while decoding
            self._error = exc
            raise
        self._decoded_at = len(self._raw)
        self._frames_db.clear()  # a re-decode may differ at the tail: analyse afresh

    def _parse_wav_header(self) -> None:
        """Find fmt and data chunks; 16-bit PCM continues incrementally, anything else via FFmpeg."""
        raw = self._raw
        if len(raw) < 12:
            return
        if raw[:4] not in (b"RIFF", b"RF64") or raw[8:12] != b"WAVE":
            self._data_start = -2  # not a RIFF header: FFmpeg will decide
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
                if tag in (1, 0xFFFE) and bits == 16 and 1 <= channels <= 8 and rate >= 1000:
                    self._incremental, self._channels, self.sample_rate = True, channels, rate
                    self._resampler = Resampler(rate, channels)
                    self._data_start = pos + 8
                    if 0 < size < 0xFFFFFFF0:  # streamed WAVs put 0 or 0xFFFFFFFF here
                        self._data_end = pos + 8 + size
                else:
                    self._data_start = -2  # e.g. float or 24-bit: decode the whole file with FFmpeg
                return
            pos += 8 + size + (size & 1)
        if len(raw) > _WAV_HEADER_LIMIT:
            self._data_start = -2
