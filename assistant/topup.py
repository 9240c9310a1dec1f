"""The ``top_up_phone`` dialogue: which number (said, or a saved contact's), how much (from the
menu), then ``confirm.request`` naming the number, its carrier and the amount. Money never moves here:
a clear yes settles it through the same path as a bill (``handlers._settle``)."""

from __future__ import annotations

from typing import Any

from assistant.dialogue import PendingConfirmation
from assistant.handlers import ask, ask_to_confirm, still_pending, topup_menu
from assistant.turn_context import ReplyOut, TurnContext
from tools.phone import CARRIER_NAMES, TOPUP_AMOUNTS, grouped, nearest_amount
from tools.registry import ToolResult

INTENT = "top_up_phone"


def _menu_replies(turn: TurnContext) -> list[str]:
    return [f"{a}元" if turn.lang == "zh" else f"¥{a}" for a in (30, 50, 100)]


def _without(slots: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in slots.items() if k not in names}


def _offer_nearest(turn: TurnContext, slots: dict[str, Any], amount: float) -> ReplyOut:
    """Not a menu amount: offer the nearest one; "好" takes it, any menu amount replaces it."""
    nearest = nearest_amount(amount)
    voice = turn.voice
    ask(turn, INTENT, _without(slots, "amount", "amount_error"), "amount",
        [{"label": voice.money(nearest * 100), "value": str(nearest)}])
    label = f"充{nearest}元" if turn.lang == "zh" else f"Top up ¥{nearest}"
    return ReplyOut(voice.say("topup_not_in_menu", menu=topup_menu(turn), nearest=voice.money(nearest * 100)),
                    quick_replies=[label, "取消" if turn.lang == "zh" else "Cancel"])


async def top_up_phone(turn: TurnContext, slots: dict[str, Any]) -> ReplyOut:
    state, voice = turn.state, turn.voice
    if state.confirmation is not None:  # one pending payment at a time: settle it first
        return still_pending(turn)
    if slots.get("phone_error") and not slots.get("phone"):
        out = ask(turn, INTENT, _without(slots, "phone_error"), "phone", [])
        return ReplyOut(voice.say("invalid_phone", digits=slots["phone_error"]), quick_replies=out.quick_replies)
    if not slots.get("phone") and not slots.get("contact"):
        return ask(turn, INTENT, slots, "phone", [])
    amount = slots.get("amount")
    if slots.get("amount_error") or amount is None:
        out = ask(turn, INTENT, _without(slots, "amount", "amount_error"), "amount", [])
        return ReplyOut(out.text, quick_replies=_menu_replies(turn))
    if float(amount) not in TOPUP_AMOUNTS:
        return _offer_nearest(turn, slots, float(amount))
    args = {"amount": amount, "phone": slots.get("phone"), "contact": slots.get("contact")}
    result = await turn.call_tool(INTENT, args)
    return await after_top_up(turn, slots, result)


async def after_top_up(turn: TurnContext, slots: dict[str, Any], result: ToolResult) -> ReplyOut:
    """What follows a ``top_up_phone`` call: ask for a number, or send ``confirm.request`` and wait."""
    voice = turn.voice
    if not result.ok:
        from assistant.handlers import refusal

        return await refusal(turn, result.error or {}, 0)
    data = result.data
    status = data["status"]
    if status == "need_phone":
        rest = _without(slots, "contact", "phone")
        out = ask(turn, INTENT, rest, "phone", [])
        if data.get("contact"):
            return ReplyOut(voice.say("no_contact", who=data["contact"]), quick_replies=out.quick_replies)
        return out
    if status == "invalid_phone":
        out = ask(turn, INTENT, _without(slots, "phone", "contact"), "phone", [])
        return ReplyOut(voice.say("invalid_phone", digits=data["phone"]), quick_replies=out.quick_replies)
    if status == "amount_not_in_menu":
        return _offer_nearest(turn, slots, float(slots.get("amount") or 0))
    phone = data["target_id"]
    names = CARRIER_NAMES.get(data.get("carrier") or "", CARRIER_NAMES[""])
    payee = names[0] if turn.lang == "zh" else names[1]
    who = ""
    if data.get("contact"):
        who = f"{data['contact']}的手机 " if turn.lang == "zh" else f"{data['contact']}'s phone "
    amount = voice.money(data["amount_fen"])
    summary = voice.say("confirm_topup", who=who, phone=grouped(phone), carrier=payee, amount=amount)
    details = {"action": INTENT, "payee": payee, "phone": grouped(phone), "carrier": data.get("carrier") or "",
               "amount_fen": data["amount_fen"], "amount": amount}
    pending = PendingConfirmation(
        confirmation_id=data["confirmation_id"], action=INTENT, payee=payee, target_kind="phone", target_id=phone,
        amount_fen=data["amount_fen"], expires_at=data["expires_at"], summary=summary, details=details)
    return await ask_to_confirm(turn, pending)
