"""Test speech: espeak-ng → WAV, and conversions to what clients send (PCM16, WebM/Ogg Opus).

sox runs without dither (``-D``), so the same text always gives the same samples (dither adds fresh
random noise to every conversion, and models read the silence around the words too).

For tests, evals and benchmarks only (espeak-ng, sox and ffmpeg are Debian packages installed by
``scripts/setup.sh``). A missing tool raises :class:`MissingTool` naming the install command.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

INSTALL = "apt-get install -y espeak-ng sox ffmpeg"


class MissingTool(RuntimeError):
    pass


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise MissingTool(f"{tool} is required and is not installed: run `{INSTALL}`.")
    return path


def run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


def speak(text: str, out: Path, *, pad_s: float = 0.3, voice: str = "en-us") -> Path:
    """espeak-ng -> WAV (22.05 kHz mono), padded with ``pad_s`` of silence both sides like a real take."""
    raw = out.with_suffix(".raw.wav")
    run(need("espeak-ng"), "-v", voice, "-w", raw, text)
    run(need("sox"), "-D", raw, out, "pad", str(pad_s), str(pad_s))
    raw.unlink()
    return out


def to_opus(src: Path, out: Path, container: str) -> Path:
    """Opus at 48 kHz in WebM or Ogg. WebM goes through a pipe (no seeking), as MediaRecorder writes it."""
    cmd = [need("ffmpeg"), "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), "-ar", "48000", "-ac", "1",
           "-c:a", "libopus", "-b:a", "32k", "-f", container, "pipe:1"]
    out.write_bytes(subprocess.run(cmd, check=True, capture_output=True).stdout)
    return out


def to_pcm16(src: Path, out: Path, rate: int) -> Path:
    """Raw little-endian 16-bit mono PCM at ``rate``."""
    run(need("sox"), "-D", src, "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", "-L", "-t", "raw", out)
    return out


def to_wav(src: Path, out: Path, rate: int, channels: int = 1) -> Path:
    run(need("sox"), "-D", src, "-r", str(rate), "-c", str(channels), "-b", "16", "-e", "signed-integer", out)
    return out


def duration_s(path: Path) -> float:
    return float(subprocess.run([need("sox"), "--i", "-D", str(path)], check=True, capture_output=True,
                                text=True).stdout)


def samples_16k(src: Path) -> np.ndarray:
    """Any audio file sox reads -> float32 mono 16 kHz samples."""
    raw = subprocess.run([need("sox"), "-D", str(src), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", "-L",
                          "-t", "raw", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype=np.float32)


def to_pcm16_bytes(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def write_wav(out: Path, samples: np.ndarray, rate: int) -> Path:
    """float32 mono -> 16-bit PCM WAV."""
    import wave

    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_pcm16_bytes(samples))
    return out
