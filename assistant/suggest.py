"""Reminders and next steps, from the user's own bills: never a fixed menu.

- :func:`due_soon`: the user's unpaid bills due within ``Settings.reminder_days`` (overdue ones too),
  said in one sentence at session start (when the client asks for ``reminders``), and as the answer to
  "这个月要交哪些" / "what bills are due this month" (``answers.query_bill`` with a period, no bill type).
- :func:`next_step`: after a completed payment, ONE offer as a quick reply: a bill named with the paid one
  ("帮我交电费和水费"), else another bill of the same home due soon, else the same home's other unpaid
  bills (autopay is not offered: lui has none). After a top-up to a number not saved yet, to remember it
  under a name (:func:`offer_to_remember`).
- :func:`offer_to_pay`: after an answer about one unpaid bill, "那交吧" / "pay it" pays that bill (an
  implicit offer: the answer asks nothing, so "好" alone does not take it).

An offer is remembered in the dialogue state (``offer``): "好" takes it (which only *prepares* the
payment: money still waits for its own confirm.request and a clear yes); anything else drops it, and a
dropped offer is never made again in the session (``declined``), unless it was implicit.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from assistant.nlu.consent import consent, doubts
from assistant.nlu.types import Understanding
from assistant.turn_context import ReplyOut, TurnContext
from tools.billing import BillInfo
from tools.history import local_date
from tools.phone import grouped

SAVE_CONTACT = "save_contact"  # not an intent: the offer to remember a topped-up number


def offer_key(bill: BillInfo) -> str:
    return f"pay_bill:{bill.id}"


def due_soon(bills: list[BillInfo], today: date, days: int) -> list[BillInfo]:
    """Unpaid bills due by ``today + days`` (overdue included), soonest first."""
    last = today + timedelta(days=days)
    return sorted((b for b in bills if b.status == "unpaid" and b.outstanding_fen > 0 and b.due_date <= last),
                  key=lambda b: (b.due_date, b.bill_type, b.account))


def _home(bill: BillInfo) -> str:
    return bill.account_label or bill.account


def pick_next(bills: list[BillInfo], paid: BillInfo, today: date, days: int, declined: set[str]) -> BillInfo | None:
    """The one bill to offer after ``paid``: same home and due soon, else same home; never a declined one."""
    others = [b for b in bills if b.id != paid.id and b.status == "unpaid" and b.outstanding_fen > 0
              and offer_key(b) not in declined and b.user_id == paid.user_id]
    same_home = [b for b in others if _home(b) == _home(paid)]
    soon = due_soon(same_home, today, days)
    if soon:
        return soon[0]
    return min(same_home, key=lambda b: (b.due_date, b.bill_type, b.account), default=None)


def pay_label(turn: TurnContext, bill_type: str) -> str:
    name = turn.voice.bill_name(bill_type)
    return f"交{name}" if turn.lang == "zh" else f"Pay {name}"


def _today(turn: TurnContext) -> date:
    return local_date(turn.assistant.billing.now())


async def _bills(turn: TurnContext) -> list[BillInfo]:
    return await turn.assistant.pools.run("db", turn.assistant.billing.bills, turn.session.user_id, None, "unpaid")


async def next_step(turn: TurnContext, receipt: dict[str, Any]) -> tuple[str, str] | None:
    """After a completed bill payment: (the offer in a sentence, its quick reply), remembered in the state."""
    if receipt.get("target_kind", "bill") != "bill" or not receipt.get("target_id"):
        return None
    bills = await _bills(turn)
    paid = next((b for b in await turn.assistant.pools.run(
        "db", turn.assistant.billing.bills, turn.session.user_id, receipt.get("bill_type"))
        if b.id == receipt["target_id"]), None)
    if paid is None:
        return None
    today, days = _today(turn), turn.assistant.settings.reminder_days
    asked, turn.state.asked_too = turn.state.asked_too, []
    declined = set(turn.state.declined)
    by_due = sorted(bills, key=lambda b: b.due_date)
    bill = next((b for kind in asked for b in by_due  # the bill asked for too
                 if b.bill_type == kind and b.outstanding_fen > 0 and offer_key(b) not in declined), None)
    if bill is not None:  # 水电煤: the rest stay asked for, offered one after another
        turn.state.asked_too = [kind for kind in asked if kind not in (bill.bill_type, paid.bill_type)]
    bill = bill or pick_next(bills, paid, today, days, declined)
    if bill is None:
        return None
    voice = turn.voice
    key = "next_due" if bill in due_soon([bill], today, days) else "next_unpaid"
    text = voice.say(key, bill=voice.bill_name(bill.bill_type), amount=voice.money(bill.outstanding_fen),
                     due=turn.voice.date(bill.due_date.isoformat()),
                     home=bill.account_label or voice.account(bill.account))
    turn.state.offer = {"key": offer_key(bill), "intent": "pay_bill",
                        "slots": {"bill_type": bill.bill_type, "account": bill.account}}
    return text, pay_label(turn, bill.bill_type)


def due_window(today: date, days: int, period: str | None = None) -> int:
    """How many days ahead "due" reaches: ``days``, or to the end of this month when asked about
    this month ("这个月要交哪些"), whichever is later (on the 30th, a bill due on the 2nd still counts)."""
    if period != "this_month":
        return days
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return max(days, (month_end - today).days)


async def reminder(turn: TurnContext, days: int | None = None) -> ReplyOut | None:
    """Bills due within ``days`` (default ``Settings.reminder_days``), in one sentence with a quick
    reply per bill type; None when nothing is due."""
    days = turn.assistant.settings.reminder_days if days is None else days
    bills = due_soon(await _bills(turn), _today(turn), days)
    if not bills:
        return None
    voice = turn.voice
    parts = [voice.say("reminder_item", bill=voice.bill_name(b.bill_type), amount=voice.money(b.outstanding_fen),
                       due=turn.voice.date(b.due_date.isoformat())) for b in bills[:4]]
    text = voice.say("reminder", count=len(bills), items=("、" if turn.lang == "zh" else "; ").join(parts))
    labels = list(dict.fromkeys(pay_label(turn, b.bill_type) for b in bills))[:3]
    return ReplyOut(text, quick_replies=labels, card={"kind": "reminder", "bills": [
        {"id": b.id, "bill_type": b.bill_type, "account": voice.account(b.account), "outstanding_fen": b.outstanding_fen,
         "due_date": b.due_date.isoformat()} for b in bills]})


DUE_PERIODS = ("this_month", "recent")  # query_bill periods that ask what is due ("最近有什么要交的")


async def bills_due(turn: TurnContext, period: str) -> ReplyOut:
    """"这个月要交哪些": the user's unpaid bills due within the window (:func:`due_window`), in the
    reminder's one sentence; said plainly when nothing is due."""
    days = due_window(_today(turn), turn.assistant.settings.reminder_days, period)
    found = await reminder(turn, days)
    if found is not None:
        return found
    return ReplyOut(turn.voice.say("nothing_due_month" if period == "this_month" else "nothing_due", days=days))


def offer_to_pay(turn: TurnContext, bill_id: str, bill_type: str, account: str) -> None:
    """After an answer about one unpaid bill ("水费还没交，要交四十二元三角"): "那交吧", "帮我交了", "pay it"
    prepare that bill's payment. The answer asks nothing, so the offer is *implicit*: only words that say to
    pay take it (a bare "好" or "ok" is an acknowledgement), and dropping it declines nothing."""
    turn.state.offer = {"key": f"pay_bill:{bill_id}", "intent": "pay_bill", "implicit": True,
                        "slots": {"bill_type": bill_type, "account": account}}


_PAY_WORD = re.compile(r"[交缴付]|\bpay\b", re.IGNORECASE)


def says_to_pay(text: str) -> bool:
    """A clear yes that names paying: 交吧, 那交了吧, 帮我交了, pay it (not 好, 确认 alone, 交了吗, 先别交)."""
    return consent(text, spoken=True) == "yes" and _PAY_WORD.search(text) is not None


def _takes(offer: dict[str, Any], text: str, u: Understanding) -> bool:
    """Whether the utterance takes the offer: the router's confirm ("好", as before), a clear yes it may read as
    something else (那交了吧 as a cancel), or the offered request without its object (帮我交了吧). An implicit
    offer asked nothing, so it needs words that say to pay (交吧, 交一下吧; not a bare "好"), never a question."""
    without_object = offer["intent"] == "pay_bill" and u.intent == "pay_bill" and not u.slots.get("bill_type")
    if not offer.get("implicit"):
        return u.intent == "confirm" or consent(text) == "yes" or without_object
    if doubts(text):
        return False
    return says_to_pay(text) or without_object or (u.intent == "confirm" and _PAY_WORD.search(text) is not None)


def answer_to_offer(turn: TurnContext, text: str, u: Understanding) -> tuple[str, dict[str, Any]] | None:
    """The offer the last reply made, settled by this utterance: (intent, slots) when taken ("好");
    its own quick reply ("交水费") runs as the request it is. Anything else drops it, and a dropped
    offer is never made again this session (an implicit one, :func:`offer_to_pay`, may be). None: nothing
    to run here."""
    state = turn.state
    offer, state.offer = state.offer, None
    if offer is None:
        return None
    pressed = text.strip() == offer.get("label")  # its own quick reply
    if (pressed or _takes(offer, text, u)) and state.confirmation is None and state.pending_intent is None:
        named = {k: v for k, v in u.slots.items() if v} if u.intent == offer["intent"] and not pressed else {}
        return offer["intent"], dict(offer["slots"]) | named
    if u.intent == offer["intent"] and u.slots.get("bill_type") == offer["slots"].get("bill_type"):
        return None  # taken in words: the request runs as understood
    if not offer.get("implicit"):
        state.declined = [*state.declined, offer["key"]]
    return None


async def offer_to_remember(turn: TurnContext, phone: str) -> tuple[str, str] | None:
    """After a top-up to a number the user has not saved: offer to remember it (once per session)."""
    key = f"save_contact:{phone}"
    saved = await turn.assistant.pools.run("db", turn.assistant.billing.contacts, turn.session.user_id)
    if key in turn.state.declined or any(c.phone == phone for c in saved):
        return None
    label = "存下这个号码" if turn.lang == "zh" else "Save this number"
    turn.state.offer = {"key": key, "intent": SAVE_CONTACT, "slots": {"phone": phone}, "label": label}
    return turn.voice.say("offer_save_number", phone=grouped(phone)), label


def ask_contact_name(turn: TurnContext, slots: dict[str, Any]) -> ReplyOut:
    state = turn.state
    state.pending_intent, state.pending_slots, state.awaiting_slot, state.choices = SAVE_CONTACT, slots, "who", []
    return ReplyOut(turn.voice.say("ask_contact_name"))


_NAME_NOISE = re.compile(r"存成|存为|存|是|就叫|叫|的号码|的手机|号码|\bnumber\b|\bit'?s\b|\bsave as\b|[吧啊呀呢哦]+$|[,，。.!！?？“”\"']",
                         re.IGNORECASE)


async def contact_name_answer(turn: TurnContext, text: str, u: Understanding) -> ReplyOut:
    """The answer to "whose number is it?": saved under that name; no / cancel leaves it unsaved."""
    state, voice = turn.state, turn.voice
    phone = state.pending_slots.get("phone", "")
    if u.intent in ("deny", "cancel"):
        state.clear_pending()
        return ReplyOut(voice.say("contact_not_saved"))
    who = " ".join(_NAME_NOISE.sub(" ", text).split())
    if not who or len(who) > 12 or any(ch.isdigit() for ch in who):
        return ReplyOut(voice.say("ask_contact_name"))
    state.clear_pending()
    await turn.assistant.pools.run("db", turn.assistant.billing.save_contact, turn.session.user_id, who, phone)
    return ReplyOut(voice.say("contact_saved", who=who, phone=grouped(phone)))
