"""``top_up_phone``: prepare a prepaid top-up of a mainland mobile number (the user confirms later).

Like ``pay_bill`` it never moves money: it returns a pending payment whose confirmation id the
dialogue sends as ``confirm.request``; only a confirmation executes it (``Billing.confirm_payment``).
"""

from __future__ import annotations

from typing import Any

from tools.billing import SavedNumber, yuan_to_fen
from tools.bills import pending_view
from tools.context import ToolContext
from tools.phone import TOPUP_AMOUNTS, carrier, is_mobile, nearest_amount


def find_contact(contacts: list[SavedNumber], who: str) -> SavedNumber | None:
    """The saved number for "妈妈" / "我妈" / "mom": by label or alias, either way round."""
    want = who.strip().casefold()
    if not want:
        return None
    for c in contacts:
        names = [c.label.casefold(), *(a.casefold() for a in c.aliases)]
        if want in names or any(len(n) >= 2 and (n in want or want in n) for n in names):
            return c
    return None


def top_up_phone(ctx: ToolContext, amount: float, phone: str | None = None,
                 contact: str | None = None) -> dict[str, Any]:
    """Prepare a prepaid top-up (充话费) of a mainland mobile number; the user must confirm before money moves.

    Args:
        amount: yuan; one of 10, 20, 30, 50, 100, 200, 300, 500.
        phone: the 11-digit mobile number to top up.
        contact: who the number belongs to (妈妈, son ...) when the user gave no number; a saved number is used.
    """
    label = None
    if not phone and contact:
        saved = find_contact(ctx.billing.contacts(ctx.user_id), contact)
        if saved is None:
            return {"status": "need_phone", "contact": contact}
        phone, label = saved.phone, saved.label
    if not phone:
        return {"status": "need_phone"}
    phone = "".join(ch for ch in phone if ch.isdigit())
    if not is_mobile(phone):
        return {"status": "invalid_phone", "phone": phone}
    if amount not in TOPUP_AMOUNTS:
        return {"status": "amount_not_in_menu", "menu": list(TOPUP_AMOUNTS), "nearest": nearest_amount(amount)}
    amount_fen = yuan_to_fen(amount)
    key = f"{ctx.session_id}:{ctx.turn_key}:phone:{phone}:{amount_fen}"
    pending = ctx.billing.prepare_topup(ctx.user_id, phone, amount_fen, idempotency_key=key)
    return {**pending_view(pending), "phone": phone, "carrier": carrier(phone), "contact": label}
