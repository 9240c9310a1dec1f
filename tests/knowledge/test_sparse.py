"""The lexical sparse encoder: features for Chinese and English, stable hashing, weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from knowledge.sparse import SparseEncoder, normalise_text, stem

ENC = SparseEncoder()
REPO = Path(__file__).resolve().parents[2]


def names(text: str) -> set[str]:
    return {f for f, _ in ENC.features(text)}


def overlap(a: str, b: str) -> float:
    qa, qb = ENC.encode_query(a).as_dict(), ENC.encode_query(b).as_dict()
    return sum(min(qa[i], qb[i]) for i in qa.keys() & qb.keys()) / sum(qa.values())


def test_chinese_gives_character_unigrams_and_bigrams():
    feats = names("缴纳电费")
    assert {"h1:缴", "h1:纳", "h1:电", "h1:费"} <= feats
    assert {"h2:缴纳", "h2:纳电", "h2:电费"} <= feats
    assert not any(f.startswith(("w:", "t:")) for f in feats)


def test_chinese_function_characters_do_not_stand_alone():
    feats = names("我的电费")
    assert "h1:我" not in feats and "h1:的" not in feats
    assert "h2:我的" not in feats  # both characters are function words
    assert "h2:的电" in feats and "h2:电费" in feats


def test_english_words_are_lowercased_stemmed_and_stopwords_dropped():
    feats = names("Pay MY Bills for the Flights")
    assert {"w:pay", "w:bill", "w:flight"} <= feats
    assert "w:my" not in feats and "w:the" not in feats and "w:for" not in feats


def test_long_english_words_add_character_trigrams():
    feats = names("electricity")
    assert "t:#el" in feats and "t:ty#" in feats
    assert not any(f.startswith("t:") for f in names("pay"))  # short words: the word only


def test_misspellings_share_most_features_with_the_right_word():
    assert overlap("electrisity", "electricity") > 0.2
    assert overlap("electrisity", "electricity") > 3 * overlap("electrisity", "property")
    assert overlap("点费", "电费") > 0  # a Han unigram survives a homophone slip


def test_mixed_scripts_and_full_width_text():
    feats = names("ＥＴＣ怎么办")
    assert "w:etc" in feats and "h2:怎么" not in feats and "h1:办" in feats
    assert normalise_text("ＡＢＣ１２３") == "abc123"


def test_stem_handles_plurals_and_possessives():
    assert stem("cities") == "city" and stem("charges") == "charge" and stem("bus") == "bus"
    assert stem("kid's") == "kid" and stem("boxes") == "box" and stem("pass") == "pass"


def test_vectors_are_sorted_unique_positive_and_in_range():
    vec = ENC.encode_query("交电费 pay the electricity bill 电费电费")
    assert list(vec.indices) == sorted(set(vec.indices))
    assert all(0 <= i < 2**ENC.dim_bits for i in vec.indices)
    assert all(v > 0 for v in vec.values)


def test_empty_and_punctuation_only_text_gives_an_empty_vector():
    assert len(ENC.encode_query("")) == 0
    assert len(ENC.encode_query("？！...")) == 0
    assert len(ENC.encode_query("the of and")) == 0


def test_document_term_frequency_saturates_and_fields_are_boosted():
    once = ENC.encode_doc([("invoice", 1.0, True)]).as_dict()
    thrice = ENC.encode_doc([("invoice invoice invoice", 1.0, True)]).as_dict()
    boosted = ENC.encode_doc([("invoice", 2.0, True)]).as_dict()
    word = next(i for i, v in once.items() if v == max(once.values()))
    assert once[word] < thrice[word] < 3 * once[word]
    assert boosted[word] > once[word]


def test_query_weights_favour_words_over_trigrams():
    vec = ENC.encode_query("password")
    assert max(vec.values) == 1.0 * (ENC.k1 + 1) / (1 + ENC.k1)  # the word itself
    assert sorted(vec.values)[0] < 0.2  # each trigram carries a small share


def test_hashing_is_stable_across_processes():
    code = ("from knowledge.sparse import SparseEncoder; v = SparseEncoder().encode_query('交电费 pay electricity'); "
            "print(list(v.indices))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345"}, cwd=REPO)
    assert other.stdout.strip() == str(list(ENC.encode_query("交电费 pay electricity").indices))


def test_document_fields_can_skip_trigrams():
    with_tri = ENC.encode_doc([("Open settings and tap payments", 0.5, True)])
    without = ENC.encode_doc([("Open settings and tap payments", 0.5, False)])
    assert len(without) < len(with_tri)
    assert set(without.indices) <= set(with_tri.indices)
