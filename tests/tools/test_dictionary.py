"""Offline zh↔en words from CC-CEDICT: lookups both ways, the en→zh ranking, and what stays for the LLM."""

from __future__ import annotations

import pytest

from tools.dictionary import Dictionary, load_dictionary
from tools.translate import dictionary_lookup

LINES = [
    "# CC-CEDICT header",
    "馬 马 [Ma3] /surname Ma/",
    "馬 马 [ma3] /horse/CL:匹[pi3]/",
    "牠 它 [ta1] /variant of 它[ta1]/",
    "駿馬 骏马 [jun4 ma3] /fine horse/steed/",
    "馬匹 马匹 [ma3 pi3] /horses/horse/",
    "教師 教师 [jiao4 shi1] /teacher/",
    "老師 老师 [lao3 shi1] /teacher/CL:個|个[ge4],位[wei4]/",
    "超市 超市 [chao1 shi4] /supermarket (abbr. for 超級市場|超级市场[chao1 ji2 shi4 chang3])/CL:家[jia1]/",
    "北京 北京 [Bei3 jing1] /Beijing/",
]


def test_chinese_headwords_give_their_first_clean_senses():
    small = Dictionary.from_lines(LINES)
    assert small.lookup("马", "en") == "horse"  # the common-noun entry, not the surname; no classifier
    assert small.lookup("馬", "en") == "horse"  # the traditional headword too
    assert small.lookup("超市", "en") == "supermarket"  # the cross-reference note is dropped
    assert small.lookup("它", "en") is None  # only a pointer to itself: nothing to say


def test_english_prefers_the_first_sense_a_common_word_and_a_two_character_word():
    small = Dictionary.from_lines(LINES, frequency={"马": 500, "马匹": 50, "老师": 6400, "教师": 600})
    assert small.lookup("horse", "zh") == "马"  # first sense; 马匹 lists "horse" second
    assert small.lookup("horses", "zh") == "马匹"
    assert small.lookup("teacher", "zh") == "老师"  # the more common of two equally good entries
    assert Dictionary.from_lines(LINES).lookup("teacher", "zh") == "教师"  # without counts: the specific one
    assert small.lookup("Beijing", "zh") == "北京"  # a proper noun is still found when it is the only one


@pytest.mark.parametrize(("text", "target", "expected"), [
    ("苹果", "en", "apple"), ("醫院", "en", "hospital"), ("電腦", "en", "computer"), ("電脑", "en", "computer"), ("早上好", "en", "good morning"),
    ("超市", "en", "supermarket"), ("hospital", "zh", "医院"), ("Apples", "zh", "苹果"), ("computer", "zh", "电脑"),
    ("a dog", "zh", "狗"), ("“student”", "zh", "学生"), ("airport", "zh", "机场"), ("eat", "zh", "吃"),
])
def test_the_shipped_dictionary_translates_common_words(text, target, expected):
    found = dictionary_lookup(text, target)
    assert found is not None and expected in found.casefold()
    assert len(found) <= 60  # short answers: a few senses at most


def test_good_morning_is_a_greeting():
    assert dictionary_lookup("good morning", "zh") in ("早上好", "早安")


@pytest.mark.parametrize(("text", "target"), [
    ("我对花生过敏，请帮我问一下这道菜里有没有花生", "en"),  # a sentence: the LLM's job
    ("please tell the driver that I am allergic to peanuts", "zh"),
    ("谢谢", "ja"), ("hospital", "fr"),  # only zh↔en
    ("hospital", "en"), ("苹果", "zh"),  # already in the target language
    ("qwertyuiop", "zh"), ("", "en"),
])
def test_what_the_dictionary_leaves_to_the_llm(text, target):
    assert dictionary_lookup(text, target) is None


def test_loaded_once():
    assert load_dictionary() is load_dictionary()


POLYPHONES = [
    "便宜 便宜 [bian4 yi2] /convenient/",
    "便宜 便宜 [pian2 yi5] /cheap/inexpensive/",
    "方便 方便 [fang1 bian4] /convenient/",
    "東西 东西 [dong1 xi1] /east and west/",
    "東西 东西 [dong1 xi5] /thing/stuff/",
    "哥哥 哥哥 [ge1 ge5] /older brother/",
    "兄台 兄台 [xiong1 tai2] /brother (polite appellation for a friend one's age)/",
]
USUAL = {"便宜": "pian2 yi5", "东西": "dong1 xi1"}.get  # what pypinyin says (it misses neutral tones)


def test_a_polyphone_means_its_usual_reading_first():
    small = Dictionary.from_lines(POLYPHONES, reading=USUAL)
    assert small.lookup("便宜", "en").startswith("cheap")  # pian2 yi5, not the bian4 yi2 "convenient"
    assert Dictionary.from_lines(POLYPHONES).lookup("便宜", "en").startswith("convenient")  # CC-CEDICT's order
    assert small.lookup("东西", "en").startswith("east and west")  # a neutral tone alone tells nothing: as listed


def test_the_count_of_a_word_goes_to_its_usual_reading():
    counts = {"便宜": 5000, "方便": 3000}
    assert Dictionary.from_lines(POLYPHONES, counts).lookup("convenient", "zh") == "便宜"
    assert Dictionary.from_lines(POLYPHONES, counts, reading=USUAL).lookup("convenient", "zh") == "方便"


def test_a_kind_of_the_word_answers_the_word():
    small = Dictionary.from_lines(POLYPHONES, {"哥哥": 2000, "兄台": 3})
    assert small.lookup("brother", "zh") == "哥哥"  # "older brother", not a rare polite form
    assert small.lookup("older brother", "zh") == "哥哥"


def test_set_phrases_both_ways_and_before_the_dictionary():
    small = Dictionary.from_lines(["加油 加油 [jia1 you2] /to refuel/", "謝謝 谢谢 [xie4 xie5] /to thank/thanks/"],
                                  phrases=[("你好吗", "how are you"), ("加油", "come on"), ("谢谢你", "thank you"),
                                           ("谢谢你", "thanks a lot")])
    assert small.lookup("how are you?", "zh") == "你好吗"
    assert small.lookup("你好吗", "en") == "how are you"
    assert small.lookup("加油", "en") == "come on; to refuel"  # the phrase first, the dictionary's senses kept
    assert small.lookup("thanks a lot", "zh") == "谢谢你"


@pytest.mark.parametrize(("text", "target", "expected"), [
    ("how are you", "zh", ("你好吗",)), ("thank you", "zh", ("谢谢", "谢谢你")), ("see you tomorrow", "zh", ("明天见",)),
    ("I don't understand", "zh", ("我不懂", "我不明白", "听不懂")), ("brother", "zh", ("哥哥", "弟弟", "兄弟")),
    ("你好吗", "en", ("how are you",)), ("明天见", "en", ("see you tomorrow",)), ("便宜", "en", ("cheap",)),
    ("好吃吗", "en", ("tasty", "delicious")),  # a sentence-final particle is not part of the word
])
def test_the_shipped_dictionary_knows_greetings_polyphones_and_particles(text, target, expected):
    found = dictionary_lookup(text, target)
    assert found is not None
    if target == "zh":
        assert found in expected
    else:
        assert any(found.casefold().startswith(e) or e in found.casefold() for e in expected)
        assert found.casefold().startswith(expected[0].split()[0])  # the main sense comes first
