"""Homophones of everyday Mandarin words (voice/homophone.py), as the pinyin corrector's second step."""

from __future__ import annotations

import pytest

from assistant.nlu.consent import consent
from voice.correct import PinyinCorrector
from voice.homophone import HomophoneCorrector, sound
from voice.lexicon import speech_context

WANG = ("静安老房子", "浦东新房子")  # u_wang's account labels in the demo data


@pytest.fixture(scope="module")
def corrector() -> PinyinCorrector:
    return PinyinCorrector(homophones=True)


@pytest.mark.parametrize(("heard", "meant"), [
    # Whisper base on Kokoro clips of TRAINING lines: the right syllables, characters of no likely word
    ("睡废多少", "水费多少"),
    ("水沸多少", "水费多少"),  # a rare word (水沸) for a common one
    ("千费了吗", "欠费了吗"),  # a lone 千 (no number next to it) in a bill type heard exactly
    ("焦了没", "交了没"),  # one character into the domain's verb, where jieba reads it as a word alone
    ("胶50话费", "交50话费"),
    ("把这个月的手机账单搅了", "把这个月的手机账单交了"),
    ("欠费了美", "欠费了没"),
    ("电视搖空气坏了", "电视遥控器坏了"),
    ("燃气费事补室该交了", "燃气费是不是该交了"),
    ("我的电费闭嘘多少", "我的电费必须多少"),
])
def test_everyday_words_heard_with_the_wrong_characters_are_corrected(corrector, heard, meant):
    text, fixes = corrector.correct(heard, speech_context("zh", account_labels=WANG))
    assert text == meant
    assert fixes and all(f.heard in heard and f.term in meant for f in fixes)  # what changed, for the log


@pytest.mark.parametrize("text", [
    "她是我妈妈", "他是谁", "我是王阿姨", "帮我交电费", "上个月的水费多少", "我老伴儿走了，心里难受",
    "之前那次燃气是几月几号交的", "物业费还欠着吗", "银行卡里剩多少", "隔壁老王欠我钱不还", "密码忘了咋办",
    "电费是不是又涨价了", "再见", "下次再聊", "给我爸手机充两百", "帮我翻一下这句话", "确认无误",
    "水往低处流是为什么", "感冒了喝什么好", "我头疼吃什么药", "广场舞音乐推荐一下", "叫了没", "浇水",
    "教了没", "喂喂喂", "搅拌一下",
])
def test_correct_sentences_are_left_alone(corrector, text):
    assert corrector.correct(text, speech_context("zh", account_labels=WANG)) == (text, [])


def test_numbers_are_never_respelled(corrector):
    """一元 is not 医院, 十块 not 石块, 三千 not 三千 spelt otherwise: a numeral next to another numeral
    or a digit is part of a number."""
    for text in ("充值一元", "交十块", "交三千费用", "交50元", "一百块话费", "交一千费"):
        assert corrector.correct(text, speech_context("zh"))[0] == text


def test_nothing_is_respelled_into_consent_while_a_payment_waits():
    """确认/取消/对 are answers to a pending payment: a near miss is asked again, never guessed."""
    homophones = HomophoneCorrector(margin=0.5, word_bonus=5.0, domain_words=("确认", "取消", "对"),
                                    single_margin=0.5)
    corrector = PinyinCorrector(homophones=homophones)
    waiting = speech_context("zh", awaiting_confirmation=True)
    for heard in ("却任", "去消", "队"):
        text, fixes = corrector.correct(heard, waiting)
        assert (text, fixes) == (heard, [])
        assert consent(text, spoken=True) != "yes"
    assert corrector.correct("却任", speech_context("zh"))[0] == "确认"  # the same corrector, nothing waiting


def test_account_labels_and_domain_terms_stay():
    """A user's label is spelt as the user spelt it, even where the dictionary knows a likelier word of
    the same sound (石室/事实); so are the domain's terms."""
    corrector = PinyinCorrector(homophones=HomophoneCorrector(margin=0.5, word_bonus=5.0))
    assert corrector.correct("交石室的电费", speech_context("zh"))[0] == "交实施的电费"  # no such label
    assert corrector.correct("交石室的电费", speech_context("zh", account_labels=("石室",)))[0] == "交石室的电费"
    assert corrector.correct("浦东新房子的水费", speech_context("zh", account_labels=WANG))[0] == "浦东新房子的水费"
    assert corrector.correct("燃气费多少", speech_context("zh"))[0] == "燃气费多少"


def test_sound_keys():
    assert sound("水费") == "shui'fei"
    assert sound("绿色") == "lv'se"  # as pypinyin's lazy_pinyin spells the transcript
    assert sound("银行") == "yin'hang"  # a phrase reading, not the character's first


def test_the_server_runs_without_the_homophone_step_unless_asked(monkeypatch):
    from assistant.settings import Settings

    assert PinyinCorrector().homophones is None
    assert Settings(_env_file=None).stt_homophones is False
    monkeypatch.setenv("LUI_STT_HOMOPHONES", "true")
    assert Settings(_env_file=None).stt_homophones is True
    assert PinyinCorrector().correct("水费焦了没")[0] == "水费焦了没"  # off: only the domain terms
    assert PinyinCorrector(homophones=True).correct("水费焦了没")[0] == "水费交了没"
