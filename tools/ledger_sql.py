"""The ledger's hot statements, built once as SQLAlchemy Core with bound parameters.

A turn reads a balance or the bills, prepares a payment, confirms it. Through ORM sessions each of
those built its statement again, generated its cache key and loaded ORM objects: about four times
the cost of the query itself on SQLite (evals/profile_turn.py). These are the same SQL statements,
made once at import and executed on a plain connection; rows come back as named tuples whose fields
are the column names (``row.status``, ``row.expires_at`` ...), typed as the tables declare them.
"""

from __future__ import annotations

import sqlalchemy as sa

from tools.tables import AuditLog, Bill, Biller, Payment, UTCDateTime, Wallet

WALLETS, BILLS, BILLERS, PAYMENTS, AUDIT = (t.__table__ for t in (Wallet, Bill, Biller, Payment, AuditLog))
_NOW = sa.bindparam("now", type_=UTCDateTime())
_AMOUNT = sa.bindparam("amount", type_=sa.BigInteger())

BALANCE = sa.select(WALLETS.c.balance_fen, WALLETS.c.currency).where(WALLETS.c.user_id == sa.bindparam("user_id"))

# a bill with its biller's names (BillInfo's fields)
_BILL_COLUMNS = (*BILLS.c, BILLERS.c.name_zh.label("biller_name_zh"), BILLERS.c.name_en.label("biller_name_en"))
_BILLS_OF_USER = sa.select(*_BILL_COLUMNS).join_from(BILLS, BILLERS, BILLERS.c.id == BILLS.c.biller_id)


def _user_bills(by_type: bool, by_status: bool) -> sa.Select:
    query = _BILLS_OF_USER.where(BILLS.c.user_id == sa.bindparam("user_id"))
    if by_type:
        query = query.where(BILLS.c.bill_type == sa.bindparam("bill_type"))
    if by_status:
        query = query.where(BILLS.c.status == sa.bindparam("status"))
    return query.order_by(BILLS.c.period.desc(), BILLS.c.bill_type, BILLS.c.account, BILLS.c.id)


# (filtered by type?, by status?) -> the user's bills, newest period first
USER_BILLS = {(t, s): _user_bills(t, s) for t in (False, True) for s in (False, True)}
BILL_BY_ID = _BILLS_OF_USER.where(BILLS.c.id == sa.bindparam("bill_id"))
BILL_STATUS = sa.select(BILLS.c.status).where(BILLS.c.id == sa.bindparam("bill_id"))

PAYMENT_BY_KEY = sa.select(PAYMENTS).where(PAYMENTS.c.idempotency_key == sa.bindparam("key"))
PAYMENT_BY_CONFIRMATION = sa.select(PAYMENTS).where(PAYMENTS.c.confirmation_id == sa.bindparam("confirmation_id"))
# a payment with its bill (and biller), if it pays one: the bill's columns prefixed "b_" (None: no bill)
PAYMENT_WITH_BILL = (
    sa.select(PAYMENTS, *(c.label(f"b_{c.name}") for c in _BILL_COLUMNS))
    .outerjoin_from(PAYMENTS, BILLS, BILLS.c.id == PAYMENTS.c.bill_id)
    .outerjoin(BILLERS, BILLERS.c.id == BILLS.c.biller_id)
    .where(PAYMENTS.c.id == sa.bindparam("payment_id"))
)
INSERT_PAYMENT = sa.insert(PAYMENTS)
INSERT_AUDIT = sa.insert(AUDIT)

# the money transaction (tools/billing.py Billing._execute), step by step
CLAIM = (sa.update(PAYMENTS)
         .where(PAYMENTS.c.id == sa.bindparam("payment_id"), PAYMENTS.c.status == "pending",
                PAYMENTS.c.expires_at > _NOW)
         .values(status="done", done_at=_NOW))
DEBIT = (sa.update(WALLETS)
         .where(WALLETS.c.user_id == sa.bindparam("payer"), WALLETS.c.balance_fen >= _AMOUNT)
         .values(balance_fen=WALLETS.c.balance_fen - _AMOUNT, version=WALLETS.c.version + 1))
SETTLE = (sa.update(BILLS)
          .where(BILLS.c.id == sa.bindparam("bill_id"), BILLS.c.status == "unpaid",
                 BILLS.c.paid_fen + _AMOUNT <= BILLS.c.amount_fen)
          .values(paid_fen=BILLS.c.paid_fen + _AMOUNT,
                  status=sa.case((BILLS.c.paid_fen + _AMOUNT >= BILLS.c.amount_fen, "paid"), else_="unpaid")))
BALANCE_AFTER = (sa.update(PAYMENTS).where(PAYMENTS.c.id == sa.bindparam("payment_id"))
                 .values(balance_after_fen=sa.bindparam("balance_after", type_=sa.BigInteger())))
