"""The Mandarin voice eval's set and scoring (no speech synthesis here: evals.voice_zh's pure parts)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from assistant.nlu.data import Example, load_examples
from evals.voice_report import Record
from evals.voice_zh import VOICES, add_noise, normalise_zh, plan, split_for_pause
from evals.voice_zh_report import score_cer
from tests.conftest import REPO


def test_normalised_cer_ignores_script_numerals_and_punctuation():
    assert normalise_zh("《幫我交電費》，一百二十元！") == normalise_zh("帮我交电费 120元") == "帮我交电费120元"
    rec = Record(0, "帮我交电费，一百块", "pay_bill", {}, 1.0, 100, transcript="幫我交電費100塊。")
    score_cer(rec)
    assert rec.cer_edits == 0 and rec.cer_raw_edits > 0


def test_numerals_agree_however_whisper_writes_them():
    # times, decimals, mixed digits, ordinals and percentages: the same number, the same characters
    for said, heard in (("三点钟", "3点钟"), ("零点五元", "0.5元"), ("一万块", "1万块"), ("第一个", "第1个"),
                        ("百分之十", "10%")):
        assert normalise_zh(said) == normalise_zh(heard), (said, heard)
    assert normalise_zh("三点五") != normalise_zh("3点钟")
    assert normalise_zh("户号 0571-3389") == "户号05713389"  # written digits stay as written
    assert normalise_zh("尾号4520亿") == "尾号4520亿"  # not 452000000000


def test_errors_are_classed_by_what_went_wrong():
    from evals.voice_zh_errors import classify, surface_errors

    kinds = [e.kind for e in classify("取消了燃气费", "一取笑了人气费")]
    assert kinds == ["leading-insertion", "homophone", "near-homophone"]
    assert [e.kind for e in classify("交一百二十块", "交120块")] == []
    assert [e.kind for e in classify("交一百二十块", "交110块")] == ["number"]
    assert [e.kind for e in classify("帮我交电费", "帮交电费了")] == ["deletion", "insertion"]
    assert sorted(e.kind for e in surface_errors("《幫我》")) == ["punctuation", "punctuation", "traditional"]


def test_the_set_is_the_dev_split_spoken_by_many_voices_with_elder_variants():
    dev = load_examples(REPO / "evals" / "data" / "intent_dev.jsonl", strict=False)
    specs = plan(dev, VOICES, ("normal", "slow", "pause", "noise"))
    assert specs == plan(dev, VOICES, ("normal", "slow", "pause", "noise"))  # deterministic
    zh_dev = {ex.text for ex in dev if ex.lang == "zh"}
    assert {s.example.text for s in specs} == zh_dev and len(specs) >= 2 * len(zh_dev)  # every line, twice
    assert len({s.voice for s in specs}) >= 6 and "zf_xiaoni" not in {s.voice for s in specs}
    variants = Counter(s.variant for s in specs)
    assert variants["normal"] == len(zh_dev) and min(variants[v] for v in ("slow", "pause", "noise")) >= 100
    assert all(0.6 <= s.pause_s <= 1.2 for s in specs if s.variant == "pause")
    assert all(10 <= s.snr_db <= 20 for s in specs if s.variant == "noise")


def test_pause_splits_at_a_word_boundary():
    assert split_for_pause("帮我交电费") in (("帮我交", "电费"), ("帮我", "交电费"))
    assert split_for_pause("晚安") is None


def test_noise_is_at_the_asked_snr():
    t = np.arange(16000) / 16000
    speech = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    noisy = add_noise(speech, 15.0, seed=1)
    snr = 10 * np.log10(np.mean(speech ** 2) / np.mean((noisy - speech) ** 2))
    assert abs(snr - 15.0) < 1.0


def test_error_classes_of_an_eval_result(tmp_path, capsys):
    """``--from-json`` tallies an evals.voice result; ``--counts-only`` prints no sentence of it."""
    import json

    from evals.voice_zh_errors import main

    result = tmp_path / "voice-zh.json"
    result.write_text(json.dumps({"utterances": [
        {"text": "取消燃气费", "transcript": "取笑燃气费", "voice": "zf_xiaobei", "variant": "normal"},
        {"text": "帮我交电费", "transcript": None, "voice": "zm_yunxi", "variant": "slow"}]}), encoding="utf-8")
    assert main(["--from-json", str(result), "--counts-only"]) == 0
    out = capsys.readouterr().out
    assert "homophone" in out and "deletion" in out and "取笑" not in out


def test_training_lines_make_their_own_clip_set():
    """Tuning happens on clips of training lines, cached apart from the dev clips (the measure)."""
    from evals.voice import parse_args
    from evals.voice_zh import CACHE, SOURCES, TRAIN_DATA

    args = parse_args(["--lang", "zh", "--source", "train"])
    assert args.data == TRAIN_DATA and args.json_out.name == "voice-zh-train.json"
    assert SOURCES["train"] != CACHE == SOURCES["dev"]
    assert parse_args(["--lang", "zh"]).data.name == "intent_dev.jsonl"


def test_out_of_fold_groups_keep_a_line_and_its_copies_together():
    """evals.voice_zh_intent: a line in two training sources (or differently spaced) is held out at once."""
    from evals.voice_zh_intent import _metrics, fold_of

    assert fold_of("帮我交电费", 5) == fold_of(" 帮我交电费 ", 5) == fold_of("帮我交电费", 5)
    assert fold_of("Pay my water bill", 5) == fold_of("pay my  water bill", 5)
    folds = {fold_of(f"第{i}句", 5) for i in range(200)}
    assert folds == set(range(5))
    gold = {"intent": "pay_bill", "slots": {"bill_type": "gas"}}
    rows = [("交燃气费", gold, "pay_bill", {"bill_type": "gas"}), ("交人气", gold, "out_of_scope", {})]
    assert _metrics(rows) == {"n": 2, "accuracy": 0.5, "slot_f1": round(2 / 3, 4)}


class _SaysOnlyChinese:
    """A text-to-speech fake (the ``synth`` interface of voice.kokoro.Kokoro): nothing to say for kana."""

    def synth(self, text, voice, speed=1.0):
        from voice.errors import VoiceError

        if any("\u3040" <= ch <= "\u30ff" for ch in text):
            raise VoiceError("tts-failed", f"Nothing to say in {text!r}.", retryable=False)
        if "坏" in text:
            raise VoiceError("tts-unavailable", "the model is gone")
        return np.zeros(2400, np.float32) + 0.01, 24000


def test_a_line_kokoro_cannot_speak_is_left_out_and_counted_not_fatal(tmp_path):
    import pytest

    from assistant.nlu.data import Example
    from evals.voice_zh import generate
    from voice.errors import VoiceError

    lines = [Example("帮我交电费", "pay_bill"), Example("ありがとうございます", "translate"),
             Example("查一下余额", "check_balance")]
    specs = plan(lines, VOICES, ("normal",))
    unsayable: list = []
    out = generate(specs, _SaysOnlyChinese(), tmp_path, unsayable)
    assert len(specs) == 3
    assert [s.example.text for s, _, _ in out] == [s.example.text for s in specs if "あ" not in s.example.text]
    assert [s.example.text for s in unsayable] == ["ありがとうございます"]
    assert all(path.is_file() for _, path, _ in out)
    with pytest.raises(VoiceError):  # any other failure still stops the eval
        generate(plan([Example("坏了", "out_of_scope")], VOICES, ("normal",)), _SaysOnlyChinese(), tmp_path)


def test_a_pause_is_the_stated_silence_between_the_halves():
    """Kokoro's silence after the first half and before the second is cut before the pause goes in."""
    from evals.voice_zh import join_with_pause, sound_bounds

    rate = 16000
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(rate // 2) / rate)).astype(np.float32)
    first = np.concatenate([np.zeros(800, np.float32), tone, np.zeros(int(1.2 * rate), np.float32)])
    second = np.concatenate([np.zeros(480, np.float32), tone, np.zeros(rate, np.float32)])
    audio, at = join_with_pause(first, second, rate, 0.8)
    gap = sound_bounds(audio[at:], rate)[0] + at - sound_bounds(audio[:at], rate)[1]
    assert abs(gap - 0.8 * rate) <= 0.02 * rate
    assert len(audio) - sound_bounds(audio, rate)[1] >= 0.99 * rate  # the clip's own end is left alone


def test_pause_clips_have_new_cache_keys_and_the_others_keep_theirs():
    """The dev cache (.cache/voice-eval/zh) holds clips made before the pause was trimmed: those pause clips
    must not be reused, the normal/slow/noise ones still are (keys as before the change)."""
    from evals.voice_zh import ClipSpec

    ex = Example("帮我交电费", "pay_bill")
    keys = {v: ClipSpec(0, ex, "zf_xiaobei", v, pause_s=0.8 if v == "pause" else 0.0).key
            for v in ("normal", "slow", "pause", "noise")}
    assert keys["normal"] == "61911ee6dd0c6797" and keys["slow"] == "1a062c14d6262ec9"
    assert keys["noise"] == "64c520c34a85635a" and keys["pause"] != "75ef7450126443c2"
