"""The pieces a reply is spoken in: a short first piece (its synthesis is the wait for the first audio),
cut at a clause or word boundary, and the silence after each piece cut short."""

from __future__ import annotations

import jieba
import numpy as np

from voice.tts import (
    FIRST_PIECE_UNITS,
    PhraseCache,
    reply_openings,
    speakable_pieces,
    spoken_units,
    trim_trailing_silence,
)


def test_a_long_first_sentence_is_cut_after_its_first_clauses():
    text = "水费还没交，要交四十二元三角，12月15日前交。下个月记得交。"
    pieces = speakable_pieces(text)
    assert pieces == ["水费还没交，", "要交四十二元三角，12月15日前交。", "下个月记得交。"]
    assert "".join(pieces) == text


def test_a_long_first_clause_is_cut_at_a_word_boundary():
    """No comma early enough: the first piece is whole words (jieba) within the syllable budget."""
    text = "您的燃气费目前没有待缴账单。"
    head, rest = speakable_pieces(text)
    assert head + rest == text
    assert 2 <= spoken_units(head) <= FIRST_PIECE_UNITS
    boundaries = set(np.cumsum([len(w) for w in jieba.cut(text, HMM=False)]).tolist())
    assert len(head) in boundaries  # never inside a word


def test_short_sentences_and_english():
    assert speakable_pieces("好的。") == ["好的。"]
    assert speakable_pieces("抱歉，这个我办不了。我能帮您交费。") == ["抱歉，", "这个我办不了。", "我能帮您交费。"]
    pieces = speakable_pieces("I have paid your electricity bill of forty two yuan for you.")
    assert pieces == ["I have paid your electricity bill", "of forty two yuan for you."]
    # first_units=0: sentence by sentence, as before
    assert speakable_pieces("您的燃气费目前没有待缴账单。好的。", first_units=0) == ["您的燃气费目前没有待缴账单。", "好的。"]


def test_a_first_piece_is_never_a_lone_syllable():
    head, rest = speakable_pieces("嗯，您的燃气费目前没有待缴账单。")
    assert head.startswith("嗯，") and 2 <= spoken_units(head) <= FIRST_PIECE_UNITS and rest


def test_trailing_silence_is_cut_or_padded_to_a_short_pause():
    rate = 24000
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(rate // 2) / rate)).astype(np.float32)
    audio = np.concatenate([tone, np.zeros(rate, np.float32)])  # Kokoro's whole model leaves ~1 s after a piece
    trimmed = trim_trailing_silence(audio, rate, keep_s=0.3)
    assert abs(len(trimmed) - int(0.8 * rate)) <= rate // 100
    assert np.array_equal(trimmed[: len(tone)], tone)
    padded = trim_trailing_silence(tone, rate, keep_s=0.3)  # its trimmed decoder leaves almost nothing
    assert abs(len(padded) - int(0.8 * rate)) <= rate // 100
    assert np.array_equal(padded[: len(tone)], tone) and not padded[len(tone):].any()
    silent = np.zeros(rate, np.float32)
    assert np.array_equal(trim_trailing_silence(silent, rate), silent)


def test_a_reply_opening_is_a_first_piece_of_its_own():
    """"您还有" of 您还有{amount}。: a fixed phrase whose audio can be cached; the rest is cut as usual."""
    from assistant.replies import MESSAGES

    openings = reply_openings(t for texts in MESSAGES.values() for t in texts)
    assert {"好的，", "抱歉，", "您还有", "请确认："} <= set(openings)
    assert "您的" not in openings  # a field prefix under 3 syllables is no piece
    assert speakable_pieces("您还有五百元。", openings=openings) == ["您还有", "五百元。"]
    text = "请确认：给李阿姨交电费五十元，确认吗？"
    pieces = speakable_pieces(text, openings=openings)
    assert pieces[0] == "请确认：" and "".join(pieces) == text and all(spoken_units(p) <= 8 for p in pieces)
    assert speakable_pieces("您好！", openings=openings) == ["您好！"]  # nothing left after it: not cut
    assert speakable_pieces("您还有五百元。") == ["您还有五百元。"]  # without openings, as before


def test_the_phrase_cache_keeps_the_most_recently_used():
    cache = PhraseCache(entries=2)
    one = (np.zeros(10, np.float32), 24000)
    cache.put("好的，", "zf_xiaobei", 0.85, one)
    cache.put("抱歉，", "zf_xiaobei", 0.85, one)
    assert cache.get("好的，", "zf_xiaobei", 0.85) is one  # now the most recent
    assert cache.get("好的，", "zf_xiaobei", 1.0) is None  # another speed is another entry
    cache.put("您还有", "zf_xiaobei", 0.85, one)
    assert len(cache) == 2 and cache.get("抱歉，", "zf_xiaobei", 0.85) is None
    assert cache.get("好的，", "zf_xiaobei", 0.85) is one
    off = PhraseCache(entries=0)
    off.put("好的，", "zf_xiaobei", 0.85, one)
    assert len(off) == 0
