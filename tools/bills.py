"""Bill and balance tools: ``query_bill``, ``check_balance`` and ``pay_bill`` (which only prepares).

Amounts cross the tool boundary in yuan (what people and LLMs say) and are fen inside the ledger.
``pay_bill`` never moves money: it returns a pending payment whose confirmation id the dialogue
sends as ``confirm.request``; only a confirmation executes it (``Billing.confirm_payment``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tools.billing import Account, BillInfo, PendingPayment, yuan_to_fen
from tools.context import ToolContext
from tools.errors import PaymentRefused
from tools.kinds import BillType


def bill_view(bill: BillInfo) -> dict[str, Any]:
    data = asdict(bill)
    data["due_date"] = bill.due_date.isoformat()
    data["outstanding_fen"] = bill.outstanding_fen
    return data


def account_view(account: Account) -> dict[str, Any]:
    return asdict(account)


def pending_view(pending: PendingPayment) -> dict[str, Any]:
    return {
        "status": "pending_confirmation",
        "confirmation_id": pending.confirmation_id,
        "payment_id": pending.payment_id,
        "amount_fen": pending.amount_fen,
        "expires_at": pending.expires_at.isoformat(),
        "target_kind": pending.target_kind,
        "target_id": pending.target_id,
        "bill": bill_view(pending.bill) if pending.bill is not None else None,
    }


def matches_account(bill_account: str, wanted: str | None) -> bool:
    """A full account number, or its tail ("尾号2245"), picks the account."""
    if not wanted:
        return True
    digits = "".join(ch for ch in wanted if ch.isalnum())
    return bool(digits) and (bill_account == digits or bill_account.endswith(digits))


def query_bill(ctx: ToolContext, bill_type: BillType | None = None, account: str | None = None,
               include_paid: bool = False) -> dict[str, Any]:
    """Look up the user's bills: amounts owed, due dates and status.

    Args:
        bill_type: which kind of bill; all kinds when omitted.
        account: the account number (户号) or its last digits, when the user names one.
        include_paid: also list bills already paid (history).
    """
    bills = ctx.billing.bills(ctx.user_id, bill_type, None if include_paid else "unpaid")
    bills = [b for b in bills if matches_account(b.account, account)]
    return {"bills": [bill_view(b) for b in bills]}


def check_balance(ctx: ToolContext) -> dict[str, Any]:
    """Tell the user's wallet balance."""
    balance = ctx.billing.balance(ctx.user_id)
    return {"balance_fen": balance.balance_fen, "currency": balance.currency}


def pay_bill(ctx: ToolContext, bill_type: BillType, account: str | None = None,
             amount: float | None = None) -> dict[str, Any]:
    """Prepare paying one of the user's unpaid bills; the user must confirm before money moves.

    Args:
        bill_type: which kind of bill to pay.
        account: the account number (户号) or its last digits; needed when the user has several.
        amount: amount in yuan; defaults to what the bill still owes.
    """
    unpaid = [b for b in ctx.billing.bills(ctx.user_id, bill_type, "unpaid") if matches_account(b.account, account)]
    if not unpaid:
        return {"status": "no_unpaid_bill", "bill_type": bill_type}
    accounts = sorted({b.account for b in unpaid})
    if len(accounts) > 1:
        options = [a for a in ctx.billing.accounts(ctx.user_id, bill_type) if a.account in accounts]
        return {"status": "need_account", "bill_type": bill_type, "accounts": [account_view(a) for a in options]}
    bill = sorted(unpaid, key=lambda b: b.period)[0]  # oldest unpaid first
    amount_fen = None if amount is None else yuan_to_fen(amount)
    if amount_fen is not None and amount_fen <= 0:
        raise PaymentRefused("invalid-amount", "the amount must be positive")
    key = f"{ctx.session_id}:{ctx.turn_key}:{bill.id}:{amount_fen}"
    pending = ctx.billing.prepare_payment(ctx.user_id, bill.id, amount_fen, idempotency_key=key)
    return pending_view(pending)


def confirm_payment(ctx: ToolContext, confirmation_id: str) -> dict[str, Any]:
    """Execute a prepared payment the user has just confirmed (idempotent: never pays twice).

    Args:
        confirmation_id: the id sent to the client in ``confirm.request``.
    """
    receipt = ctx.billing.confirm_payment(ctx.user_id, confirmation_id)
    return {
        "payment_id": receipt.payment_id, "amount_fen": receipt.amount_fen,
        "balance_after_fen": receipt.balance_after_fen, "done_at": receipt.done_at.isoformat(),
        "already_done": receipt.already_done, "target_kind": receipt.target_kind, "target_id": receipt.target_id,
        "bill_type": receipt.bill.bill_type if receipt.bill else None,
        "bill_status": receipt.bill.status if receipt.bill else None,
    }


def cancel_payment(ctx: ToolContext, confirmation_id: str) -> dict[str, Any]:
    """Cancel a prepared payment; nothing is charged.

    Args:
        confirmation_id: the id sent to the client in ``confirm.request``.
    """
    pending = ctx.billing.cancel_payment(ctx.user_id, confirmation_id)
    return {"payment_id": pending.payment_id, "status": pending.status}
