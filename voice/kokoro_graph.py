"""Kokoro's ONNX graph cut in two, so that spoken replies skip the silence around each piece.

Kokoro predicts every phoneme's duration, aligns the text features to 25 ms frames (600 samples at
24 kHz) and hands them, with a pitch (F0) and an energy (N) curve, to its decoder, an iSTFTNet vocoder
that takes ~90% of the time. The model always adds ~0.5 s of silence before the first syllable and
~1 s after the last one, which the replies throw away: a third of a short piece's synthesis.

:func:`split` cuts the graph at the decoder's inputs. The front part (:data:`FRONT_OUTPUTS`) says where
the sound is (the energy curve is ~-9.5 over silence and rises well before the first syllable), and
:func:`speech_frames` keeps those frames plus a margin, so the decoder runs on the speech alone.
Whole, the two parts give the whole model's samples exactly (tested); the frames left out come out
below -90 dB, and Whisper hears the trimmed audio as well as the whole (README, "Talk to it" and stop 25).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# tensor names in kokoro-v1.0.int8.onnx (the decoder's inputs, beside the graph input "style")
ASR = "/encoder/MatMul_1_output_0"  # text features aligned to frames, [1, 512, frames]
F0 = "/encoder/Reshape_output_0"  # pitch curve, [1, 2 * frames]
ENERGY = "/encoder/Reshape_1_output_0"  # energy curve (the model's N), [1, 2 * frames]
FRONT_OUTPUTS = (ASR, F0, ENERGY)
SILENT_BELOW = -8.5  # energy of a frame that is sound (silence measured -9.2 to -9.6)
MARGIN_FRAMES = 4  # 100 ms kept on each side: the decoder's convolutions see past a frame


def split(model: Path) -> tuple[bytes, bytes] | None:
    """(front, back) serialised ONNX models, or None when the graph lacks the tensors (another export)."""
    import onnx
    from onnx.utils import Extractor

    graph = onnx.load(str(model))
    produced = {out for node in graph.graph.node for out in node.output}
    if not set(FRONT_OUTPUTS) <= produced or "style" not in {i.name for i in graph.graph.input}:
        return None
    extractor = Extractor(graph)
    front = extractor.extract_model(["tokens", "style", "speed"], list(FRONT_OUTPUTS))
    back = extractor.extract_model([*FRONT_OUTPUTS, "style"], ["audio"])
    return front.SerializeToString(), back.SerializeToString()


def speech_frames(energy: np.ndarray, *, below: float = SILENT_BELOW, margin: int = MARGIN_FRAMES) -> slice:
    """The frames from the first to the last one with sound, ``margin`` more on each side (all frames
    when none has sound). ``energy`` is the model's N curve, two values a frame."""
    per_frame = energy.reshape(-1)
    frames = len(per_frame) // 2
    loud = np.flatnonzero(per_frame[: frames * 2].reshape(frames, 2).mean(axis=1) > below)
    if loud.size == 0:
        return slice(0, frames)
    return slice(max(0, int(loud[0]) - margin), min(frames, int(loud[-1]) + 1 + margin))


def decoder_inputs(asr: np.ndarray, f0: np.ndarray, energy: np.ndarray, style: np.ndarray,
                   frames: slice) -> dict[str, np.ndarray]:
    """The back part's feed for ``frames`` of the front part's outputs."""
    halves = slice(2 * frames.start, 2 * frames.stop)
    return {ASR: np.ascontiguousarray(asr[..., frames]), F0: np.ascontiguousarray(f0[:, halves]),
            ENERGY: np.ascontiguousarray(energy[:, halves]), "style": style}


def fade_edges(audio: np.ndarray, samples: int = 120) -> np.ndarray:
    """A 5 ms fade in and out (at 24 kHz): a cut through near-silence never clicks."""
    n = min(samples, len(audio) // 2)
    if n == 0:
        return audio
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    out = audio.astype(np.float32, copy=True)
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return out
