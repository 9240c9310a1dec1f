"""Audio decoding: client bytes -> mono float32 samples at 16 kHz, what Whisper and Silero expect.

Formats are the protocol's ``audio.start`` formats:

* ``pcm16``: raw signed 16-bit little-endian mono at ``sample_rate`` (default 16000);
* ``wav``: RIFF/WAVE, any rate, mono or stereo (16-bit PCM and what else FFmpeg reads);
* ``webm`` / ``ogg``: what browsers' MediaRecorder produces (Opus, sometimes Vorbis).

Containers are read with PyAV (FFmpeg, installed with faster-whisper); every path resamples with
FFmpeg's libswresample through :class:`Resampler`, so all formats get the same filter.
"""

from __future__ import annotations

import io
import threading

import numpy as np

from voice.errors import VoiceError

TARGET_RATE = 16_000
FORMATS = ("pcm16", "wav", "webm", "ogg")
CONTAINER_FORMATS = ("wav", "webm", "ogg")
MIN_RATE, MAX_RATE = 8_000, 192_000
# demuxer hints: MediaRecorder's WebM is read by FFmpeg's Matroska demuxer
_DEMUXER = {"wav": "wav", "webm": "matroska", "ogg": "ogg"}
# what a probe may find when the label was wrong (e.g. Ogg labelled webm); anything else is refused
_KNOWN_CONTAINERS = ("wav", "matroska", "ogg")


def _av():
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av comes with faster-whisper
        raise VoiceError(
            "stt-unavailable", "Audio decoding needs PyAV: pip install 'lui[voice]' (faster-whisper, av)."
        ) from exc
    return av


def check_format(fmt: str, sample_rate: int | None = None) -> tuple[str, int | None]:
    """Normalise and validate a format name and (for pcm16) a sample rate."""
    fmt = (fmt or "").strip().lower()
    if fmt not in FORMATS:
        raise VoiceError("audio-undecodable", f"Unsupported audio format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if fmt == "pcm16":
        sample_rate = TARGET_RATE if sample_rate is None else int(sample_rate)
        if not MIN_RATE <= sample_rate <= MAX_RATE:
            raise VoiceError(
                "audio-undecodable", f"Unsupported pcm16 sample_rate {sample_rate}; use {MIN_RATE}..{MAX_RATE} Hz."
            )
    return fmt, sample_rate


class Resampler:
    """Streaming resampler to mono float32 at 16 kHz (libswresample; keeps filter state between calls).

    ``push`` takes int16 or float32 samples, 1-D (mono) or shaped (channels, n); ``flush`` returns the
    few samples still held in the filter at the end. Same-rate mono float input passes through.
    """

    def __init__(self, rate: int, channels: int = 1):
        self.rate = int(rate)
        self.channels = int(channels)
        self._passthrough = self.rate == TARGET_RATE and self.channels == 1
        self._resampler = None
        if not self._passthrough:
            self._resampler = _av().AudioResampler(format="flt", layout="mono", rate=TARGET_RATE)

    def push(self, samples: np.ndarray) -> np.ndarray:
        if samples.size == 0:
            return np.zeros(0, dtype=np.float32)
        if self._passthrough:
            return _to_float(samples).reshape(-1)
        planar = samples.reshape(self.channels, -1) if samples.ndim == 1 else samples
        if samples.ndim == 1 and self.channels > 1:  # interleaved L R L R ...
            planar = samples.reshape(-1, self.channels).T
        layout = "mono" if self.channels == 1 else "stereo"
        if self.channels > 2:  # rare: mix down here, libswresample gets mono
            planar, layout = _to_float(planar).mean(axis=0, keepdims=True), "mono"
        fmt = "s16p" if planar.dtype == np.int16 else "fltp"
        planar = np.ascontiguousarray(planar if fmt == "s16p" else _to_float(planar))
        frame = _av().AudioFrame.from_ndarray(planar, format=fmt, layout=layout)
        frame.sample_rate = self.rate
        return self._collect(self._resampler.resample(frame))

    def push_frame(self, frame) -> np.ndarray:
        """Resample a decoded PyAV frame (any format, layout, rate)."""
        if self._resampler is None:
            self._resampler = _av().AudioResampler(format="flt", layout="mono", rate=TARGET_RATE)
        return self._collect(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        return self._collect(self._resampler.resample(None))

    @staticmethod
    def _collect(frames) -> np.ndarray:
        parts = [f.to_ndarray().reshape(-1) for f in frames]
        return np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)


class SampleBuffer:
    """float32 samples that only grow: amortised O(1) append, O(1) view of everything so far.

    Views stay valid while the buffer grows (it reallocates into a new array; written samples never
    change), so one thread may append while another reads a view.
    """

    def __init__(self, capacity: int = TARGET_RATE):
        self._data = np.zeros(capacity, dtype=np.float32)
        self._n = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._n

    def append(self, samples: np.ndarray) -> None:
        k = len(samples)
        if k == 0:
            return
        with self._lock:
            if self._n + k > len(self._data):
                grown = np.zeros(max(2 * len(self._data), self._n + k), dtype=np.float32)
                grown[: self._n] = self._data[: self._n]
                self._data = grown
            self._data[self._n : self._n + k] = samples
            self._n += k

    def view(self) -> np.ndarray:
        with self._lock:
            return self._data[: self._n]


def _to_float(samples: np.ndarray) -> np.ndarray:
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    return samples.astype(np.float32, copy=False)


def pcm16_to_float(data: bytes, sample_rate: int = TARGET_RATE) -> np.ndarray:
    """Raw little-endian int16 mono at ``sample_rate`` -> float32 mono 16 kHz."""
    if len(data) % 2:
        raise VoiceError("audio-undecodable", "pcm16 audio must have an even number of bytes.")
    samples = np.frombuffer(data, dtype="<i2")
    resampler = Resampler(sample_rate)
    out = resampler.push(samples)
    return np.concatenate([out, resampler.flush()])


def decode_container(
    data: bytes, fmt: str, *, partial: bool = False, max_seconds: float | None = None
) -> np.ndarray:
    """Decode a WAV/WebM/Ogg byte string with PyAV -> float32 mono 16 kHz.

    A truncated or damaged tail is tolerated: whatever decoded before it is returned. If nothing
    decodes, ``audio-undecodable`` is raised, unless ``partial`` (a stream still arriving), which
    returns an empty array instead. Decoding stops with ``audio-too-long`` past ``max_seconds``
    (a few kilobytes of Opus silence can hold hours of samples).
    """
    av = _av()
    limit = None if max_seconds is None else int(max_seconds * TARGET_RATE)
    error: Exception | None = None
    for demuxer in (_DEMUXER[fmt], None):  # the client's label first, then let FFmpeg probe
        parts: list[np.ndarray] = []
        resampler, total, error = Resampler(TARGET_RATE), 0, None
        try:
            with av.open(io.BytesIO(data), mode="r", format=demuxer) as container:
                if container.format.name.split(",")[0] not in _KNOWN_CONTAINERS:
                    raise VoiceError("audio-undecodable", f"Not {fmt} audio (looks like {container.format.name}).")
                if not container.streams.audio:
                    raise VoiceError("audio-undecodable", "The container has no audio stream.")
                try:
                    for frame in container.decode(container.streams.audio[0]):
                        parts.append(resampler.push_frame(frame))
                        total += len(parts[-1])
                        if limit is not None and total > limit:
                            break
                except (av.FFmpegError, EOFError, MemoryError, OverflowError, ValueError) as exc:  # damaged tail
                    error = exc
        except (av.FFmpegError, EOFError, ValueError, OSError, MemoryError, OverflowError, VoiceError) as exc:
            # MemoryError / OverflowError: absurd header values (a sample rate >= 2**31, ...)
            error = exc
        if limit is not None and total > limit:
            raise VoiceError("audio-too-long", f"The audio is over the {max_seconds:g} second limit.")
        if parts:
            parts.append(resampler.flush())
            return np.concatenate(parts)
    if partial:
        return np.zeros(0, dtype=np.float32)
    if isinstance(error, VoiceError):
        message = error.message
    else:
        reason = getattr(error, "strerror", None) or (str(error) if error else "no audio frames")
        message = f"Could not decode {fmt} audio: {reason}."
    raise VoiceError("audio-undecodable", message)


def decode_audio(
    data: bytes, fmt: str, sample_rate: int | None = None, *, max_seconds: float | None = None
) -> np.ndarray:
    """Decode one utterance's bytes to float32 mono samples at 16 kHz.

    Raises ``VoiceError("audio-undecodable")`` for empty, broken or unsupported input, and
    ``audio-too-long`` past ``max_seconds`` (checked while decoding, before memory is spent).
    """
    fmt, sample_rate = check_format(fmt, sample_rate)
    if not data:
        raise VoiceError("audio-undecodable", "The audio is empty.")
    if fmt == "pcm16":
        seconds = len(data) / 2 / (sample_rate or TARGET_RATE)
        if max_seconds is not None and seconds > max_seconds:
            raise VoiceError("audio-too-long", f"The audio is over the {max_seconds:g} second limit.")
        audio = pcm16_to_float(bytes(data), sample_rate or TARGET_RATE)
    else:
        audio = decode_container(bytes(data), fmt, max_seconds=max_seconds)
    if audio.size == 0:
        raise VoiceError("audio-undecodable", "The audio holds no samples.")
    if not np.all(np.isfinite(audio)):
        raise VoiceError("audio-undecodable", "The audio holds invalid samples.")
    return np.clip(audio, -1.0, 1.0, out=audio)


def duration_ms(audio: np.ndarray) -> int:
    """Length of 16 kHz samples in milliseconds."""
    return int(round(len(audio) * 1000 / TARGET_RATE))
