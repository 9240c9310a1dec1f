"""evals.bench_turn's own parts: where speech ends in a clip, the per-turn trace and its phases, settings
carried by a detector name."""

from __future__ import annotations

import asyncio

import numpy as np

from evals.bench_turn import Trace, phases, summary, trailing_silence_ms


def test_trailing_silence_is_measured_from_the_last_sound():
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)
    clip = np.concatenate([np.zeros(4800), tone, np.zeros(16000)]).astype(np.float32)
    assert abs(trailing_silence_ms(clip) - 1000) <= 20
    assert trailing_silence_ms(tone.astype(np.float32)) <= 20


def test_trace_times_wrapped_functions_and_undoes_the_wrapping():
    class Part:
        def work(self, x):
            return x * 2

        async def later(self, x):
            return x + 1

    trace = Trace()
    trace.wrap(Part, "work", "work", info=lambda a, r: {"got": r})
    trace.wrap(Part, "later", "later", pre=lambda a: {"arg": a[1]})
    part = Part()
    assert part.work(3) == 6 and asyncio.run(part.later(1)) == 2
    events = trace.take(since=trace.events[0][1])
    assert [(e["what"], e.get("got"), e.get("arg")) for e in events] == [("work", 6, None), ("later", None, 1)]
    assert events[0]["at"] == 0 and not trace.events
    trace.uninstall()
    assert Part.work.__name__ == "work" and "wrapper" not in Part.later.__qualname__


def test_phases_take_the_last_model_answer_before_the_turn_ended():
    row = {"trace": [
        {"what": "smart_turn", "at": -900, "ms": 50, "p": 0.2},
        {"what": "whisper", "at": -700, "ms": 600, "audio_s": 2.0},
        {"what": "smart_turn", "at": -300, "ms": 60, "p": 0.9},
        {"what": "word_check", "at": -100, "ms": 5, "ok": True},
        {"what": "end_turn", "at": -95, "ms": 0},
        {"what": "synth", "at": 40, "ms": 700, "audio_s": 2.1},
    ]}
    assert phases(row) == {"turn_ask": -300, "turn_ms": 60, "end_turn": -95, "word_check": -100, "word_check_ms": 5,
                           "decode_start": -700, "decode_ms": 600, "decodes": 1, "synth_start": 40, "synth_ms": 700,
                           "first_piece_s": 2.1}


def test_summary_reports_figures_from_the_last_sound_too():
    rows = [{"final_ms": 100.0, "reply_ms": 120.0, "audio_ms": 900.0, "tail_ms": 1000, "variant": "normal",
             "cut_off": False, "intent": "pay_bill", "intent_gold": "pay_bill"}]
    out = summary(rows)
    assert out["final_ms"]["p50"] == 100 and out["final_ms"]["from_last_sound_p50"] == 1100
    assert out["audio_ms"]["from_last_sound_p50"] == 1900


def test_pause_clips_hold_the_stated_silence(kokoro_tts, tmp_path):
    """Kokoro ends each half with ~1.2 s of silence: the bench's pause clip holds only the inserted 0.6-1.2 s
    between the last sound of the first half and the first sound of the second (generated, not cached)."""
    from evals.bench_turn import clip, pause_s
    from evals.voice_zh import sound_bounds

    text = "帮我交电费"
    audio, second = clip(kokoro_tts, text, "zf_xiaobei", "pause", cache=tmp_path)
    gap_ms = 1000 * (second + sound_bounds(audio[second:], 16000)[0] - sound_bounds(audio[:second], 16000)[1]) / 16000
    assert 0.6 <= pause_s(text) <= 1.2 and abs(gap_ms - 1000 * pause_s(text)) <= 30
    again, at = clip(None, text, "zf_xiaobei", "pause", cache=tmp_path)  # from the cache: no synthesis
    assert at == second and np.array_equal(again, audio)
