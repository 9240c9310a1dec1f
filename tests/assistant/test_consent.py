"""Only a clear yes moves money: fillers, hesitations and questions never pay, whatever the router says.

The phrase lists are written for this test (not taken from the router's data). They run through the
rule itself and through a real assistant (real router, real ledger on SQLite)."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.nlu.consent import consent
from assistant.turns import Assistant
from tests.conftest import demo_assistant, say

NOT_A_YES_ZH = [
    "嗯", "嗯？", "嗯嗯", "呃", "哦", "额", "啊？", "哦？", "嗯哼", "唔……", "好吧…", "好吧", "行吧", "好的吧", "可以吧",
    "是吧", "对吧", "确认吗", "确认吗？", "要交吗", "真的要交吗", "这是什么费", "多少钱？", "是不是这个户号",
    "可以吗", "我想想", "让我想想", "等一下", "等等", "稍等", "应该是吧", "可能吧", "大概吧", "好像是", "随便",
    "不知道", "我考虑一下", "再说吧", "缺了", "去一下", "嗯……那个", "确认一下？", "你确定吗", "这个对吗",
    "交了吗", "差不多吧", "呃，我也不确定", "交了", "已经交了", "我交了", "交过了", "帮我交了吗", "帮我交了？",
    "交了没", "付了没有", "交不交", "可以不可以", "确认不确认", "有没有优惠", "说不清", "是不是这个",
]
NOT_A_YES_EN = [
    "hmm", "um", "uh", "er", "well", "mmm", "MMM.", "uh huh", "maybe", "sure?", "okay?", "ok...", "yes?",
    "yes...", "I think so", "I guess", "I suppose so", "probably", "not sure", "let me think", "wait",
    "hold on", "hang on", "whatever", "if you say so", "I don't know", "is it?", "right?", "right", "really?",
    "what?", "which bill?", "how much?", "should I?", "alright...", "fine I guess", "um yes?", "well um",
    "kind of", "perhaps", "possibly", "yes, um, wait", "just a moment", "just kidding", "pay it already?",
    "all right...",
]
YES_ZH = ["确认", "确定", "对，交吧", "好的交", "好的，交吧", "是的", "对的", "好", "行", "可以", "没问题", "交吧",
          "付吧", "确认支付", "嗯，确认", "那就交吧", "就这么办", "没错", "确认。", "对对对", "可以的，付款吧",
          "是这个，确认支付", "好的", "同意",
          # "pay it" the everyday ways
          "帮我交了", "帮我付了吧", "替我交了吧", "给我缴费", "直接交", "赶紧付", "马上付", "立即支付", "现在就交",
          "交了吧", "那就交了吧", "嗯，缴了吧", "交呗", "付钱", "我同意"]
YES_EN = ["yes", "Yes.", "confirm", "go ahead", "pay it", "yes, go ahead", "uh huh, yes", "well, yes", "ok",
          "okay, do it", "sure", "that's right", "That's correct!", "yup, go for it", "yes please", "absolutely",
          "sounds good", "Confirm", "no problem", "please pay",
          "just pay it", "go ahead and pay", "yes, go ahead and pay it", "pay it already", "just do it", "alright",
          "all right", "yes sir", "yea"]
NO = ["取消", "不要", "不交了", "不用了", "算了", "先别付", "no", "cancel", "don't pay", "no thanks", "stop",
      # a refusal said twice is not the A-not-A question inside it (不要不要 holds 要不要)
      "不要不要", "不是不是", "不行不行", "不对不对", "不好不好", "没有没有", "不用了不用了", "不交不交"]


def test_the_lists_are_long_enough():
    assert len(NOT_A_YES_ZH) + len(NOT_A_YES_EN) >= 60 and len(set(NOT_A_YES_ZH + NOT_A_YES_EN)) >= 60


@pytest.mark.parametrize("text", NOT_A_YES_ZH + NOT_A_YES_EN)
def test_fillers_hesitations_and_questions_are_not_a_yes(text):
    assert consent(text) != "yes"


@pytest.mark.parametrize("text", YES_ZH + YES_EN)
def test_genuine_yeses_are_a_yes(text):
    assert consent(text) == "yes"


@pytest.mark.parametrize("text", NO)
def test_clear_refusals_are_a_no(text):
    assert consent(text) == "no"


@pytest.mark.parametrize("text", ["交了没", "付了没有", "交不交", "可以不可以", "确认不确认", "有没有优惠", "交没交",
                                  "说不清", "钱够不够"])
def test_a_question_or_doubt_that_holds_bu_or_mei_asks_again_and_does_not_cancel(text):
    assert consent(text) == "unclear" and consent(text, spoken=True) == "unclear"


@pytest.mark.parametrize("text", ["确认\u200b", " YES ", "ｙｅｓ", "确 认"])
def test_spacing_width_and_invisible_characters_do_not_matter(text):
    assert consent(text) == "yes"


# --- through a real assistant ----------------------------------------------------------------------
@pytest.fixture
def assistant(settings, router) -> Assistant:
    return demo_assistant(settings, router)


def _tools(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events if e["type"] == "tool.call"]


@pytest.mark.parametrize(("lang", "pay", "phrases"), [("zh", "帮我把电费交了", NOT_A_YES_ZH),
                                                      ("en", "pay my electricity bill", NOT_A_YES_EN)])
async def test_no_filler_or_question_pays_and_the_confirmation_stays(assistant, lang, pay, phrases):
    session, _ = assistant.open_session("u_li", lang)
    before = assistant.billing.balance("u_li").balance_fen
    assert [e for e in await say(assistant, session, pay) if e["type"] == "confirm.request"]
    pending = session.state.confirmation
    asked = 0
    for text in phrases:
        events = await say(assistant, session, text)
        assert "confirm_payment" not in _tools(events) and "cancel_payment" not in _tools(events), text
        assert session.state.confirmation == pending, text
        asked += "确认" in events[-1]["text"] or "confirm" in events[-1]["text"]
    assert assistant.billing.balance("u_li").balance_fen == before
    assert asked >= len(phrases) * 0.8  # most are answered by asking for 确认/取消 again
    events = await say(assistant, session, "确认" if lang == "zh" else "yes, go ahead")
    assert _tools(events) == ["confirm_payment"] and assistant.billing.balance("u_li").balance_fen < before


@pytest.mark.parametrize("text", YES_ZH + YES_EN)
async def test_every_genuine_yes_pays_once(assistant, text):
    session, _ = assistant.open_session("u_li", "zh")
    before = assistant.billing.balance("u_li").balance_fen
    await say(assistant, session, "帮我把水费交了")
    assert session.state.confirmation is not None
    events = await say(assistant, session, text)
    assert _tools(events) == ["confirm_payment"], events
    assert session.state.confirmation is None and assistant.billing.balance("u_li").balance_fen < before


@pytest.mark.parametrize("text", ["取消", "不交了", "no", "cancel"])
async def test_a_clear_no_cancels_without_charge(assistant, text):
    session, _ = assistant.open_session("u_li", "zh")
    before = assistant.billing.balance("u_li").balance_fen
    await say(assistant, session, "帮我把水费交了")
    events = await say(assistant, session, text)
    assert _tools(events) == ["cancel_payment"] and session.state.confirmation is None
    assert assistant.billing.balance("u_li").balance_fen == before


@pytest.mark.parametrize(("lang", "mode", "expected"), [
    ("zh", "standard", "要交的话请说“确认”，不交请说“取消”"),
    ("zh", "elder", "就说“确认”；不交，就说“取消”"),
    ("en", "standard", "say \"confirm\"; to leave it, say \"cancel\""),
    ("en", "elder", "say confirm. To stop, say cancel"),
])
async def test_the_question_again_in_each_language_and_mode(assistant, lang, mode, expected):
    session, _ = assistant.open_session("u_li", lang, mode)
    await say(assistant, session, "帮我把水费交了" if lang == "zh" else "pay my water bill")
    reply = (await say(assistant, session, "嗯？" if lang == "zh" else "hmm?"))[-1]
    assert expected in reply["text"] and reply["quick_replies"]
    if mode == "elder":
        assert "元" not in reply["text"] or any(c in reply["text"] for c in "一二三四五六七八九十")


@pytest.mark.parametrize("text", ["Okay.", "OK", "好", "好的", "对", "是的", "Sure.", "Yeah.", "可以", "alright", "All right.", "yea"])
def test_a_bare_acknowledgement_is_a_yes_typed_but_not_heard(text):
    """Speech loses the rising tone of "okay?" / "好？": a transcript needs a word that says what to do."""
    assert consent(text) == "yes" and consent(text, spoken=True) == "unclear"


@pytest.mark.parametrize("text", ["确认", "确定", "好的，交吧", "对，确认", "Yes.", "Yes, go ahead.", "Confirm.", "Pay it."])
def test_a_spoken_explicit_yes_still_pays(text):
    assert consent(text, spoken=True) == "yes"


# Transcripts Whisper base wrote for Kokoro clips of a clear Mandarin yes (evals/voice_consent.py, training
# phrases): the right syllables, the wrong characters. 确认 and 确定, which the waiting payment steers the
# recogniser to, count only as written: heard otherwise they are near misses, asked again.
@pytest.mark.parametrize(("heard", "said"), [("对教", "对，交吧"), ("没问题叫吧", "没问题，交吧"), ("试的胶吧", "是的，交吧"),
                                             ("那就叫吧", "那就交吧"), ("确认直复", "确认支付"), ("嗯，胶吧", "嗯，交吧"),
                                             ("可以复吧", "可以，付吧"), ("嗯，付巴", "嗯，付吧")])
def test_a_spoken_yes_heard_with_the_right_sounds_pays(heard, said):
    assert consent(said, spoken=True) == "yes"
    assert consent(heard, spoken=True) == "yes" and consent(heard) == "unclear"  # typed, it is not a yes
    assert consent("不" + heard, spoken=True) == "no" and consent(heard + "吗", spoken=True) == "unclear"


@pytest.mark.parametrize("heard", [
    "叫", "胶", "服", "嗯服", "嗯，叫", "就叫",  # one syllable, after fillers or not
    "确认妈", "努叫吧", "叫吧马", "好的就吧", "以确认", "确认角位",  # a syllable outside the grammar
    "缺人", "却人", "缺任谢谢", "嗯，缺任", "切认", "却定",  # 确认/确定 count only as written (a near miss)
    "却人吗", "叫吧？", "缺人吧吧", "叫吧……",  # a question or a hesitation, whatever the sounds
    "布交", "憋叫了", "对吧", "号定", "睡觉",  # a refusal's sounds, weak words alone, other words
    "副对", "复交", "服交吧", "嗯副交", "副吧",  # 不对, 不交 as Whisper wrote them: 付 starts a yes only as written
])
def test_only_a_whole_yes_by_sound_pays(heard):
    assert consent(heard, spoken=True) != "yes"


# 不 written as the yes word 付 (Whisper's plain beam of a slow 不对 held 付对): typed, 付对 or 付确认 is odd but
# not misheard; spoken, a 付 that opens the answer and goes on with more than 吧, 款 or thanks is the shape of a
# refusal (不对, 不确认, 不交吧, 不行, 不可以) and is asked again
@pytest.mark.parametrize(("heard", "refusal"), [
    ("付对", "不对"), ("付确认", "不确认"), ("付交吧", "不交吧"), ("付行", "不行"), ("付可以", "不可以"),
    ("嗯，付是", "嗯，不是"), ("就付交", "就不交"), ("付，确定", "不，确定"), ("付了吧", "不了吧"),
])
def test_a_spoken_answer_that_opens_with_fu_and_goes_on_is_not_a_yes(heard, refusal):
    assert consent(refusal, spoken=True) == "no"
    assert consent(heard, spoken=True) == "unclear" and consent(heard) == "yes"


@pytest.mark.parametrize("text", ["付", "付吧", "付款", "付款吧", "嗯，付吧", "付，谢谢", "可以付", "确认付款", "付钱",
                                  "付钱吧"])
def test_pay_on_its_own_or_with_ba_kuan_or_thanks_is_still_a_spoken_yes(text):
    assert consent(text, spoken=True) == "yes"


@pytest.mark.parametrize("text", ["听不清", "我听不懂", "没听清", "你说什么我没听见", "不明白", "I didn't catch that?"])
def test_not_catching_the_question_asks_again_and_does_not_cancel(text):
    assert consent(text) == "unclear" and consent(text, spoken=True) == "unclear"


@pytest.mark.parametrize("text", ["confirm the payment", "Confirm payment.", "confirm it"])
def test_confirming_the_payment_in_english_is_a_yes(text):
    assert consent(text) == "yes" and consent(text, spoken=True) == "yes"


# Questions about the waiting payment, which the router reads as a new balance or bill query. Written for
# this test; the restated question names the bill and spells out the amount.
ABOUT_IT = {"zh": ["多少钱来着？", "这是多少钱？", "要交多少？", "是这个月的吗？", "哪个账单啊？", "一共多少", "交了没",
                   "是不是这个月的"],
            "en": ["how much is it?", "how much again?", "which bill is it?", "what is this for?"]}
NOT_ABOUT_IT = {"zh": [("我还有多少钱", "五百元"), ("余额还剩多少？", "五百元"), ("水费多少？", "水费")],
                "en": [("what's my balance?", "five hundred"), ("how much is my water bill?", "Water")]}


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_question_about_the_waiting_payment_is_answered_by_saying_it_again(assistant, lang):
    session, _ = assistant.open_session("u_li", lang, "elder")
    before = assistant.billing.balance("u_li").balance_fen
    await say(assistant, session, "帮我把电费交了" if lang == "zh" else "pay my electricity bill")
    pending = session.state.confirmation
    assert pending is not None
    amount = "一百八十六元五角" if lang == "zh" else "one hundred eighty-six yuan and fifty fen"
    for text in ABOUT_IT[lang]:
        events = await say(assistant, session, text)
        assert not _tools(events) and session.state.confirmation == pending, (text, events)
        reply = events[-1]["text"]
        assert amount in reply and ("电费" in reply if lang == "zh" else "electricity" in reply), (text, reply)
        assert ("确认" if lang == "zh" else "confirm") in reply, (text, reply)
    for text, answer in NOT_ABOUT_IT[lang]:  # the balance itself, another bill: answered, and still waiting
        events = await say(assistant, session, text)
        assert answer in events[-1]["text"] and amount not in events[-1]["text"], (text, events[-1])
        assert session.state.confirmation == pending
    assert assistant.billing.balance("u_li").balance_fen == before


async def _heard(assistant, session, text: str) -> list[dict[str, Any]]:
    return await say(assistant, session, text, stt_ms=400.0)


@pytest.mark.parametrize(("lang", "mode", "pay", "unclear", "tap"), [
    ("zh", "elder", "帮我把电费交了", ["嗯", "缺了", "我想想"], "请点“确认付款”"),  # the elder page's button
    ("zh", "standard", "帮我把电费交了", ["切认", "嗯"], "请点“确认”按钮"),
    ("en", "elder", "pay my electricity bill", ["hmm", "okay"], "tap Confirm payment"),
    ("en", "standard", "pay my electricity bill", ["um", "maybe"], "tap Confirm"),
])
async def test_a_second_unclear_spoken_answer_points_at_the_buttons(assistant, lang, mode, pay, unclear, tap):
    session, _ = assistant.open_session("u_li", lang, mode)
    await say(assistant, session, pay)
    first = (await _heard(assistant, session, unclear[0]))[-1]
    assert tap not in first["text"] and first["quick_replies"]  # once: the usual question
    for text in unclear[1:]:
        again = (await _heard(assistant, session, text))[-1]
        assert tap in again["text"] and again["quick_replies"], (text, again)
        assert "电费" in again["text"] or "electricity" in again["text"]
    typed = (await say(assistant, session, unclear[0]))[-1]  # typed: the buttons are in front of them
    assert tap not in typed["text"]
    assert tap not in (await _heard(assistant, session, unclear[0]))[-1]["text"]  # a typed turn broke the run
    assert session.state.confirmation is not None


async def test_the_count_starts_again_for_a_new_payment(assistant):
    session, _ = assistant.open_session("u_li", "zh", "elder")
    await say(assistant, session, "帮我把电费交了")
    await _heard(assistant, session, "嗯")
    assert "请点" in (await _heard(assistant, session, "嗯"))[-1]["text"]
    await say(assistant, session, "取消")
    await say(assistant, session, "帮我把水费交了")
    assert "请点" not in (await _heard(assistant, session, "嗯"))[-1]["text"]
