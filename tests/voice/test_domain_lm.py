"""The domain's character model (voice/domain_lm.py): it prefers how people word requests to lui."""

from __future__ import annotations

import pytest

from voice.domain_lm import CharLM, domain_texts

LINES = ["公积金怎么查", "帮我查一下公积金", "帮我交电费", "这个月电费多少", "交水费"]


def test_the_domain_wording_scores_above_a_homophone_of_it():
    lm = CharLM(LINES)
    assert lm.per_char("公积金怎么查") > lm.per_char("攻击金怎么查") + 1
    assert lm.per_char("帮我交电费") > lm.per_char("帮我叫电费")
    # a line never seen, made of seen words, still beats the same sounds in other characters
    assert lm.per_char("帮我查一下电费") > lm.per_char("帮我茶一下点费")


def test_punctuation_spaces_and_case_do_not_count():
    lm = CharLM(LINES + ["pay my bill"])
    assert lm.logprob("帮我交电费。") == lm.logprob("帮我 交电费") == lm.logprob("“帮我交电费”")
    assert lm.logprob("Pay my bill!") == lm.logprob("pay my bill")


def test_an_unseen_character_costs_more_than_a_seen_one():
    lm = CharLM(LINES)
    assert lm.per_char("帮我交电費") < lm.per_char("帮我交电费")  # traditional 費 never seen
    assert lm.logprob("") < 0  # the end of a sentence has a probability too


def test_per_char_is_the_log_probability_per_character_and_end():
    lm = CharLM(LINES)
    assert lm.per_char("交水费") == pytest.approx(lm.logprob("交水费") / 4)


@pytest.mark.parametrize("kwargs", [{"order": 0}, {"discount": 0}, {"discount": 1.0}])
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        CharLM(LINES, **kwargs)


def test_domain_texts_are_the_lines_and_the_lexicon():
    texts = domain_texts(["帮我交燃气费", "水费多少"])
    assert texts[:2] == ["帮我交燃气费", "水费多少"]
    assert {"电费", "公积金"} <= set(texts)  # bill types and catalogue words from voice/lexicon.py
