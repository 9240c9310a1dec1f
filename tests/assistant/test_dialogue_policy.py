"""The dialogue policy with a scripted router (a fake of our own interface), real ledger on SQLite."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.nlu.types import Context, Understanding
from assistant.turns import Assistant
from tests.conftest import demo_assistant, say


class ScriptedRouter:
    """Answers each text with the Understanding the test scripted for it."""

    def __init__(self) -> None:
        self.script: dict[str, Understanding] = {}
        self.contexts: list[Context | None] = []

    def add(self, utterance: str, intent: str, confidence: float = 0.95, lang: str = "zh", **slots: Any) -> None:
        alts = ((intent, confidence), ("query_bill", 0.2), ("check_balance", 0.1))
        self.script[utterance] = Understanding(intent, confidence, dict(slots), "router", lang, alts)  # type: ignore[arg-type]

    def understand(self, text: str, context: Context | None = None, lang: str | None = None) -> Understanding:
        self.contexts.append(context)
        return self.script[text]


@pytest.fixture
def router() -> ScriptedRouter:
    return ScriptedRouter()


@pytest.fixture
def assistant(settings, router) -> Assistant:
    return demo_assistant(settings.model_copy(update={"router_min_confidence": 0.6}), router)


async def test_low_confidence_asks_to_clarify_with_choices(assistant, router):
    session, _ = assistant.open_session("u_li", "zh")
    router.add("那个费", "pay_bill", confidence=0.5)
    reply = (await say(assistant, session, "那个费"))[-1]
    assert reply["text"].startswith("我没太听明白") and reply["quick_replies"] == ["交费", "查账单", "查余额"]
    assert not [e for e in await say(assistant, session, "那个费") if e["type"] == "tool.call"]


async def test_account_chosen_by_ordinal_then_cancelled(assistant, router):
    session, _ = assistant.open_session("u_wang", "zh")
    router.add("交电费", "pay_bill", bill_type="electricity")
    router.add("第二个", "out_of_scope", confidence=0.8)
    router.add("算了", "cancel")
    await say(assistant, session, "交电费")
    assert session.state.awaiting_slot == "account"
    second = session.state.choices[1]["value"]
    events = await say(assistant, session, "第二个")
    call = [e for e in events if e["type"] == "tool.call"][0]
    assert call["args"]["account"] == second
    assert call["args"]["bill_type"] == "electricity"
    # Wang cannot afford it: refused, nothing pending, and a cancel has nothing left to cancel
    assert "余额不足" in events[-1]["text"] and session.state.confirmation is None
    assert (await say(assistant, session, "算了"))[-1]["text"] == "好的。还有什么可以帮您？"


@pytest.mark.parametrize(("lang", "text", "count"), [("zh", "交电费", "两个电费户号"),
                                                    ("en", "pay electricity", "2 electricity accounts")])
async def test_the_account_question_names_each_account(assistant, router, lang, text, count):
    """Heard, not read: an older person must hear the homes to answer "浦东那个"."""
    session, _ = assistant.open_session("u_wang", lang, "elder")
    router.add(text, "pay_bill", bill_type="electricity")
    reply = (await say(assistant, session, text))[-1]
    labels = [c["label"] for c in session.state.choices]
    assert len(labels) == 2 and count in reply["text"] and all(label in reply["text"] for label in labels)
    assert reply["quick_replies"] == labels and ("浦东新房子" in labels[0] or "浦东新房子" in labels[1])


@pytest.mark.parametrize(("answer", "tail"), [("浦东那个", "5666"), ("老房子", "7654"), ("静安的", "7654"),
                                              ("尾号5666", "5666")])
async def test_account_chosen_by_part_of_its_name(assistant, router, answer, tail):
    session, _ = assistant.open_session("u_wang", "zh")
    router.add("交电费", "pay_bill", bill_type="electricity")
    router.add(answer, "greet", confidence=0.5)
    await say(assistant, session, "交电费")
    events = await say(assistant, session, answer)
    call = [e for e in events if e["type"] == "tool.call"][0]
    assert call["args"]["account"].endswith(tail)


async def test_an_ambiguous_part_of_a_name_asks_again(assistant, router):
    session, _ = assistant.open_session("u_wang", "zh")
    router.add("交电费", "pay_bill", bill_type="electricity")
    router.add("房子那个", "out_of_scope", confidence=0.9)
    await say(assistant, session, "交电费")
    events = await say(assistant, session, "房子那个")  # both homes are "…房子"
    assert not [e for e in events if e["type"] == "tool.call"] and "哪一个" in events[-1]["text"]


async def test_cancel_while_asked_for_a_slot_drops_the_request(assistant, router):
    session, _ = assistant.open_session("u_amy", "en")
    router.add("pay a bill", "pay_bill", lang="en")
    router.add("never mind", "cancel", lang="en")
    assert "Which bill" in (await say(assistant, session, "pay a bill"))[-1]["text"]
    assert (await say(assistant, session, "never mind"))[-1]["text"] == "OK, cancelled."
    assert session.state.pending_intent is None


async def test_unrelated_question_keeps_the_pending_request(assistant, router):
    session, _ = assistant.open_session("u_amy", "en")
    router.add("pay a bill", "pay_bill", lang="en")
    router.add("is it sunny", "out_of_scope", lang="en")
    await say(assistant, session, "pay a bill")
    reply = (await say(assistant, session, "is it sunny"))[-1]
    assert "Which bill" in reply["text"] and session.state.pending_intent == "pay_bill"


async def test_a_confident_new_request_replaces_the_pending_one(assistant, router):
    session, _ = assistant.open_session("u_wang", "zh")
    router.add("交电费", "pay_bill", bill_type="electricity")
    router.add("我还有多少钱", "check_balance")
    await say(assistant, session, "交电费")
    reply = (await say(assistant, session, "我还有多少钱"))[-1]
    assert "30.00元" in reply["text"] and session.state.pending_intent is None


async def test_confirm_with_nothing_pending_and_context_passed_to_router(assistant, router):
    session, _ = assistant.open_session("u_li", "zh")
    router.add("好的", "confirm")
    router.add("交水费", "pay_bill", bill_type="water")
    assert (await say(assistant, session, "好的"))[-1]["text"] == "现在没有需要确认的事项。"
    assert router.contexts[-1].awaiting_confirmation is False
    await say(assistant, session, "交水费")
    await say(assistant, session, "好的")
    assert router.contexts[-1].awaiting_confirmation is True
    assert assistant.billing.bills("u_li", "water", "unpaid") == []


@pytest.mark.parametrize(("text", "confidence"), [("先别付", 0.9), ("don't pay it yet", 0.9), ("嗯", 0.5)])
async def test_an_unclear_yes_never_moves_money(assistant, router, text, confidence):
    session, _ = assistant.open_session("u_li", "zh")
    router.add("交水费", "pay_bill", bill_type="water")
    router.add(text, "confirm", confidence=confidence)
    router.add("确认", "confirm", confidence=0.95)
    before = assistant.billing.balance("u_li").balance_fen
    await say(assistant, session, "交水费")
    reply = (await say(assistant, session, text))[-1]
    assert "请说“确认”" in reply["text"] and assistant.billing.balance("u_li").balance_fen == before
    assert session.state.confirmation is not None
    await say(assistant, session, "确认")
    assert assistant.billing.balance("u_li").balance_fen < before


async def test_no_problem_is_a_yes(assistant, router):
    session, _ = assistant.open_session("u_li", "zh")
    router.add("交水费", "pay_bill", bill_type="water")
    router.add("好的没问题", "confirm", confidence=0.9)
    before = assistant.billing.balance("u_li").balance_fen
    await say(assistant, session, "交水费")
    await say(assistant, session, "好的没问题")
    assert assistant.billing.balance("u_li").balance_fen < before


async def test_second_payment_waits_for_the_first_to_be_settled(assistant, router):
    session, _ = assistant.open_session("u_li", "zh")
    router.add("交水费", "pay_bill", bill_type="water")
    router.add("交燃气费", "pay_bill", bill_type="gas")
    first = await say(assistant, session, "交水费")
    second = await say(assistant, session, "交燃气费")
    assert [e for e in first if e["type"] == "confirm.request"]
    assert not [e for e in second if e["type"] == "confirm.request"]
    assert "等待确认" in second[-1]["text"]


async def test_english_elder_mode_spells_money(assistant, router):
    session, _ = assistant.open_session("u_amy", "en", "elder")
    router.add("balance", "check_balance", lang="en")
    assert (await say(assistant, session, "balance"))[-1]["text"] == "You have one thousand yuan."


async def test_translate_from_the_glossary_and_without_llm(assistant, router):
    session, _ = assistant.open_session("u_li", "zh")
    router.add("余额用英语怎么说", "translate", text="余额", target_lang="en")
    router.add("我对花生过敏翻译成英文", "translate", text="我对花生过敏", target_lang="en")
    assert "balance" in (await say(assistant, session, "余额用英语怎么说"))[-1]["text"]
    assert "大模型" in (await say(assistant, session, "我对花生过敏翻译成英文"))[-1]["text"]


@pytest.mark.parametrize("text", ["交-10元电费", "交1e1元电费", "交1,5元电费"])
async def test_an_unreadable_amount_is_asked_for_not_guessed(assistant, router, text):
    from assistant.nlu.slots import extract_slots

    session, _ = assistant.open_session("u_li", "zh")
    router.add(text, "pay_bill", **extract_slots(text, "pay_bill"))
    router.add("交五十元", "pay_bill", amount=50)
    events = await say(assistant, session, text)
    assert "交多少元" in events[-1]["text"] and not [e for e in events if e["type"] == "tool.call"]
    assert session.state.awaiting_slot == "amount"
    events = await say(assistant, session, "交五十元")
    calls = [e for e in events if e["type"] == "tool.call"]
    assert calls and calls[0]["args"] == {"bill_type": "electricity", "amount": 50}
