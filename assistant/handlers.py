"""The dialogue policy: what to do with an understood utterance, one handler per intent.

Slot filling ("交哪个户号的电费？"), confirmation before money moves, cancel at any point,
clarification when unsure, and a plain answer for everything the assistant cannot do.
"""

from __future__ import annotations

import re
from typing import Any

from assistant import answers
from assistant.dialogue import PendingConfirmation, fill_awaited_slot
from assistant.nlu.bill_types import also_named, parse_bill_type
from assistant.nlu.consent import asks_about_it, consent, doubts
from assistant.nlu.intents import SPECS, spec
from assistant.nlu.numbers import parse_amount
from assistant.nlu.payment_source import WALLET
from assistant.nlu.phone import find_phone
from assistant.nlu.types import OUT_OF_SCOPE, TRANSACTIONAL, Understanding
from assistant.nlu.unsupported_bills import UnsupportedBill, parse_unsupported_bill, unsupported_bill_request
from assistant.protocol import ConfirmRequest
from assistant.replies import BILL_NAMES
from assistant.spell import zh_number
from assistant.suggest import (
    SAVE_CONTACT,
    answer_to_offer,
    ask_contact_name,
    contact_name_answer,
    next_step,
    offer_to_remember,
    says_to_pay,
)
from assistant.turn_context import ReplyOut, TurnContext
from tools.bills import matches_account
from tools.phone import TOPUP_AMOUNTS, grouped
from tools.registry import ToolResult

# read from the intent table (assistant/nlu/intents.py)
SUGGESTIONS = {s.name: s.suggestion for s in SPECS if s.suggestion}
MENU = tuple(s.name for s in SPECS if s.in_menu)
SOCIAL = {s.name: s.reply for s in SPECS if s.reply}


def pick(turn: TurnContext, pair: tuple[str, str]) -> str:
    return pair[0] if turn.lang == "zh" else pair[1]


def yes_no(turn: TurnContext) -> list[str]:
    return [pick(turn, ("确认", "Yes")), pick(turn, ("取消", "Cancel"))]


def still_pending(turn: TurnContext, key: str = "still_pending") -> ReplyOut:
    """Remind that a payment waits for an explicit 确认/取消 (the state must hold one). ``key``
    "ask_consent": the answer was not a clear yes or no, so ask for 确认/取消 again."""
    voice, c = turn.voice, turn.state.confirmation
    assert c is not None
    what = voice.say("topup_noun") if c.target_kind == "phone" else voice.bill_name(c.bill_type)
    return ReplyOut(voice.say(key, bill=what, amount=voice.money(c.amount_fen)), quick_replies=yes_no(turn))


def sorry(turn: TurnContext) -> ReplyOut:
    """What lui can do; a spoken request may just have been misheard, and the answer says so."""
    return ReplyOut(turn.voice.say("out_of_scope_heard" if turn.heard else "out_of_scope"),
                    quick_replies=[pick(turn, SUGGESTIONS[i]) for i in MENU])


def unsupported_bill(turn: TurnContext, text: str, u: Understanding) -> UnsupportedBill | None:
    """A bill lui does not pay (车贷, credit card, rent ...), when the utterance asks to pay or check one."""
    if u.intent in ("pay_bill", "query_bill") and not u.slots.get("bill_type"):
        return parse_unsupported_bill(text)
    if u.intent == OUT_OF_SCOPE:  # "which bill?" → "房租" needs no pay word
        return parse_unsupported_bill(text) if turn.state.awaiting_slot == "bill_type" else unsupported_bill_request(text)
    if u.intent == "lookup_service":  # "I want to pay my insurance premium" read as a look-up
        return unsupported_bill_request(text)
    return None


async def out_of_scope(turn: TurnContext, bill: UnsupportedBill | None) -> ReplyOut:
    """What lui cannot do, said plainly: a bill it does not pay names the ones it does; else sorry."""
    if bill is None:
        return sorry(turn)
    offered = [c["label"] for c in turn.state.choices] if turn.state.awaiting_slot == "bill_type" else []
    return await answers.unsupported_bill(turn, bill, offered or sorry(turn).quick_replies)


def clarify(turn: TurnContext, u: Understanding) -> ReplyOut | None:
    """Below the clarify threshold, offer the likeliest intents as buttons; None when sure enough."""
    if u.confidence >= turn.assistant.settings.router_min_confidence:
        return None
    if u.intent == "lookup_service" and len(u.alternatives) > 1 and u.alternatives[1][0] == OUT_OF_SCOPE:
        return None  # a look-up or nothing we do: the catalogue search tells them apart (no match → sorry)
    options = [name for name, _ in u.alternatives if name in SUGGESTIONS][:3]
    if not options:
        return None
    return ReplyOut(turn.voice.say("clarify"), quick_replies=[pick(turn, SUGGESTIONS[i]) for i in options])


async def social(turn: TurnContext, intent: str) -> ReplyOut:
    if intent == "human_handoff":
        await turn.assistant.pools.run("db", turn.assistant.conversations.audit, "handoff.requested",
                                user_id=turn.session.user_id, target=turn.session.id)
    return ReplyOut(turn.voice.say(SOCIAL[intent]))


def nothing_to_settle(turn: TurnContext, intent: str) -> ReplyOut:
    """confirm / deny / cancel when no payment waits: re-ask a half-filled request, or drop it."""
    state, voice = turn.state, turn.voice
    if intent == "confirm":
        return ReplyOut(_reask(turn)) if state.pending_intent else ReplyOut(voice.say("nothing_pending"))
    had_pending = state.pending_intent is not None
    state.clear_pending()
    return ReplyOut(voice.say("cancelled" if had_pending else "nothing_to_cancel"))


async def handle_understanding(turn: TurnContext, text: str, u: Understanding) -> ReplyOut:
    state = turn.state
    state.last_intent = u.intent
    if u.intent == "pay_bill" and u.slots.get("bill_type") not in state.asked_too:
        state.asked_too = also_named(text)  # "帮我交电费和水费": water is offered next, once electricity is paid

    taken = answer_to_offer(turn, text, u)  # "好" to the next step the last reply offered
    if taken is not None:
        state.clear_pending()
        if taken[0] == SAVE_CONTACT:
            return ask_contact_name(turn, taken[1])
        return await run_intent(turn, *taken)
    if state.pending_intent == SAVE_CONTACT:  # "whose number is it?" (a clear new request moves on)
        if u.intent not in TRANSACTIONAL or u.confidence < turn.assistant.settings.router_min_confidence:
            return await contact_name_answer(turn, text, u)
        state.clear_pending()

    merged = fill_awaited_slot(state, text, u)  # pure: the answer to a question we asked, or None
    if state.confirmation is not None:  # a payment waits: only a clear yes moves money (see nlu.consent)
        settled = await _answer_to_confirmation(turn, text, u, answers_question=merged is not None)
        if settled is not None:
            return settled

    if merged is not None:  # the answer to the question we asked
        intent = state.pending_intent
        state.clear_pending()
        return await run_intent(turn, intent or "", merged)

    if u.intent in ("confirm", "deny", "cancel"):
        if state.pending_intent is None and says_to_pay(text):  # "那交吧" with nothing prepared: which bill?
            return await run_intent(turn, "pay_bill", {})
        return nothing_to_settle(turn, u.intent)

    if u.intent in SOCIAL:
        return await social(turn, u.intent)

    llm = turn.assistant.llm
    if llm is not None and llm.should_escalate(text, u):
        return await llm.handle(turn, text, u)

    bill = unsupported_bill(turn, text, u)
    if bill is not None:  # "帮我还信用卡": the bills we do pay (a half-filled request still waits)
        return await out_of_scope(turn, bill)

    if u.intent == OUT_OF_SCOPE:  # keep a half-filled request and ask again, else say what we can do
        return ReplyOut(_reask(turn)) if state.pending_intent else sorry(turn)

    asked = clarify(turn, u)
    if asked is not None:
        return asked

    state.clear_pending()
    return await run_intent(turn, u.intent, dict(u.slots))


async def _answer_to_confirmation(turn: TurnContext, text: str, u: Understanding, answers_question: bool) -> ReplyOut | None:
    """Settle the waiting payment on a clear yes or no; ask again on anything unclear that is not a
    new request. The router's reading never turns an unclear answer into a yes. None: a new request."""
    state = turn.state
    assert state.confirmation is not None
    answer = consent(text, spoken=turn.heard)
    if answer == "yes":
        return await _settle(turn, state.confirmation.confirmation_id, accept=True)
    corrected = _correction(state.confirmation, text)
    if corrected is not None:  # "不对，是13812345679", "换成水费": drop this one, prepare the corrected one
        await _settle(turn, state.confirmation.confirmation_id, accept=False)
        return await run_intent(turn, *corrected)
    if answer == "unclear" and _about_waiting_payment(state.confirmation, text, u):
        return still_pending(turn, "ask_consent")  # "多少钱来着？": the bill and the amount again
    new_request = u.intent in TRANSACTIONAL and u.confidence >= turn.assistant.settings.router_min_confidence
    if answer == "no" and not new_request and u.intent != "confirm":  # "先别付" read as a yes: ask again
        return await _settle(turn, state.confirmation.confirmation_id, accept=False)
    if new_request or u.intent == "human_handoff" or answers_question:
        return None
    llm = turn.assistant.llm  # a long or compound request may still go up (the LLM never settles)
    if llm is not None and llm.may_be_new_request(text, u):
        return None
    return still_pending(turn, _ask_again(turn))


_CORRECTION = re.compile(r"不对|不是|错了|换成|换一个|改成|改为|\b(?:no|not|wrong|actually|instead|change it to|make it)\b",
                         re.IGNORECASE)


def _correction(pending: PendingConfirmation, text: str) -> tuple[str, dict[str, Any]] | None:
    """The waiting action with what the answer corrects: another number or amount for a top-up (不对，是
    13812345679; 改成五十), another bill or amount for a bill payment (换成水费; 不对，交一百: a bill that cannot be
    paid in part then offers what it owes). None when the answer corrects nothing, or asks."""
    if _CORRECTION.search(text) is None or doubts(text):
        return None
    phone, _problem = find_phone(text)
    amount = None if phone else parse_amount(text)
    changed_amount = amount is not None and round(amount * 100) != pending.amount_fen
    if pending.action == "top_up_phone":
        if phone and phone != pending.target_id:
            return "top_up_phone", {"phone": phone, "amount": pending.amount_fen / 100}
        if changed_amount:  # 不对，充五十
            return "top_up_phone", {"phone": pending.target_id, "amount": amount}
    elif pending.action == "pay_bill":
        bill_type = parse_bill_type(text)
        if bill_type and bill_type != pending.bill_type:
            return "pay_bill", {"bill_type": bill_type}
        if changed_amount and bill_type in (None, pending.bill_type):  # 不对，交一百: the bill says what it takes
            return "pay_bill", {"bill_type": pending.bill_type, "account": pending.account, "amount": amount}
    return None


def _ask_again(turn: TurnContext) -> str:
    """ "ask_consent"; from the second unclear spoken answer in a row to the same payment, the question
    also points at the 确认/取消 buttons (a spoken 确认 is heard as 切认 or 缺了 often enough, README)."""
    state = turn.state
    assert state.confirmation is not None
    waiting = state.confirmation.confirmation_id
    counted_for, count = state.unclear_heard
    if not turn.heard:  # typed: the buttons are in front of them, and the run is broken
        count = 0
    else:
        count = count + 1 if counted_for == waiting else 1
    state.unclear_heard = (waiting, count)
    return "ask_consent_tap" if count >= 2 else "ask_consent"


def _about_waiting_payment(pending: PendingConfirmation, text: str, u: Understanding) -> bool:
    """A question about the payment that waits (多少钱来着？ which bill is it?), which the router reads as a
    balance or bill query: not one about the balance itself (我还有多少钱？) or another bill (水费多少？)."""
    if u.intent not in ("query_bill", "check_balance") or not asks_about_it(text):
        return False
    named = u.slots.get("bill_type")
    return not named or named == pending.bill_type


async def run_intent(turn: TurnContext, intent: str, slots: dict[str, Any]) -> ReplyOut:
    """Run the handler the intent table names for ``intent``."""
    found = spec(intent)
    if found is None or found.handler is None:
        assert intent not in TRANSACTIONAL, intent
        return ReplyOut(turn.voice.say("out_of_scope"))
    return await found.resolve_handler()(turn, slots)


async def lookup_service(turn: TurnContext, slots: dict[str, Any]) -> ReplyOut:
    # nothing in the catalogue matches: out of scope after all
    return await answers.lookup_service(turn, slots) or await out_of_scope(
        turn, unsupported_bill_request(slots.get("query", "")))


def _reask(turn: TurnContext) -> str:
    """The question for the slot we are waiting for (its reply key is in the intent table)."""
    state, voice = turn.state, turn.voice
    found = spec(state.pending_intent or "")
    key = found.asks.get(state.awaiting_slot or "") if found is not None else None
    return voice.say(key or "ask_bill_type_query", bill=voice.bill_name(state.pending_slots.get("bill_type")),
                     menu=topup_menu(turn), **_options(turn))


def _options(turn: TurnContext) -> dict[str, str]:
    """The offered choices said in the question, so a listener can answer by name: "浦东新房子 尾号3456、
    静安老房子 尾号7890" (``count``: 两 / 2)."""
    labels = [c["label"] for c in turn.state.choices]
    if turn.lang == "zh":
        return {"count": "两" if len(labels) == 2 else zh_number(len(labels)), "options": "、".join(labels)}
    options = " or ".join(labels) if len(labels) <= 2 else ", ".join(labels[:-1]) + ", or " + labels[-1]
    return {"count": str(len(labels)), "options": options}


def topup_menu(turn: TurnContext) -> str:
    """The top-up amounts in a phrase: "10、20……或500" / "10, 20, ... or 500"."""
    words = [str(a) for a in TOPUP_AMOUNTS]
    return ("、".join(words[:-1]) + "或" if turn.lang == "zh" else ", ".join(words[:-1]) + " or ") + words[-1]


def ask(turn: TurnContext, intent: str, slots: dict[str, Any], slot: str, choices: list[dict[str, str]]) -> ReplyOut:
    state = turn.state
    state.pending_intent, state.pending_slots, state.awaiting_slot, state.choices = intent, slots, slot, choices
    return ReplyOut(_reask(turn), quick_replies=[c["label"] for c in choices] or None)


async def pay_bill(turn: TurnContext, slots: dict[str, Any]) -> ReplyOut:
    state = turn.state
    if state.confirmation is not None:  # one pending payment at a time: settle it first
        return still_pending(turn)
    if slots.get("amount_error"):  # a sign, an exponent or odd digit groups: ask for the amount again
        slots = {k: v for k, v in slots.items() if k not in ("amount", "amount_error")}
        return ask(turn, "pay_bill", slots, "amount", [])
    if not slots.get("bill_type"):
        choices = [{"label": pick(turn, names), "value": key} for key, names in BILL_NAMES.items()]
        return ask(turn, "pay_bill", slots, "bill_type", choices)
    args = {k: slots.get(k) for k in ("bill_type", "account", "amount")}
    result = await turn.call_tool("pay_bill", args)
    return await after_pay_bill(turn, slots, result)


async def after_pay_bill(turn: TurnContext, slots: dict[str, Any], result: ToolResult) -> ReplyOut:
    """What follows a ``pay_bill`` call, whoever made it (router or LLM): ask which account,
    say there is nothing to pay, explain a refusal, or send ``confirm.request`` and wait.
    Money never moves here."""
    voice = turn.voice
    if not result.ok:
        owed, partial = await _owed_bill(turn, slots.get("bill_type"), slots.get("account"))
        if (result.error or {}).get("code") == "amount-mismatch" and owed > 0:  # offer what the bill owes
            return await _offer_amount(turn, slots, owed, partial)
        return await refusal(turn, result.error or {}, owed)
    data = result.data
    bill_name = voice.bill_name(slots["bill_type"])
    if data["status"] == "no_unpaid_bill":
        return ReplyOut(voice.say("no_unpaid", bill=bill_name))
    if data["status"] == "need_account":
        choices = [{"label": (a["account_label"] + " " if a["account_label"] else "") + voice.account(a["account"]),
                    "value": a["account"], "alias": a["account_label"]} for a in data["accounts"]]
        return ask(turn, "pay_bill", slots, "account", choices)
    bill = data["bill"]
    payee = bill["biller_name_zh"] if turn.lang == "zh" else bill["biller_name_en"]
    summary = voice.say("confirm_pay", payee=payee, bill=bill_name, amount=voice.money(data["amount_fen"]),
                        account=voice.account(bill["account"]))
    if slots.get("pay_from") not in (None, WALLET):  # a card or bank named: a note, never a reason to fail
        summary += (" " if turn.lang == "en" else "") + voice.say("pay_from_wallet")
    details = {"action": "pay_bill", "payee": payee, "bill_type": bill["bill_type"],
               "account": voice.account(bill["account"]), "amount_fen": data["amount_fen"],
               "amount": voice.money(data["amount_fen"]), "period": bill["period"]}
    return await ask_to_confirm(turn, PendingConfirmation(
        confirmation_id=data["confirmation_id"], action="pay_bill", payee=payee, target_kind="bill",
        target_id=bill["id"], bill_type=bill["bill_type"], amount_fen=data["amount_fen"], account=bill["account"],
        expires_at=data["expires_at"], summary=summary, details=details))


async def ask_to_confirm(turn: TurnContext, pending: PendingConfirmation) -> ReplyOut:
    """Any money-moving action, prepared: remember it, send ``confirm.request`` and wait for a clear yes."""
    turn.state.confirmation = pending
    await turn.emit(ConfirmRequest(confirmation_id=pending.confirmation_id, summary=pending.summary,
                                   expires_at=pending.expires_at, details=pending.details))
    return ReplyOut(pending.summary, quick_replies=yes_no(turn),
                    card={"kind": "confirm", "confirmation_id": pending.confirmation_id})


async def _owed_bill(turn: TurnContext, bill_type: str | None, account: str | None) -> tuple[int, bool]:
    """What the bill a refused payment was for still owes (oldest unpaid of that type and account), and
    whether it may be paid in part."""
    bills = await turn.assistant.pools.run("db", turn.assistant.billing.bills, turn.session.user_id, bill_type, "unpaid")
    bills = sorted((b for b in bills if b.account == account or matches_account(b.account, account)),
                   key=lambda b: b.period)
    return (bills[0].outstanding_fen, bills[0].allow_partial) if bills else (0, False)


async def _owed(turn: TurnContext, bill_type: str | None, account: str | None) -> int:
    return (await _owed_bill(turn, bill_type, account))[0]


async def _offer_amount(turn: TurnContext, slots: dict[str, Any], owed: int, partial: bool) -> ReplyOut:
    """A refused amount: offer what the bill owes ("好" takes it); a bill that may be paid in part also
    takes any smaller amount, and offers what the balance covers when that is less."""
    voice = turn.voice
    rest = {k: v for k, v in slots.items() if k not in ("amount", "amount_error")}
    ask(turn, "pay_bill", rest, "amount", [{"label": voice.money(owed), "value": str(owed / 100)}])
    label = f"交{owed / 100:g}元" if turn.lang == "zh" else f"Pay ¥{owed / 100:g}"
    cancel = pick(turn, ("取消", "Cancel"))
    if not partial:
        return ReplyOut(voice.say("offer_amount", amount=voice.money(owed)), quick_replies=[label, cancel])
    balance = (await turn.assistant.pools.run("db", turn.assistant.billing.balance, turn.session.user_id)).balance_fen
    part = (balance // 100) * 100  # whole yuan the wallet covers
    labels = [label]
    if 0 < part < owed:
        labels.append(f"先交{part / 100:g}元" if turn.lang == "zh" else f"Pay ¥{part / 100:g} for now")
    return ReplyOut(voice.say("offer_amount_partial", amount=voice.money(owed)), quick_replies=[*labels, cancel])


# one user-facing sentence per refusal code; anything else gets the generic one (never the ledger's text)
REFUSAL_REPLIES = {
    "confirmation-expired": "refused_expired", "already-paid": "refused_paid", "tool-failed": "tool_failed",
    "tool-timeout": "tool_failed", "conflict": "refused_busy", "confirmation-not-found": "refused_not_found",
    "bill-not-found": "refused_no_bill", "payment-cancelled": "refused_cancelled", "invalid-amount": "refused_invalid",
}


async def refusal(turn: TurnContext, error: dict[str, Any], owed_fen: int) -> ReplyOut:
    """A refused payment in words; ``owed_fen`` is what the bill it was for owes now."""
    voice, code = turn.voice, error.get("code")
    if code == "insufficient-balance":
        balance = await turn.assistant.pools.run("db", turn.assistant.billing.balance, turn.session.user_id)
        return ReplyOut(voice.say("refused_insufficient", amount=voice.money(owed_fen),
                                  balance=voice.money(balance.balance_fen)))
    if code == "amount-mismatch":
        return ReplyOut(voice.say("refused_amount", amount=voice.money(owed_fen)))
    if error.get("retryable") and code not in REFUSAL_REPLIES:
        return ReplyOut(voice.say("tool_failed"))
    return ReplyOut(voice.say(REFUSAL_REPLIES.get(code or "", "refused_other")))


async def _settle(turn: TurnContext, confirmation_id: str, accept: bool, receipt_if_done: bool = False) -> ReplyOut:
    """Execute or cancel a prepared payment. Safe to repeat: the ledger pays at most once.

    A repeat says "already done"; ``receipt_if_done`` gives the receipt instead (a resumed session
    whose payment went through before the crash never heard it)."""
    voice, state = turn.voice, turn.state
    name = "confirm_payment" if accept else "cancel_payment"
    result = await turn.call_tool(name, {"confirmation_id": confirmation_id})
    pending = state.confirmation
    retry_later = not result.ok and (result.error or {}).get("retryable", False)
    if pending is not None and pending.confirmation_id == confirmation_id and not retry_later:
        state.confirmation = None  # settled either way (a passing fault keeps it for a retry)
    if not result.ok:
        code = (result.error or {}).get("code")
        if not accept and code in ("payment-cancelled", "confirmation-expired"):
            return ReplyOut(voice.say("payment_cancelled"))
        owed = 0
        if pending is not None and pending.confirmation_id == confirmation_id:  # what the bill owes *now*
            owed = pending.amount_fen
            if code == "amount-mismatch":  # another payment got there first: say what is left
                owed = await _owed(turn, pending.bill_type, pending.account)
        return await refusal(turn, result.error or {}, owed)
    if not accept:
        return ReplyOut(voice.say("payment_cancelled"))
    receipt = result.data
    if receipt["already_done"] and not receipt_if_done:
        return ReplyOut(voice.say("already_paid"))
    # this payment's own balance afterwards, not whatever the wallet holds after later payments
    amount, balance = voice.money(receipt["amount_fen"]), voice.money(receipt["balance_after_fen"])
    card = {"kind": "receipt", "payment_id": receipt["payment_id"], "amount_fen": receipt["amount_fen"],
            "done_at": receipt["done_at"], "bill_type": receipt["bill_type"],
            "target_kind": receipt.get("target_kind", "bill")}
    if receipt.get("target_kind") == "phone":
        phone = grouped(receipt["target_id"])
        text = voice.say("topped_up", phone=phone, amount=amount, balance=balance)
        offer = None if receipt["already_done"] else await offer_to_remember(turn, receipt["target_id"])
        if offer is None:
            return ReplyOut(text, card={**card, "phone": phone})
        return ReplyOut(f"{text}{'' if turn.lang == 'zh' else ' '}{offer[0]}", quick_replies=[offer[1]],
                        card={**card, "phone": phone})
    # one next step from the user's own bills, or none; a receipt replayed on resume offers nothing
    step = None if receipt["already_done"] else await next_step(turn, receipt)
    text = voice.say("paid", amount=amount, balance=balance)
    if step is None:
        return ReplyOut(text, card=card)
    return ReplyOut(f"{text}{'' if turn.lang == 'zh' else ' '}{step[0]}", quick_replies=[step[1]], card=card)


async def handle_confirmation(turn: TurnContext, confirmation_id: str, accept: bool, receipt_if_done: bool = False) -> ReplyOut:
    return await _settle(turn, confirmation_id, accept, receipt_if_done)


async def handle_cancel(turn: TurnContext) -> ReplyOut:
    state = turn.state
    if state.confirmation is not None:
        return await _settle(turn, state.confirmation.confirmation_id, accept=False)
    had_pending = state.pending_intent is not None
    state.clear_pending()
    return ReplyOut(turn.voice.say("cancelled" if had_pending else "nothing_to_cancel"))
