"""Whisper's encoder on a window shorter than 30 s (the "audio_ctx" trick).

faster-whisper pads every segment's log-mel features with zero columns up to 3000 frames (30 s,
``pad_or_trim``), so the encoder costs the same for a 3 s request as for a 30 s one. CTranslate2's
``encode`` takes shorter windows, and ``generate`` / ``detect_language`` take the encoder output of any
length. :class:`WindowedWhisperModel` cuts the zero padding down to :func:`encoder_frames` before
encoding: at least ``window_s`` seconds, at least the segment's own content plus a margin, at most
the full 30 s. A segment that fills its 30 s (audio longer than 30 s is cut into such segments) is
encoded as before.

The window is set per call and per thread (``with model.encoder_window(10.0): ...``), so concurrent
transcriptions on one model never see each other's window; outside such a block it is the full 30 s.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from faster_whisper import WhisperModel

from voice.nbest import RerankingWhisper

FRAMES_PER_SECOND = 100  # Whisper's log-mel frames: hop 160 at 16 kHz
FULL_FRAMES = 3000  # 30 s, what faster-whisper pads every segment to
MARGIN_FRAMES = 100  # 1 s of padding kept after the content: Whisper was trained on padded windows


def content_frames(features: np.ndarray) -> int:
    """Frames up to the last column that is not padding (faster-whisper pads with exact 0.0 in every
    mel bin; a real frame's log-mel is never 0.0 in all of them). Over the batch for 3-D features."""
    columns = np.any(features != 0, axis=tuple(range(features.ndim - 1)))
    nonzero = np.flatnonzero(columns)
    return int(nonzero[-1]) + 1 if nonzero.size else 0


def encoder_frames(content: int, window_s: float, *, full: int = FULL_FRAMES, margin: int = MARGIN_FRAMES) -> int:
    """The encoder window in frames for ``content`` frames of audio: max(window_s, content + margin),
    at most ``full``, even (the encoder's first convolution has stride 2)."""
    frames = min(full, max(round(window_s * FRAMES_PER_SECOND), content + margin))
    return min(full, frames + frames % 2)


class WindowedWhisperModel(WhisperModel):
    """A ``WhisperModel`` whose encoder sees :func:`encoder_frames` instead of 30 s (see the module)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._window = threading.local()
        end = self.hf_tokenizer.token_to_id("<|endoftext|>")
        # the beam re-ranked by a domain language model inside model.model.reranking(...) (voice/nbest.py)
        self.model = RerankingWhisper(self.model, lambda ids: self.hf_tokenizer.decode([i for i in ids if i < end]))

    @contextmanager
    def encoder_window(self, window_s: float) -> Iterator[None]:
        """Encode at ``window_s`` (30 = as faster-whisper does) in this thread while the block runs;
        iterate the segments of ``transcribe`` inside the block (they are decoded lazily)."""
        previous = getattr(self._window, "seconds", None)
        self._window.seconds = window_s
        try:
            yield
        finally:
            self._window.seconds = previous

    def window_frames(self, features: np.ndarray) -> int:
        window_s = getattr(self._window, "seconds", None)
        full = features.shape[-1]
        if window_s is None or window_s * FRAMES_PER_SECOND >= full:
            return full
        return encoder_frames(content_frames(features), window_s, full=full)

    def encode(self, features: np.ndarray):
        frames = self.window_frames(features)
        if frames < features.shape[-1]:
            features = np.ascontiguousarray(features[..., :frames])
        return super().encode(features)
