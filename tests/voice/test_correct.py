"""Pinyin-level correction of Mandarin transcripts, the dialogue-state context, and clean output."""

from __future__ import annotations

import json

import pytest

from assistant.nlu.consent import consent
from tests.conftest import REPO
from voice.correct import PinyinCorrector, syllable_distance
from voice.lexicon import echoes_hotwords, speech_context
from voice.stt import clean_zh

WANG = ("静安老房子", "浦东新房子")  # u_wang's account labels in the demo data


@pytest.fixture(scope="module")
def corrector() -> PinyinCorrector:
    return PinyinCorrector()


@pytest.mark.parametrize(("heard", "meant"), [
    ("取笑刚才那个", "取消刚才那个"),  # the cancel command, 7/7 voices
    ("我要查攻击金", "我要查公积金"),
    ("帮我交人气费", "帮我交燃气费"),
    ("充一百二十块花费", "充一百二十块话费"),
    ("交税费", "交水费"),
    ("转人宫", "转人工"),
    ("电费怎么叫", "电费怎么交"),
    # residual errors on Kokoro clips of TRAINING lines: the right syllables, the wrong characters
    ("攻击金怎么查", "公积金怎么查"),  # a service word said alone, not only the catalogue's whole titles
    ("客服再拿", "客服在哪"),
    ("手机没信号了砸半", "手机没信号了咋办"),
    ("宽带费道齐了得交以下", "宽带费到期了得交一下"),
    ("先别叫了", "先别交了"),
    ("我想教一下", "我想交一下"),  # a numeral the term keeps (一) does not block the fix
    ("人计费啥时候到期", "燃气费啥时候到期"),  # two near syllables in a three-syllable term
    ("电费带搅金额", "电费待缴金额"),
    ("酸了", "算了"),
    ("上个月花在水电梅上的钱", "上个月花在水电煤上的钱"),
    # particles and measure words written as another character of the same syllable
    ("谢谢阿小助手", "谢谢啊小助手"),
    ("煤气费该交了把", "煤气费该交了吧"),
    ("那格就是电费", "那个就是电费"),
])
def test_misheard_service_words_are_corrected(corrector, heard, meant):
    text, fixes = corrector.correct(heard, speech_context("zh"))
    assert text == meant
    assert fixes and all(f.heard in heard and f.term in meant for f in fixes)  # what changed, for the log


def test_a_number_said_digit_by_digit_is_digits_again(corrector):
    """Whisper writes 13812345678 said digit by digit as 138亿1234万5678: joined again (the same number),
    it is the number to top up, not an amount of 13,812,345,678 yuan; a round amount (3万) or an incomplete
    group (1万20) stays as heard."""
    from assistant.nlu.slots import extract_slots

    text, fixes = corrector.correct("我想给我妈交话费,她号码是138亿1234万5678交一百", speech_context("zh"))
    assert text == "我想给我妈交话费,她号码是13812345678交一百"
    assert fixes[-1].heard == "138亿1234万5678" and fixes[-1].term == "13812345678"
    assert extract_slots(text, "pay_bill") == {"bill_type": "phone", "amount": 100, "account": "13812345678"}
    assert corrector.correct("交3万5000元", speech_context("zh"))[0] == "交35000元"
    for text in ("交3万元", "交1万20", "2.5万5000", "电费1亿2345万"):
        assert corrector.correct(text, speech_context("zh"))[0] == text


def test_a_numeral_is_rewritten_only_inside_a_longer_term_heard_exactly(corrector):
    """一包卡 is 医保卡 (yi bao ka, all three syllables); a numeral in a two-syllable span or a near match stays."""
    assert corrector.correct("一包卡余额", speech_context("zh"))[0] == "医保卡余额"
    for text in ("充值一元", "买一包烟", "一百块话费", "交一百块", "十二点交电费", "一包卡片"):
        assert corrector.correct(text, speech_context("zh"))[0] == text


def test_account_names_only_for_a_user_who_has_them(corrector):
    wang = speech_context("zh", account_labels=WANG)
    assert corrector.correct("交普通的电费", wang)[0] == "交浦东的电费"
    assert corrector.correct("交普通的电费", speech_context("zh", account_labels=("家里",)))[0] == "交普通的电费"
    assert corrector.correct("普通话怎么说", wang)[0] == "普通话怎么说"  # inside a longer word: left alone


@pytest.mark.parametrize("text", ["充值一元", "我几乎忘了", "我想买点基金", "看病能用手机付钱吗", "上个月的水费多少",
                                  "天然气费帮我缴一下", "以下几项都要交", "点子不错",
                                  "帮我代缴电费", "会计费多少", "一下子就好了", "阿姨帮我交电费", "把电费交了",
                                  "这格式不对", "阿拉上海人"])
def test_ordinary_words_are_not_corrected(corrector, text):
    assert corrector.correct(text, speech_context("zh", account_labels=WANG)) == (text, [])


def test_typed_requests_are_almost_never_changed(corrector):
    """Over-correction check: the Mandarin lines of the intent data (written, not heard) pass
    through nearly unchanged; the few changes fix the data's deliberate typos (点费, 谁费)."""
    lines = [json.loads(line) for name in ("intent_train.jsonl", "intent_dev.jsonl")
             for line in (REPO / "evals" / "data" / name).read_text(encoding="utf-8").splitlines()]
    zh = [r["text"] for r in lines if r["lang"] == "zh"]
    context = speech_context("zh", account_labels=WANG)
    changed = [(t, corrector.correct(t, context)[0]) for t in zh]
    changed = [(a, b) for a, b in changed if a != b]
    assert len(changed) <= 0.03 * len(zh), changed


def test_a_payment_waiting_is_never_guessed_into_consent(corrector):
    """While a payment waits, a near miss of 确认/取消 stays as heard, and consent asks again."""
    waiting = speech_context("zh", awaiting_confirmation=True)
    for heard in ("取笑", "缺人", "去校"):
        text, fixes = corrector.correct(heard, waiting)
        assert (text, fixes) == (heard, [])
        assert consent(text, spoken=True) == "unclear"
    assert consent(corrector.correct("确认", waiting)[0], spoken=True) == "yes"
    assert corrector.correct("取笑", speech_context("zh"))[0] == "取消"  # nothing waiting: harmless to fix


def test_context_follows_the_dialogue_state():
    waiting = speech_context("zh", awaiting_confirmation=True, account_labels=WANG)
    assert waiting.awaiting == "confirmation" and {"确认", "取消", "对", "不要"} <= set(waiting.hotwords)
    # answers that are not a yes are expected as much as one (steered to 确认 alone, Whisper wrote it for 嗯)
    assert {"嗯", "等一下"} <= set(waiting.hotwords) and waiting.prompt is None
    choosing = speech_context("zh", awaiting_slot="account", account_labels=WANG,
                              choices=[{"label": "浦东新房子", "value": "3100555666", "alias": "浦东新房子"},
                                       {"label": "静安老房子", "value": "3100987654", "alias": "静安老房子"}])
    assert choosing.hotwords[:4] == ("浦东新房子", "浦东", "静安老房子", "静安")
    assert "浦东新房子" in choosing.prompt and "静安老房子" in choosing.prompt
    idle = speech_context("zh", account_labels=WANG)
    assert "浦东" in idle.terms and "浦东" not in idle.hotwords and "电费" in idle.hotwords and idle.prompt is None
    assert speech_context("en", awaiting_confirmation=True).hotwords[:2] == ("yes", "no")


def test_a_transcript_that_only_repeats_the_hotwords_is_recognised():
    hot = speech_context("zh").hotwords
    assert echoes_hotwords("我们转人工客服激活转人工客服激活", hot)  # heard for a slow 晚安
    assert not echoes_hotwords("帮我交电费", hot) and not echoes_hotwords("确认", hot)
    assert not echoes_hotwords("水费和电费一起交了吧，家里的那个户号", hot)


def test_syllable_distance():
    assert syllable_distance("xiao", "xiao") == 0
    assert syllable_distance("ren", "ran") == syllable_distance("tong", "dong") == 0.5
    assert syllable_distance("gong", "ji") == 1


@pytest.mark.parametrize(("raw", "clean"), [
    ("《幫我交電費》", "帮我交电费"),
    ("，，确认。。", "确认。"),
    ("确认？", "确认？"),  # a question stays a question: consent asks again
    ("浦东 新房子 的 电费", "浦东新房子的电费"),
    ("“取消”", "取消"),
    ("不" * 220, "不不不"),  # a decoding loop
    ("转人工客服激活转人工客服激活转人工客服激活", "转人工客服激活转人工客服激活"),
    ("对对对", "对对对"),
    ("谢谢谢谢", "谢谢谢谢"),
])
def test_clean_zh(raw, clean):
    assert clean_zh(raw) == clean
