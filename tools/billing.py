"""The payment ledger: balances, bills, and two-step payments (prepare, then confirm).

Amounts are integer fen everywhere in this API (``amount_fen``, ``balance_fen``); 100 fen = 1 yuan.
Use :func:`yuan_to_fen` on an ``amount`` slot (yuan) and :func:`fen_to_yuan` for display.

A payment pays for a target: one of the user's bills (``target_kind="bill"``) or a prepaid top-up
of a mobile number (``"phone"``, :meth:`Billing.prepare_topup`); both follow the same rules.

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
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from tools import ledger_sql as q
from tools.errors import InvalidArgument, NotFound, PaymentRefused, RefusalCode, ToolError
from tools.kinds import BILL_TYPES
from tools.phone import TOPUP_AMOUNTS, TOPUP_AMOUNTS_FEN, is_mobile
from tools.tables import (
    AUDIT_PAYMENT_DONE,
    BILL_STATUSES,
    Contact,
    utc_from_ts,
)


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
class SavedNumber:
    label: str  # "妈妈"
    aliases: tuple[str, ...]  # ("我妈", "老妈", "mom")
    phone: str


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
    bill: BillInfo | None  # None for a phone top-up
    target_kind: str = "bill"  # bill / phone
    target_id: str = ""  # the bill id, or the mobile number topped up


@dataclass(frozen=True)
class Receipt:
    payment_id: str
    confirmation_id: str
    amount_fen: int
    balance_after_fen: int
    done_at: datetime
    bill: BillInfo | None  # the bill as it is now (settled, or paid_fen raised); None for a top-up
    already_done: bool = False  # True when this confirmation had already been executed
    target_kind: str = "bill"
    target_id: str = ""


_BILL_FIELDS = ("id", "user_id", "bill_type", "biller_id", "biller_name_zh", "biller_name_en", "account",
                "account_label", "period", "amount_fen", "paid_fen", "due_date", "status", "allow_partial")


def _bill_info(row: sa.Row, prefix: str = "") -> BillInfo:
    """A bill from a row of :mod:`tools.ledger_sql` (its columns named ``prefix`` + the field's name)."""
    fields = row._mapping
    return BillInfo(*(fields[prefix + name] for name in _BILL_FIELDS))


def _audit(conn: sa.Connection, at: datetime, user_id: str, action: str, target: str, detail: dict) -> None:
    conn.execute(q.INSERT_AUDIT, {"at": at, "user_id": user_id, "action": action, "target": target,
                                  "detail_json": detail})


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

    def now(self) -> datetime:
        """The ledger's clock (what "this month" and "due soon" are measured from)."""
        return self._now()

    # ---------------------------------------------------------------- reads
    def balance(self, user_id: str) -> Balance:
        with self.engine.connect() as conn:
            wallet = conn.execute(q.BALANCE, {"user_id": user_id}).first()
        if wallet is None:
            raise NotFound(f"no wallet for user {user_id!r}")
        return Balance(user_id, wallet.balance_fen, wallet.currency)

    def bills(self, user_id: str, bill_type: str | None = None, status: str | None = None) -> list[BillInfo]:
        """The user's bills, newest period first; optionally one type and/or one status."""
        if bill_type is not None and bill_type not in BILL_TYPES:
            raise InvalidArgument(f"unknown bill_type {bill_type!r}; one of {', '.join(BILL_TYPES)}")
        if status is not None and status not in BILL_STATUSES:
            raise InvalidArgument(f"unknown status {status!r}; one of {', '.join(BILL_STATUSES)}")
        query = q.USER_BILLS[bill_type is not None, status is not None]
        with self.engine.connect() as conn:
            rows = conn.execute(query, {"user_id": user_id, "bill_type": bill_type, "status": status}).all()
        return [_bill_info(row) for row in rows]

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

    def contacts(self, user_id: str) -> list[SavedNumber]:
        """The numbers the user saved for people ("妈妈"), for "给我妈充话费"."""
        with Session(self.engine) as s:
            rows = s.exec(select(Contact).where(Contact.user_id == user_id).order_by(Contact.id)).all()
            return [SavedNumber(c.label, tuple(c.aliases.split()), c.phone) for c in rows]

    def save_contact(self, user_id: str, label: str, phone: str) -> SavedNumber:
        """Remember ``phone`` as ``label``'s number (a label saved before gets the new number)."""
        if not is_mobile(phone) or not label.strip():
            raise InvalidArgument("a contact needs a name and an 11-digit mobile number")
        with Session(self.engine) as s:
            row = s.exec(select(Contact).where(Contact.user_id == user_id, Contact.label == label)).first()
            row = row or Contact(user_id=user_id, label=label, phone=phone)
            row.phone = phone
            s.add(row)
            s.commit()
            return SavedNumber(row.label, tuple(row.aliases.split()), row.phone)

    # ---------------------------------------------------------------- prepare
    def prepare_payment(
        self, user_id: str, bill_id: str, amount_fen: int | None = None, *, idempotency_key: str
    ) -> PendingPayment:
        """Check everything and reserve a confirmation id; no money moves here.

        ``amount_fen=None`` pays what is still owed. A part payment is allowed only on bills that
        allow it. Calling again with the same ``idempotency_key`` returns the same payment.
        """
        return self._prepare(user_id, "bill", bill_id, amount_fen, idempotency_key,
                             lambda s: self._new_payment(s, user_id, bill_id, amount_fen, idempotency_key))

    def prepare_topup(self, user_id: str, phone: str, amount_fen: int, *, idempotency_key: str) -> PendingPayment:
        """Check a prepaid top-up of a mainland mobile number and reserve a confirmation id; no money
        moves here. The amount must be one of the menu's (:data:`tools.phone.TOPUP_AMOUNTS`)."""
        if not is_mobile(phone):
            raise InvalidArgument(f"not a mainland mobile number: {phone!r}")
        return self._prepare(user_id, "phone", phone, amount_fen, idempotency_key,
                             lambda s: self._new_topup(s, user_id, phone, amount_fen, idempotency_key))

    def _prepare(self, user_id: str, target_kind: str, target_id: str, amount_fen: int | None,
                 idempotency_key: str, insert: Callable[[sa.Connection], PendingPayment]) -> PendingPayment:
        """The idempotent part of preparing: the same key returns the same payment, for the same target."""
        if not idempotency_key:
            raise InvalidArgument("idempotency_key is required")
        if amount_fen is not None and (isinstance(amount_fen, bool) or not isinstance(amount_fen, int)):
            raise PaymentRefused("invalid-amount", f"amount_fen must be an int, got {amount_fen!r}")
        try:
            with self.engine.begin() as conn:
                existing = conn.execute(q.PAYMENT_BY_KEY, {"key": idempotency_key}).first()
                if existing is None:
                    return insert(conn)
        except IntegrityError:  # a parallel call with the same key inserted first
            with self.engine.connect() as conn:
                existing = conn.execute(q.PAYMENT_BY_KEY, {"key": idempotency_key}).first()
            if existing is None:
                raise
        if existing.user_id != user_id:  # told apart from nothing: no hint that the key exists
            raise PaymentRefused("idempotency-conflict", "idempotency key reused for another bill or amount")
        if (existing.target_kind, existing.target_id) != (target_kind, target_id) or (
                amount_fen is not None and amount_fen != existing.amount_fen):
            raise PaymentRefused("idempotency-conflict", "idempotency key reused for another bill or amount")
        if existing.status == "pending" and self._now() >= existing.expires_at:
            self._expire(existing)
        return self._pending_view(existing.id)

    def _new_payment(
        self, conn: sa.Connection, user_id: str, bill_id: str, amount_fen: int | None, idempotency_key: str
    ) -> PendingPayment:
        bill = conn.execute(q.BILL_BY_ID, {"bill_id": bill_id}).first()
        if bill is None or bill.user_id != user_id:  # someone else's bill looks like no bill at all
            raise PaymentRefused("bill-not-found", "no such bill")
        outstanding = bill.amount_fen - bill.paid_fen
        if bill.status == "paid" or outstanding <= 0:
            raise PaymentRefused("already-paid", f"bill {bill_id} is already paid")
        amount = outstanding if amount_fen is None else amount_fen
        if amount <= 0:
            raise PaymentRefused("invalid-amount", "the amount must be positive")
        if amount != outstanding and not (bill.allow_partial and amount < outstanding):
            raise PaymentRefused("amount-mismatch", f"bill {bill_id} owes {outstanding} fen, not {amount}")
        return self._view(self._insert(conn, user_id, "bill", bill_id, amount, idempotency_key), _bill_info(bill))

    def _new_topup(self, conn: sa.Connection, user_id: str, phone: str, amount_fen: int, idempotency_key: str
                   ) -> PendingPayment:
        if amount_fen not in TOPUP_AMOUNTS_FEN:
            raise PaymentRefused("invalid-amount", f"a top-up is one of {TOPUP_AMOUNTS} yuan, not {amount_fen} fen")
        return self._view(self._insert(conn, user_id, "phone", phone, amount_fen, idempotency_key), None)

    def _insert(self, conn: sa.Connection, user_id: str, target_kind: str, target_id: str, amount: int,
                idempotency_key: str) -> SimpleNamespace:
        """The pending payment row and its audit row, once the balance covers the amount."""
        wallet = conn.execute(q.BALANCE, {"user_id": user_id}).first()
        if wallet is None or wallet.balance_fen < amount:
            raise PaymentRefused("insufficient-balance", "the balance is lower than the amount")
        now = self._now()
        payment = SimpleNamespace(
            id=f"pay_{uuid.uuid4().hex[:20]}",
            user_id=user_id,
            target_kind=target_kind,
            target_id=target_id,
            bill_id=target_id if target_kind == "bill" else None,
            amount_fen=amount,
            status="pending",
            confirmation_id=f"cf_{secrets.token_urlsafe(16)}",
            idempotency_key=idempotency_key,
            created_at=now,
            expires_at=now + timedelta(seconds=self.confirm_ttl_s),
            done_at=None,
            balance_after_fen=None,
            error_code=None,
        )
        conn.execute(q.INSERT_PAYMENT, vars(payment))
        detail = {"bill_id": target_id} if target_kind == "bill" else {"target_kind": target_kind, "target_id": target_id}
        _audit(conn, now, user_id, "payment.prepared", payment.id, {**detail, "amount_fen": amount})
        return payment

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

    def _execute(self, p: sa.Row, now: datetime) -> bool:
        """The one transaction that moves money. False when another call got there first."""
        amount = {"amount": p.amount_fen}
        with self.engine.connect() as conn:
            with conn.begin() as tx:
                # the first write: on SQLite it takes the write lock, serialising confirms
                if conn.execute(q.CLAIM, {"payment_id": p.id, "now": now}).rowcount != 1:
                    tx.rollback()
                    return False
                if conn.execute(q.DEBIT, {"payer": p.user_id, **amount}).rowcount != 1:
                    raise PaymentRefused("insufficient-balance", "the balance is lower than the amount")
                settled = 1 if p.bill_id is None else conn.execute(q.SETTLE, {"bill_id": p.bill_id, **amount}).rowcount
                if settled != 1:
                    tx.rollback()  # release the write lock before marking the payment failed
                    code = self._fail(p, now)
                    raise PaymentRefused(code, "the bill no longer owes this amount")
                balance_after = conn.execute(q.BALANCE, {"user_id": p.user_id}).one().balance_fen
                conn.execute(q.BALANCE_AFTER, {"payment_id": p.id, "balance_after": balance_after})
                self._record_done(conn, p, balance_after, now)
        return True

    @staticmethod
    def _record_done(conn: sa.Connection, p: sa.Row, balance_after: int, now: datetime) -> None:
        """The audit row of a done payment, inside the money transaction."""
        _audit(conn, now, p.user_id, AUDIT_PAYMENT_DONE, p.id, {
            "bill_id": p.bill_id,
            "target_kind": p.target_kind,
            "target_id": p.target_id,
            "amount_fen": p.amount_fen,
            "balance_after_fen": balance_after,
            "confirmation_id": p.confirmation_id,
        })

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
    def _payment_for(self, user_id: str, confirmation_id: str) -> sa.Row:
        with self.engine.connect() as conn:
            payment = conn.execute(q.PAYMENT_BY_CONFIRMATION, {"confirmation_id": confirmation_id}).first()
        if payment is None or payment.user_id != user_id:  # someone else's looks like none at all
            raise PaymentRefused("confirmation-not-found", "no such confirmation")
        return payment

    def payment(self, user_id: str, confirmation_id: str) -> PendingPayment:
        """A prepared payment as it is now (its ``status`` may have moved on); read only."""
        return self._pending_view(self._payment_for(user_id, confirmation_id).id)

    def _transition(self, p: sa.Row, status: str, now: datetime, **detail: object) -> bool:
        """pending -> status (cancelled / expired / failed) with its audit row; False if it moved on."""
        with self.engine.begin() as conn:
            values: dict[str, object] = {"status": status}
            if "error_code" in detail:
                values["error_code"] = detail["error_code"]
            moved = conn.execute(
                sa.update(q.PAYMENTS).where(q.PAYMENTS.c.id == p.id, q.PAYMENTS.c.status == "pending").values(**values)
            ).rowcount
            if moved == 1:
                _audit(conn, now, p.user_id, f"payment.{status}", p.id, dict(detail))
            return moved == 1

    def _expire(self, p: sa.Row) -> None:
        self._transition(p, "expired", self._now())

    def _fail(self, p: sa.Row, now: datetime) -> RefusalCode:
        with self.engine.connect() as conn:
            bill = conn.execute(q.BILL_STATUS, {"bill_id": p.bill_id}).first()
        code: RefusalCode = "already-paid" if bill is None or bill.status == "paid" else "amount-mismatch"
        self._transition(p, "failed", now, error_code=code)
        return code

    def _load(self, payment_id: str) -> tuple[sa.Row, BillInfo | None]:
        with self.engine.connect() as conn:
            row = conn.execute(q.PAYMENT_WITH_BILL, {"payment_id": payment_id}).one()
        return row, (_bill_info(row, "b_") if row.b_id is not None else None)

    @staticmethod
    def _view(p: Any, bill: BillInfo | None) -> PendingPayment:
        return PendingPayment(
            p.id,
            p.confirmation_id,
            p.idempotency_key,
            p.status,
            p.amount_fen,
            p.created_at,
            p.expires_at,
            bill,
            p.target_kind,
            p.target_id,
        )

    def _pending_view(self, payment_id: str) -> PendingPayment:
        return self._view(*self._load(payment_id))

    def _receipt(self, payment_id: str, *, already_done: bool) -> Receipt:
        p, bill = self._load(payment_id)
        assert p.done_at is not None and p.balance_after_fen is not None
        return Receipt(
            p.id, p.confirmation_id, p.amount_fen, p.balance_after_fen, p.done_at, bill, already_done,
            p.target_kind, p.target_id,
        )

    # ---------------------------------------------------------------- consistency
    def ledger_check(self) -> list[str]:
        """The consistency checker (see :func:`tools.ledger.ledger_check`); empty = consistent."""
        from tools.ledger import ledger_check

        return ledger_check(self.engine)
