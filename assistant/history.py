"""The ``payment_history`` answer: what was paid, when, how much, in one sentence plus a card.

"电费交了没有" with no period asks about the current bill first: an unpaid one is said as such (with
a quick reply to pay it); otherwise the last payment, with its date ("已经交过了，11月5日交的").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assistant.suggest import offer_to_pay
from assistant.turn_context import ReplyOut, TurnContext
from tools.bills import matches_account
from tools.history import local_date
from tools.phone import grouped

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")
_RELATIVE = {"this_month": ("这个月", "this month"), "last_month": ("上个月", "last month"),
             "this_year": ("今年", "this year"), "last_year": ("去年", "last year"), "recent": ("最近", "recently")}


def period_phrase(turn: TurnContext, period: str | None) -> str:
    """"上个月" / "last month", "2026年10月" / "in October 2026"; "" for all time."""
    zh = turn.lang == "zh"
    if not period:
        return "" if zh else "on record"
    if period in _RELATIVE:
        return _RELATIVE[period][0 if zh else 1]
    try:
        if period.startswith("--"):
            month = int(period[2:])
            return f"{month}月" if zh else f"in {_MONTHS_EN[month - 1]}"
        if len(period) == 4:
            return f"{period}年" if zh else f"in {period}"
        month = int(period[5:7])
        return f"{period[:4]}年{month}月" if zh else f"in {_MONTHS_EN[month - 1]} {period[:4]}"
    except (ValueError, IndexError):
        return ""


def local_date_iso(done_at: str) -> str:
    return local_date(datetime.fromisoformat(done_at)).isoformat()


def _what(turn: TurnContext, item: dict[str, Any]) -> str:
    return turn.voice.say("topup_noun") if item["target_kind"] == "phone" else turn.voice.bill_name(item["bill_type"])


def _card(turn: TurnContext, data: dict[str, Any], period: str | None) -> dict[str, Any]:
    voice = turn.voice
    items = [{"payment_id": p["payment_id"], "target_kind": p["target_kind"], "bill_type": p["bill_type"],
              "name": _what(turn, p), "period": p["period"], "amount_fen": p["amount_fen"], "done_at": p["done_at"],
              "account": grouped(p["account"]) if p["target_kind"] == "phone" else voice.account(p["account"])}
             for p in data["payments"]]
    return {"kind": "history", "period": period or "", "total_fen": data["total_fen"], "items": items}


async def _unpaid(turn: TurnContext, bill_type: str, account: str | None) -> ReplyOut | None:
    """The bill of this type still owed, said as such; None when all are paid."""
    bills = await turn.assistant.pools.run("db", turn.assistant.billing.bills, turn.session.user_id, bill_type,
                                           "unpaid")
    bills = sorted((b for b in bills if matches_account(b.account, account)), key=lambda b: b.due_date)
    if not bills:
        return None
    voice, bill = turn.voice, bills[0]
    name = voice.bill_name(bill_type)
    label = f"交{name}" if turn.lang == "zh" else f"Pay {name}"
    offer_to_pay(turn, bill.id, bill.bill_type, bill.account)  # "那交了吧" pays it
    return ReplyOut(voice.say("history_unpaid", bill=name, amount=voice.money(bill.outstanding_fen),
                              due=turn.voice.date(bill.due_date.isoformat())), quick_replies=[label])


async def payment_history(turn: TurnContext, slots: dict[str, Any]) -> ReplyOut:
    voice = turn.voice
    bill_type, period, account = slots.get("bill_type"), slots.get("period"), slots.get("account")
    if bill_type and not period:  # "电费交了没有": is the current bill paid?
        unpaid = await _unpaid(turn, bill_type, account)
        if unpaid is not None:
            return unpaid
    latest_only = bool(bill_type) and period == "recent"  # "最近一笔水费": the last one, however old
    args = {"bill_type": bill_type, "period": None if latest_only else period, "account": account}
    result = await turn.call_tool("payment_history", args)
    if not result.ok:
        return ReplyOut(voice.say("tool_failed"))
    data = result.data
    card = _card(turn, data, period)
    phrase = period_phrase(turn, period)
    name = voice.bill_name(bill_type) if bill_type else voice.say("history_noun")
    if not data["payments"]:
        return ReplyOut(voice.say("history_none", period=phrase, bill=name), card=card)
    if bill_type:
        latest = data["payments"][0]
        when = turn.voice.date(local_date_iso(latest["done_at"]))
        key = "history_last" if latest_only else "history_paid_when"
        return ReplyOut(voice.say(key, period=phrase if period else "", bill=name, when=when,
                                  amount=voice.money(latest["amount_fen"])).replace("  ", " ").replace(" :", ":"),
                        card=card)
    names = list(dict.fromkeys(_what(turn, p) for p in data["payments"]))
    phrase = phrase or ("" if turn.lang == "zh" else "so far")
    return ReplyOut(voice.say("history_summary", period=phrase, period_cap=phrase[:1].upper() + phrase[1:],
                              count=len(data["payments"]), s="" if len(data["payments"]) == 1 else "s", total=voice.money(data["total_fen"]),
                              names=("、" if turn.lang == "zh" else ", ").join(names)), card=card)
