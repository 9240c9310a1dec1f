"""The ledger check: sums the books and lists every inconsistency (an empty list = consistent).

Used by tests, the fault-injection suite and the load test after every run.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from tools.kinds import TARGET_KINDS
from tools.phone import TOPUP_AMOUNTS_FEN, is_mobile
from tools.tables import AUDIT_PAYMENT_DONE, AuditLog, Bill, Payment, Wallet


def ledger_check(engine: sa.Engine) -> list[str]:
    """Every inconsistency in the ledger, as sentences; an empty list means consistent.

    Checks: no negative balance; each wallet's ``initial_fen`` minus its done payments equals
    its balance; no bill paid beyond its amount, each bill's ``paid_fen`` equals its done
    payments and its status matches; every done payment has exactly one ``payment.done``
    audit row (and no such row exists for anything else); payments are on the payer's own bills;
    each payment's target matches its kind (a bill payment names its bill, a top-up a mobile number
    and a menu amount, and no bill). Top-ups count in the wallet sums like any payment.
    """
    done = Payment.status == "done"
    spent = (
        select(Payment.user_id.label("uid"), sa.func.sum(Payment.amount_fen).label("fen"))
        .where(done)
        .group_by(Payment.user_id)
        .subquery()
    )
    paid = (
        select(Payment.bill_id.label("bid"), sa.func.sum(Payment.amount_fen).label("fen"))
        .where(done)
        .group_by(Payment.bill_id)
        .subquery()
    )
    spent_fen = sa.func.coalesce(spent.c.fen, 0)
    paid_fen = sa.func.coalesce(paid.c.fen, 0)
    n_audit = sa.func.count(AuditLog.id)
    problems: list[str] = []
    with Session(engine) as s:
        for uid, initial, bal, out in s.exec(
            select(Wallet.user_id, Wallet.initial_fen, Wallet.balance_fen, spent_fen)
            .outerjoin(spent, spent.c.uid == Wallet.user_id)
            .where(sa.or_(Wallet.balance_fen < 0, Wallet.initial_fen - spent_fen != Wallet.balance_fen))
            .order_by(Wallet.user_id)
        ):
            if bal < 0:
                problems.append(f"wallet {uid}: negative balance {bal} fen")
            if initial - int(out) != bal:
                problems.append(
                    f"wallet {uid}: initial {initial} - paid {int(out)} = "
                    f"{initial - int(out)} fen, but the balance is {bal} fen"
                )
        for uid, out in s.exec(
            select(spent.c.uid, spent.c.fen).where(spent.c.uid.not_in(select(Wallet.user_id)))
        ):
            problems.append(f"user {uid}: {int(out)} fen of done payments but no wallet")
        for bid, amount, got, status, by_payments in s.exec(
            select(Bill.id, Bill.amount_fen, Bill.paid_fen, Bill.status, paid_fen)
            .outerjoin(paid, paid.c.bid == Bill.id)
            .where(
                sa.or_(
                    Bill.paid_fen < 0,
                    Bill.paid_fen > Bill.amount_fen,
                    Bill.paid_fen != paid_fen,
                    Bill.status != sa.case((Bill.paid_fen >= Bill.amount_fen, "paid"), else_="unpaid"),
                )
            )
            .order_by(Bill.id)
        ):
            if got > amount or got < 0:
                problems.append(f"bill {bid}: paid {got} fen of an amount of {amount} fen")
            if got != int(by_payments):
                problems.append(f"bill {bid}: paid_fen {got} but done payments sum to {int(by_payments)}")
            if status != ("paid" if got >= amount else "unpaid"):
                problems.append(f"bill {bid}: status {status!r} with {got} of {amount} fen paid")
        for pid, n in s.exec(
            select(Payment.id, n_audit)
            .outerjoin(
                AuditLog, sa.and_(AuditLog.target == Payment.id, AuditLog.action == AUDIT_PAYMENT_DONE)
            )
            .where(done)
            .group_by(Payment.id)
            .having(n_audit != 1)
            .order_by(Payment.id)
        ):
            problems.append(f"payment {pid}: done with {n} payment.done audit rows (want 1)")
        for (target,) in s.exec(
            select(AuditLog.target).where(
                AuditLog.action == AUDIT_PAYMENT_DONE,
                AuditLog.target.not_in(select(Payment.id).where(done)),
            )
        ):
            problems.append(f"audit: payment.done row for {target}, which is not a done payment")
        for pid, kind, target, bill_id in s.exec(
            select(Payment.id, Payment.target_kind, Payment.target_id, Payment.bill_id)
            .where(
                sa.or_(
                    Payment.target_kind.not_in(TARGET_KINDS),
                    sa.and_(Payment.target_kind == "bill", sa.or_(Payment.bill_id.is_(None),
                                                                  Payment.bill_id != Payment.target_id)),
                    sa.and_(Payment.target_kind != "bill", Payment.bill_id.is_not(None)),
                )
            )
            .order_by(Payment.id)
        ):
            problems.append(f"payment {pid}: target {kind} {target} does not match its bill {bill_id}")
        for pid, number, amount in s.exec(
            select(Payment.id, Payment.target_id, Payment.amount_fen).where(Payment.target_kind == "phone")
        ):
            if not is_mobile(number):
                problems.append(f"payment {pid}: top-up of {number!r}, not a mobile number")
            if amount not in TOPUP_AMOUNTS_FEN:
                problems.append(f"payment {pid}: top-up of {amount} fen, not a menu amount")
        for pid, payer, owner in s.exec(
            select(Payment.id, Payment.user_id, Bill.user_id)
            .join(Bill, Bill.id == Payment.bill_id)
            .where(Payment.user_id != Bill.user_id)
        ):
            problems.append(f"payment {pid}: user {payer} paid a bill of {owner}")
    return problems
