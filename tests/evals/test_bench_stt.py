"""evals.bench_stt --lang zh: its pure parts (the timed run needs Kokoro and Whisper, minutes of CPU)."""

from __future__ import annotations

from evals.bench_stt import ALL, UTTERANCES_ZH, cer, configs_for_zh


def test_mandarin_error_is_normalised_character_error_rate():
    assert cer("帮我交电费。", "幫我交電費") == 0.0  # script and punctuation do not count
    assert cer("帮我交电费。", "帮我交税费") == 0.2  # one character of five


def test_mandarin_configs_time_the_servers_setting_at_every_length():
    assert set(UTTERANCES_ZH) == set(ALL)
    configs = configs_for_zh("base", stt=None)
    served = [c for c in configs if (c.lang, c.beam, c.domain) == ("zh", 5, True)]
    assert sorted(c.seconds for c in served) == sorted(ALL)
    assert {c.fmt for c in configs} == {"ogg"}  # as the elder page sends
    assert any(c.lang is None for c in configs)  # auto-detection, to show what fixing the language saves


def test_each_encoder_window_times_the_servers_setting_at_every_length():
    configs = configs_for_zh("base", stt=None, windows=(10.0, 30.0))
    served = [c for c in configs if (c.lang, c.beam, c.domain) == ("zh", 5, True)]
    assert sorted((c.window_s, c.seconds) for c in served) == sorted((w, s) for w in (10.0, 30.0) for s in ALL)
    assert {c.window_s for c in configs if c not in served} == {10.0}  # the other settings on the first window
    assert len({id(c.finals) for c in configs}) == len(configs)  # each configuration times itself
