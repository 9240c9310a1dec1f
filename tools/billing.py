"""The payment ledger: balances, bills, and two-step payments (prepare, then confirm).

Amounts are integer fen everywhere in this API (``amount_fen``, ``balance_fen``); 100 fen = 1 yuan.
Use :func:`yuan_to_fen` on an ``amount`` slot (yuan) and :func:`fen_to_yuan` for display.

Money moves only in :meth:`Billing.confirm_payment`, in one database transaction made of
conditional updates (payment pending -> done, wallet debited only if it holds enough, bill settled
only if still owed) plus the audit row. Any step that does not match exactly one row rolls the whole
transaction back, so the same code is safe under concurrency on SQLite and PostgreSQL, and a
repeated confirmation returns the first receipt instead of paying twice.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from assistant.store.db import session_scope
from assistant.store.models import (
    AUDIT_PAYMENT_DONE,
    BILL_STATUSES,
    AuditLog,
    Bill,
    Biller,
    Payment,
    Wallet,
    utc_from_ts,
)
from tools.errors import InvalidArgument, NotFound, PaymentRefused, RefusalCode, ToolError
from tools.kinds import BILL_TYPES


def yuan_to_fen(amount: Decimal | int | float | str) -> int:
    """``12.3`` yuan -> ``1230`` fen. Refuses non-numbers and amounts finer than one fen."""
    try:
        value = Decimal(str(amount)) * 100
    except (InvalidOperation, ValueError) as exc:
        raise PaymentRefused("invalid-amount", f"not an amount: {amount!r}") from exc
    if not value.is_finite() or value != value.to_integral_value():
        raise PaymentRefused("invalid-amount", f"not a whole number of fen: {amount!r}")
    return int(value)


def fen_to_yuan(fen: int) -> Decimal:
    """``1230`` fen -> ``Decimal("12.30")`` yuan."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Balance:
    user_id: str
    balance_fen: int
    currency: str = "CNY"


@dataclass(frozen=True)
class BillInfo:
    id: str
    user_id: str
    bill_type: str
    biller_id: str
    biller_name_zh: str
    biller_name_en: str
    account: str
    account_label: str
    period: str  # "2026-11"
    amount_fen: int  # the whole bill
    paid_fen: int
    due_date: date
    status: str  # unpaid / paid
    allow_partial: bool

    @property
    def outstanding_fen(self) -> int:
        return self.amount_fen - self.paid_fen


@dataclass(frozen=True)
class Account:
    """One account (户号) of a bill type, for asking "which home?"."""

    bill_type: str
    account: str
    account_label: str
    biller_name_zh: str
    biller_name_en: str
    unpaid_bills: int
    outstanding_fen: int


@dataclass(frozen=True)
class PendingPayment:
    """A prepared payment awaiting confirmation (``status`` may have moved on when replayed)."""

    payment_id: str
    confirmation_id: str
    idempotency_key: str
    status: str  # pending / done / cancelled / expired / failed
    amount_fen: int
    created_at: datetime
    expires_at: datetime
    bill: BillInfo


@dataclass(frozen=True)
class Receipt:
    payment_id: str
    confirmation_id: str
    amount_fen: int
    balance_after_fen: int
    done_at: datetime
    bill: BillInfo  # the bill as it is now (settled, or paid_fen raised by a part payment)
    already_done: bool = False  # True when this confirmation had already been executed


def _bill_info(bill: Bill, biller: Biller) -> BillInfo:
    return BillInfo(
        id=bill.id,
        user_id=bill.user_id,
        bill_type=bill.bill_type,
        biller_id=bill.biller_id,
        biller_name_zh=biller.name_zh,
        biller_name_en=biller.name_en,
        account=bill.account,
        account_label=bill.account_label,
        period=bill.period,
        amount_fen=bill.amount_fen,
        paid_fen=bill.paid_fen,
        due_date=bill.due_date,
        status=bill.status,
        allow_partial=bill.allow_partial,
    )


_STATUS_REFUSAL: dict[str, RefusalCode] = {
    "cancelled": "payment-cancelled",
    "expired": "confirmation-expired",
    "done": "already-paid",
}


class Billing:
    """The ledger service. Thread-safe; holds no state but the engine."""

    def __init__(
        self, engine: sa.Engine, *, confirm_ttl_s: float = 300, clock: Callable[[], float] = time.time
    ):
        self.engine = engine
        self.confirm_ttl_s = confirm_ttl_s
        self._clock = clock

    def _now(self) -> datetime:
        return utc_from_ts(self._clock())

    # ---------------------------------------------------------------- reads
    def balance(self, user_id: str) -> Balance:
        with Session(self.engine) as s:
            wallet = s.get(Wallet, user_id)
            if wallet is None:
                raise NotFound(f"no wallet for user {user_id!r}")
            return Balance(user_id, wallet.balance_fen, wallet.currency)

    def bills(self, user_id: str, bill_type: str | None = None, status: str | None = None) -> list[BillInfo]:
        """The user's bills, newest period first; optionally one type and/or one status."""
        if bill_type is not None and bill_type not in BILL_TYPES:
            raise InvalidArgument(f"unknown bill_type {bill_type!r}; one of {', '.join(BILL_TYPES)}")
        if status is not None and status not in BILL_STATUSES:
            raise InvalidArgument(f"unknown status {status!r}; one of {', '.join(BILL_STATUSES)}")
        query = select(Bill, Biller).join(Biller, Biller.id == Bill.biller_id).where(Bill.user_id == user_id)
        if bill_type is not None:
            query = query.where(Bill.bill_type == bill_type)
        if status is not None:
            query = query.where(Bill.status == status)
        query = query.order_by(Bill.period.desc(), Bill.bill_type, Bill.account, Bill.id)
        with Session(self.engine) as s:
            return [_bill_info(bill, biller) for bill, biller in s.exec(query).all()]

    def accounts(self, user_id: str, bill_type: str) -> list[Account]:
        """The distinct accounts the user has bills for, of one type (two homes -> two accounts)."""
        grouped: dict[tuple[str, str], list[BillInfo]] = {}
        for info in self.bills(user_id, bill_type):
            grouped.setdefault((info.biller_id, info.account), []).append(info)
        out = []
        for infos in grouped.values():
            unpaid = [i for i in infos if i.status == "unpaid"]
            first = infos[0]  # newest period: its label is the current one
            out.append(
                Account(
                    first.bill_type,
                    first.account,
                    first.account_label,
                    first.biller_name_zh,
                    first.biller_name_en,
                    len(unpaid),
                    sum(i.outstanding_fen for i in unpaid),
                )
            )
        return sorted(out, key=lambda a: a.account)

    # ---------------------------------------------------------------- prepare
    def prepare_payment(
        self, user_id: str, bill_id: str, amount_fen: int | None = None, *, idempotency_key: str
    ) -> PendingPayment:
        """Check everything and reserve a confirmation id; no money moves here.

        ``amount_fen=None`` pays what is still owed. A part payment is allowed only on bills that
        allow it. Calling again with the same ``idempotency_key`` returns the same payment.
        """
        if not idempotency_key:
            raise InvalidArgument("idempotency_key is required")
        if amount_fen is not None and (isinstance(amount_fen, bool) or not isinstance(amount_fen, int)):
            raise PaymentRefused("invalid-amount", f"amount_fen must be an int, got {amount_fen!r}")
        try:
            with session_scope(self.engine) as s:
                existing = s.exec(select(Payment).where(Payment.idempotency_key == idempotency_key)).first()
                if existing is None:
                    return self._new_payment(s, user_id, bill_id, amount_fen, idempotency_key)
        except IntegrityError:  # a parallel call with the same key inserted first
            with Session(self.engine) as s:
                existing = s.exec(select(Payment).where(Payment.idempotency_key == idempotency_key)).first()
            if existing is None:
                raise
        if existing.user_id != user_id:  # told apart from nothing: no hint that the key exists
            raise PaymentRefused("idempotency-conflict", "idempotency key reused for another bill or amount")
        if existing.bill_id != bill_id or (amount_fen is not None and amount_fen != existing.amount_fen):
            raise PaymentRefused("idempotency-conflict", "idempotency key reused for another bill or amount")
        if existing.status == "pending" and self._now() >= existing.expires_at:
            self._expire(existing)
        return self._pending_view(existing.id)

    def _new_payment(
        self, s: Session, user_id: str, bill_id: str, amount_fen: int | None, idempotency_key: str
    ) -> PendingPayment:
        row = s.exec(
            select(Bill, Biller).join(Biller, Biller.id == Bill.biller_id).where(Bill.id == bill_id)
        ).first()
        if row is None or row[0].user_id != user_id:  # someone else's bill looks like no bill at all
            raise PaymentRefused("bill-not-found", "no such bill")
        bill, biller = row
        outstanding = bill.amount_fen - bill.paid_fen
        if bill.status == "paid" or outstanding <= 0:
            raise PaymentRefused("already-paid", f"bill {bill_id} is already paid")
        amount = outstanding if amount_fen is None else amount_fen
        if amount <= 0:
            raise PaymentRefused("invalid-amount", "the amount must be positive")
        if amount != outstanding and not (bill.allow_partial and amount < outstanding):
            raise PaymentRefused("amount-mismatch", f"bill {bill_id} owes {outstanding} fen, not {amount}")
        wallet = s.get(Wallet, user_id)
        if wallet is None or wallet.balance_fen < amount:
            raise PaymentRefused("insufficient-balance", "the balance is lower than the amount")
        now = self._now()
        payment = Payment(
            id=f"pay_{uuid.uuid4().hex[:20]}",
            user_id=user_id,
            bill_id=bill_id,
            amount_fen=amount,
            status="pending",
            confirmation_id=f"cf_{secrets.token_urlsafe(16)}",
            idempotency_key=idempotency_key,
            created_at=now,
            expires_at=now + timedelta(seconds=self.confirm_ttl_s),
        )
        s.add(payment)
        s.add(
            AuditLog(
                at=now,
                user_id=user_id,
                action="payment.prepared",
                target=payment.id,
                detail_json={"bill_id": bill_id, "amount_fen": amount},
            )
        )
        s.flush()
        return self._view(payment, _bill_info(bill, biller))

    # ---------------------------------------------------------------- confirm / cancel
    def confirm_payment(self, user_id: str, confirmation_id: str) -> Receipt:
        """Execute a prepared payment, all or nothing; a repeat returns the first receipt."""
        for _ in range(5):  # each pass re-reads after losing a race to a parallel call
            payment = self._payment_for(user_id, confirmation_id)
            if payment.status == "done":
                return self._receipt(payment.id, already_done=True)
            if payment.status == "failed":
                raise PaymentRefused(payment.error_code or "already-paid")  # type: ignore[arg-type]
            if payment.status != "pending":
                raise PaymentRefused(_STATUS_REFUSAL[payment.status])
            now = self._now()
            if now >= payment.expires_at:
                self._expire(payment)
                continue
            if self._execute(payment, now):
                return self._receipt(payment.id, already_done=False)
        raise ToolError("the payment kept changing under this call", code="conflict", retryable=True)

    def _execute(self, p: Payment, now: datetime) -> bool:
        """The one transaction that moves money. False when another call got there first."""
        amt = p.amount_fen
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                claimed = s.exec(
                    sa.update(Payment)
                    .where(Payment.id == p.id, Payment.status == "pending", Payment.expires_at > now)
                    .values(status="done", done_at=now)
                ).rowcount  # the first write: on SQLite it takes the write lock, serialising confirms
                if claimed != 1:
                    s.rollback()
                    return False
                debited = s.exec(
                    sa.update(Wallet)
                    .where(Wallet.user_id == p.user_id, Wallet.balance_fen >= amt)
                    .values(balance_fen=Wallet.balance_fen - amt, version=Wallet.version + 1)
                ).rowcount
                if debited != 1:
                    raise PaymentRefused("insufficient-balance", "the balance is lower than the amount")
                settled = s.exec(
                    sa.update(Bill)
                    .where(
                        Bill.id == p.bill_id, Bill.status == "unpaid", Bill.paid_fen + amt <= Bill.amount_fen
                    )
                    .values(
                        paid_fen=Bill.paid_fen + amt,
                        status=sa.case((Bill.paid_fen + amt >= Bill.amount_fen, "paid"), else_="unpaid"),
                    )
                ).rowcount
                if settled != 1:
                    s.rollback()  # release the write lock before marking the payment failed
                    code = self._fail(p, now)
                    raise PaymentRefused(code, "the bill no longer owes this amount")
                balance_after = s.exec(select(Wallet.balance_fen).where(Wallet.user_id == p.user_id)).one()
                s.exec(sa.update(Payment).where(Payment.id == p.id).values(balance_after_fen=balance_after))
                self._record_done(s, p, balance_after, now)
                s.commit()
            except BaseException:
                s.rollback()
                raise
        return True

    def _record_done(self, s: Session, p: Payment, balance_after: int, now: datetime) -> None:
        """The audit row of a done payment, inside the money transaction."""
        s.add(
            AuditLog(
                at=now,
                user_id=p.user_id,
                action=AUDIT_PAYMENT_DONE,
                target=p.id,
                detail_json={
                    "bill_id": p.bill_id,
                    "amount_fen": p.amount_fen,
                    "balance_after_fen": balance_after,
                    "confirmation_id": p.confirmation_id,
                },
            )
        )
        s.flush()

    def cancel_payment(self, user_id: str, confirmation_id: str) -> PendingPayment:
        """Abandon a pending payment. Idempotent; a done payment cannot be cancelled."""
        for _ in range(5):
            payment = self._payment_for(user_id, confirmation_id)
            if payment.status == "done":
                raise PaymentRefused("already-paid", "this payment was already made")
            if payment.status != "pending" or self._transition(payment, "cancelled", self._now()):
                return self._pending_view(payment.id)
        raise ToolError("the payment kept changing under this call", code="conflict", retryable=True)

    # ---------------------------------------------------------------- helpers
    def _payment_for(self, user_id: str, confirmation_id: str) -> Payment:
        with Session(self.engine, expire_on_commit=False) as s:
            payment = s.exec(select(Payment).where(Payment.confirmation_id == confirmation_id)).first()
        if payment is None or payment.user_id != user_id:  # someone else's looks like none at all
            raise PaymentRefused("confirmation-not-found", "no such confirmation")
        return payment

    def payment(self, user_id: str, confirmation_id: str) -> PendingPayment:
        """A prepared payment as it is now (its ``status`` may have moved on); read only."""
        return self._pending_view(self._payment_for(user_id, confirmation_id).id)

    def _transition(self, p: Payment, status: str, now: datetime, **detail: object) -> bool:
        """pending -> status (cancelled / expired / failed) with its audit row; False if it moved on."""
        with session_scope(self.engine) as s:
            values: dict[str, object] = {"status": status}
            if "error_code" in detail:
                values["error_code"] = detail["error_code"]
            moved = s.exec(
                sa.update(Payment).where(Payment.id == p.id, Payment.status == "pending").values(**values)
            ).rowcount
            if moved == 1:
                s.add(
                    AuditLog(
                        at=now,
                        user_id=p.user_id,
                        action=f"payment.{status}",
                        target=p.id,
                        detail_json=dict(detail),
                    )
                )
            return moved == 1

    def _expire(self, p: Payment) -> None:
        self._transition(p, "expired", self._now())

    def _fail(self, p: Payment, now: datetime) -> RefusalCode:
        with Session(self.engine) as s:
            bill = s.get(Bill, p.bill_id)
        code: RefusalCode = "already-paid" if bill is None or bill.status == "paid" else "amount-mismatch"
        self._transition(p, "failed", now, error_code=code)
        return code

    def _load(self, payment_id: str) -> tuple[Payment, BillInfo]:
        with Session(self.engine) as s:
            payment, bill, biller = s.exec(
                select(Payment, Bill, Biller)
                .join(Bill, Bill.id == Payment.bill_id)
                .join(Biller, Biller.id == Bill.biller_id)
                .where(Payment.id == payment_id)
            ).one()
            return payment, _bill_info(bill, biller)

    @staticmethod
    def _view(p: Payment, bill: BillInfo) -> PendingPayment:
        return PendingPayment(
            p.id,
            p.confirmation_id,
            p.idempotency_key,
            p.status,
            p.amount_fen,
            p.created_at,
            p.expires_at,
            bill,
        )

    def _pending_view(self, payment_id: str) -> PendingPayment:
        return self._view(*self._load(payment_id))

    def _receipt(self, payment_id: str, *, already_done: bool) -> Receipt:
        p, bill = self._load(payment_id)
        assert p.done_at is not None and p.balance_after_fen is not None
        return Receipt(
            p.id, p.confirmation_id, p.amount_fen, p.balance_after_fen, p.done_at, bill, already_done
        )

    # ---------------------------------------------------------------- consistency
    def ledger_check(self) -> list[str]:
        """The consistency checker (see :func:`tools.ledger.ledger_check`); empty = consistent."""
        from tools.ledger import ledger_check

        return ledger_check(self.engine)
