"""``payment_history``: the user's own done payments (bills and top-ups), by type, period and account.

Reads only committed (``done``) payments of the asking user. A period is a token of
``assistant.nlu.period`` resolved against the ledger's clock; a payment is in it when it was made in
it or when the bill it paid is for a month in it ("上个月的电费交了没有": October's bill, paid in November).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlmodel import Session, select

from tools.billing import Billing
from tools.bills import matches_account
from tools.context import ToolContext
from tools.kinds import BillType
from tools.tables import Bill, Biller, Payment

RECENT_DAYS = 90  # "最近" without a type: the payments of the last three months
LOCAL_TZ = timezone(timedelta(hours=8))  # the users' calendar (China Standard Time): "this month", "on Nov 5"


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


@dataclass(frozen=True)
class PaymentRecord:
    payment_id: str
    target_kind: str  # bill / phone
    target_id: str  # the bill id / the mobile number
    bill_type: str  # "phone" for a top-up
    account: str  # the bill's account, or the number topped up
    account_label: str
    period: str  # the bill's month ("" for a top-up)
    amount_fen: int
    done_at: datetime


def _month_start(d: date, back: int = 0) -> date:
    index = d.year * 12 + d.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def resolve_period(token: str | None, today: date) -> tuple[date, date] | None:
    """The dates [start, end) a period token covers; None = all time. ``--MM`` is the latest such month
    not after today; ``recent`` is the last :data:`RECENT_DAYS` days."""
    if not token:
        return None
    if token == "this_month":
        return _month_start(today), _month_start(today, -1)
    if token == "last_month":
        return _month_start(today, 1), _month_start(today)
    if token == "this_year":
        return date(today.year, 1, 1), date(today.year + 1, 1, 1)
    if token == "last_year":
        return date(today.year - 1, 1, 1), date(today.year, 1, 1)
    if token == "recent":
        return today - timedelta(days=RECENT_DAYS), today + timedelta(days=1)
    try:
        if token.startswith("--"):
            month = int(token[2:])
            year = today.year if month <= today.month else today.year - 1
            start = date(year, month, 1)
        elif len(token) == 4:
            return date(int(token), 1, 1), date(int(token) + 1, 1, 1)
        else:
            start = date(int(token[:4]), int(token[5:7]), 1)
    except ValueError:
        return None
    return start, _month_start(start, -1)


def _in_span(record: PaymentRecord, span: tuple[date, date] | None) -> bool:
    if span is None:
        return True
    start, end = span
    if start <= local_date(record.done_at) < end:
        return True
    return bool(record.period) and start <= date(int(record.period[:4]), int(record.period[5:7]), 1) < end


def payment_records(billing: Billing, user_id: str) -> list[PaymentRecord]:
    """Every done payment of the user, newest first."""
    query = (select(Payment, Bill, Biller)
             .outerjoin(Bill, Bill.id == Payment.bill_id)
             .outerjoin(Biller, Biller.id == Bill.biller_id)
             .where(Payment.user_id == user_id, Payment.status == "done")
             .order_by(Payment.done_at.desc(), Payment.id))
    out = []
    with Session(billing.engine) as s:
        for p, bill, _ in s.exec(query).all():
            assert p.done_at is not None
            out.append(PaymentRecord(
                p.id, p.target_kind, p.target_id, bill.bill_type if bill else "phone",
                bill.account if bill else p.target_id, bill.account_label if bill else "",
                bill.period if bill else "", p.amount_fen, p.done_at))
    return out


def select_records(records: list[PaymentRecord], *, bill_type: str | None, period: str | None,
                   account: str | None, today: date) -> list[PaymentRecord]:
    """The records a question asks about. ``phone`` covers phone bills and top-ups (both are 话费)."""
    span = resolve_period(period, today)
    return [r for r in records if (bill_type is None or r.bill_type == bill_type)
            and matches_account(r.account, account) and _in_span(r, span)]


def record_view(record: PaymentRecord) -> dict[str, Any]:
    return {**asdict(record), "done_at": record.done_at.isoformat()}


def payment_history(ctx: ToolContext, bill_type: BillType | None = None, period: str | None = None,
                    account: str | None = None) -> dict[str, Any]:
    """The user's completed payments (bills and phone top-ups), newest first, with their total.

    Args:
        bill_type: only payments for this kind of bill (phone covers phone bills and top-ups).
        period: this_month, last_month, this_year, last_year, recent, YYYY-MM, YYYY or --MM.
        account: the account number (户号) or its last digits.
    """
    today = local_date(ctx.billing.now())
    records = select_records(payment_records(ctx.billing, ctx.user_id), bill_type=bill_type, period=period,
                             account=account, today=today)
    return {"payments": [record_view(r) for r in records], "total_fen": sum(r.amount_fen for r in records),
            "today": today.isoformat()}
