"""Real test audio, synthesised once per session with espeak-ng and converted with sox and ffmpeg.

Nothing is skipped: a missing tool fails the tests with the command that installs it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from voice import synth
from voice.models import resolve_whisper_model
from voice.stt import WhisperSTT

SENTENCE = "pay my electricity bill"


def need(tool: str) -> str:
    try:
        return synth.need(tool)
    except synth.MissingTool as exc:
        pytest.fail(str(exc), pytrace=False)


run, speak, to_opus = synth.run, synth.speak, synth.to_opus


@dataclass(frozen=True)
class Clips:
    dir: Path
    source: Path  # espeak-ng's 22.05 kHz WAV of SENTENCE, padded
    seconds: float  # its duration
    wav: dict[int, Path]  # rate -> mono 16-bit WAV
    wav_stereo_48k: Path
    pcm16: dict[int, Path]  # rate -> raw s16le mono
    webm: Path
    ogg: Path
    silence_wav: Path  # 2 s of digital silence, 16 kHz


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    d = tmp_path_factory.mktemp("voice-audio")
    sox = need("sox")
    source = speak(SENTENCE, d / "source.wav")
    seconds = float(subprocess.run([sox, "--i", "-D", str(source)], check=True, capture_output=True,
                                   text=True).stdout)
    wav, pcm16 = {}, {}
    for rate in (8000, 16000, 22050, 44100, 48000):
        wav[rate] = d / f"clip_{rate}.wav"
        run(sox, "-D", source, "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", wav[rate])
        pcm16[rate] = d / f"clip_{rate}.pcm"
        run(sox, "-D", source, "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", "-L", "-t", "raw", pcm16[rate])
    stereo = d / "clip_48000_stereo.wav"
    run(sox, "-D", source, "-r", "48000", "-c", "2", "-b", "16", stereo)
    silence = d / "silence.wav"
    run(sox, "-n", "-r", "16000", "-c", "1", "-b", "16", silence, "trim", "0", "2.0")
    return Clips(d, source, seconds, wav, stereo, pcm16, to_opus(source, d / "clip.webm", "webm"),
                 to_opus(source, d / "clip.ogg", "ogg"), silence)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def tiny_stt() -> WhisperSTT:
    """The packaged English tiny.en model, loaded once for the session."""
    stt = WhisperSTT(resolve_whisper_model("tiny.en", Path("unused")), compute_type="int8", cpu_threads=2)
    stt.load()
    return stt


@pytest.fixture(scope="session")
def base_model_dir(model_cache: Path) -> Path:
    """The multilingual base model assembled from its two packages into a session cache."""
    return Path(resolve_whisper_model("base", model_cache))


@pytest.fixture(scope="session")
def base_stt(base_model_dir: Path) -> WhisperSTT:
    """The multilingual base model, loaded once (tests using it are marked slow)."""
    stt = WhisperSTT(base_model_dir, compute_type="int8", cpu_threads=2)
    stt.load()
    return stt
