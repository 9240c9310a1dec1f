"""The payment ledger on real databases: SQLite files in tmp_path, and PostgreSQL (a throwaway
server the suite starts, or ``LUI_TEST_DATABASE_URL``, a scratch database these tests wipe)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from assistant.store.models import AuditLog, Bill, Payment, Wallet
from tools.billing import fen_to_yuan, yuan_to_fen
from tools.errors import REFUSAL_CODES, InvalidArgument, NotFound, PaymentRefused


class refused:  # noqa: N801 - used like pytest.raises
    """``with refused("forbidden"):`` — the block must raise PaymentRefused with that code."""

    def __init__(self, code: str):
        assert code in REFUSAL_CODES
        self.code = code

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        assert exc_type is PaymentRefused, f"expected PaymentRefused({self.code}), got {exc!r}"
        assert exc.code == self.code, f"expected {self.code}, got {exc.code}: {exc}"
        return True


def snapshot(engine, user_id: str, bill_id: str):
    with Session(engine) as s:
        wallet = s.get(Wallet, user_id)
        bill = s.get(Bill, bill_id)
        pays = s.exec(select(Payment.id, Payment.status).where(Payment.bill_id == bill_id)).all()
        audits = s.exec(select(sa.func.count(AuditLog.id)).where(AuditLog.action == "payment.done")).one()
        return wallet.balance_fen, wallet.version, bill.status, bill.paid_fen, sorted(pays), audits


def done_audits(engine, payment_id: str) -> int:
    with Session(engine) as s:
        return s.exec(
            select(sa.func.count(AuditLog.id)).where(
                AuditLog.action == "payment.done", AuditLog.target == payment_id
            )
        ).one()


def run_threads(n: int, fn):
    """Run ``fn(i)`` in n threads released together; returns results or exceptions, by index."""
    barrier, results = threading.Barrier(n), [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


# ------------------------------------------------------------------ reads


def test_balance_bills_accounts(billing):
    assert billing.balance("u_li").balance_fen == 50_000
    assert billing.balance("u_wang").balance_fen == 3_000
    unpaid = billing.bills("u_li", status="unpaid")
    assert {b.bill_type for b in unpaid} == {"electricity", "water", "gas"}
    assert all(b.outstanding_fen == b.amount_fen for b in unpaid)
    assert [b.period for b in billing.bills("u_li", "electricity")] == ["2026-11", "2026-10"]
    homes = billing.accounts("u_wang", "electricity")
    assert len(homes) == 2 and {a.account_label for a in homes} == {"静安老房子", "浦东新房子"}
    assert all(a.unpaid_bills == 1 for a in homes)
    assert billing.bills("u_nobody") == []
    with pytest.raises(InvalidArgument):
        billing.bills("u_li", bill_type="coffee")
    with pytest.raises(NotFound):
        billing.balance("u_nobody")


def test_yuan_fen_conversion():
    assert yuan_to_fen("12.3") == 1230
    assert yuan_to_fen(186.5) == 18650
    assert yuan_to_fen(Decimal("0.01")) == 1
    assert fen_to_yuan(18650) == Decimal("186.50")
    for bad in ("0.001", "abc", float("nan"), "inf"):
        with refused("invalid-amount"):
            yuan_to_fen(bad)


# ------------------------------------------------------------------ prepare / confirm


def test_prepare_then_confirm_happy_path(engine, billing):
    pending = billing.prepare_payment("u_li", "bill_li_elec_202611", idempotency_key="t-1")
    assert pending.status == "pending" and pending.amount_fen == 18_650
    assert pending.bill.biller_name_zh == "国网上海市电力公司" and pending.bill.account == "3100123456"
    assert (pending.expires_at - pending.created_at).total_seconds() == 300
    assert billing.balance("u_li").balance_fen == 50_000  # nothing moves before confirmation

    receipt = billing.confirm_payment("u_li", pending.confirmation_id)
    assert not receipt.already_done
    assert receipt.amount_fen == 18_650 and receipt.balance_after_fen == 50_000 - 18_650
    assert receipt.bill.status == "paid" and receipt.bill.paid_fen == 18_650
    assert billing.balance("u_li").balance_fen == 31_350
    assert done_audits(engine, pending.payment_id) == 1
    assert billing.ledger_check() == []


def test_prepare_is_idempotent(engine, billing):
    first = billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="same")
    again = billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="same")
    assert again == first
    with Session(engine) as s:
        assert len(s.exec(select(Payment).where(Payment.bill_id == "bill_li_gas_202611")).all()) == 1
    with refused("idempotency-conflict"):
        billing.prepare_payment("u_li", "bill_li_water_202611", idempotency_key="same")
    with refused("idempotency-conflict"):  # another user's key: no hint that it exists
        billing.prepare_payment("u_amy", "bill_li_gas_202611", idempotency_key="same")
    billing.confirm_payment("u_li", first.confirmation_id)
    assert billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="same").status == "done"


def test_parallel_prepares_with_one_key_make_one_payment(engine, billing):
    results = run_threads(
        8, lambda _: billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="pp")
    )
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.confirmation_id for r in results}) == 1
    with Session(engine) as s:
        assert len(s.exec(select(Payment).where(Payment.idempotency_key == "pp")).all()) == 1


@pytest.mark.parametrize(
    ("user", "bill", "amount", "code"),
    [
        ("u_li", "bill_nope", None, "bill-not-found"),
        ("u_amy", "bill_li_elec_202611", None, "bill-not-found"),  # someone else's bill reads as none
        ("u_li", "bill_li_elec_202610", None, "already-paid"),
        ("u_li", "bill_li_elec_202611", 10_000, "amount-mismatch"),
        ("u_wang", "bill_wang_prop_202611", 40_000, "amount-mismatch"),  # more than owed, even partial
        ("u_li", "bill_li_elec_202611", 0, "invalid-amount"),
        ("u_li", "bill_li_elec_202611", -500, "invalid-amount"),
        ("u_li", "bill_li_elec_202611", 186.5, "invalid-amount"),  # fen are ints
        ("u_wang", "bill_wang_elec_old_202611", None, "insufficient-balance"),
    ],
)
def test_prepare_refusals(engine, billing, user, bill, amount, code):
    with refused(code):
        billing.prepare_payment(user, bill, amount, idempotency_key=f"k-{code}")
    with Session(engine) as s:
        assert s.exec(select(Payment).where(Payment.idempotency_key == f"k-{code}")).first() is None


def test_partial_payment(billing):
    pending = billing.prepare_payment("u_wang", "bill_wang_prop_202611", 2_000, idempotency_key="part")
    receipt = billing.confirm_payment("u_wang", pending.confirmation_id)
    assert receipt.bill.paid_fen == 2_000 and receipt.bill.status == "unpaid"
    assert receipt.bill.outstanding_fen == 30_000 and receipt.balance_after_fen == 1_000
    assert billing.ledger_check() == []


def test_confirm_refusals(billing, clock):
    pending = billing.prepare_payment("u_li", "bill_li_water_202611", idempotency_key="c")
    with pytest.raises(PaymentRefused) as foreign:  # someone else's confirmation looks like none at all
        billing.confirm_payment("u_amy", pending.confirmation_id)
    with pytest.raises(PaymentRefused) as missing:
        billing.confirm_payment("u_li", "cf_does_not_exist")
    assert (foreign.value.code, foreign.value.message) == (missing.value.code, missing.value.message)
    assert missing.value.code == "confirmation-not-found" and "cf_" not in missing.value.message
    assert billing.payment("u_li", pending.confirmation_id).status == "pending"
    assert billing.balance("u_li").balance_fen == 50_000


def test_double_confirm_pays_once(engine, billing):
    pending = billing.prepare_payment("u_amy", "bill_amy_phone_202611", idempotency_key="dbl")
    first = billing.confirm_payment("u_amy", pending.confirmation_id)
    second = billing.confirm_payment("u_amy", pending.confirmation_id)
    assert not first.already_done and second.already_done
    assert (second.payment_id, second.amount_fen, second.balance_after_fen, second.done_at) == (
        first.payment_id,
        first.amount_fen,
        first.balance_after_fen,
        first.done_at,
    )
    assert billing.balance("u_amy").balance_fen == 100_000 - 12_800
    assert done_audits(engine, pending.payment_id) == 1


def test_parallel_confirms_pay_once(engine, billing):
    pending = billing.prepare_payment("u_amy", "bill_amy_elec_202611", idempotency_key="par")
    results = run_threads(8, lambda _: billing.confirm_payment("u_amy", pending.confirmation_id))
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(r.already_done for r in results) == [False] + [True] * 7
    assert len({r.balance_after_fen for r in results}) == 1
    assert billing.balance("u_amy").balance_fen == 100_000 - 21_030
    assert done_audits(engine, pending.payment_id) == 1
    assert billing.ledger_check() == []


def test_competing_payments_never_overdraw(engine, billing):
    # 王大爷 has ¥30.00; six part payments of ¥10.00 each fit his balance alone, only three together
    pendings = [
        billing.prepare_payment("u_wang", "bill_wang_prop_202611", 1_000, idempotency_key=f"cp{i}")
        for i in range(6)
    ]
    results = run_threads(6, lambda i: billing.confirm_payment("u_wang", pendings[i].confirmation_id))
    ok = [r for r in results if not isinstance(r, Exception)]
    refusals = [r for r in results if isinstance(r, Exception)]
    assert len(ok) == 3 and all(isinstance(r, PaymentRefused) for r in refusals), results
    assert {r.code for r in refusals} == {"insufficient-balance"}
    assert billing.balance("u_wang").balance_fen == 0
    assert billing.bills("u_wang", "property")[0].paid_fen == 3_000
    assert billing.ledger_check() == []


def test_insufficient_at_confirm_changes_nothing(engine, billing):
    tv = billing.prepare_payment("u_wang", "bill_wang_tv_202611", idempotency_key="tv")
    part = billing.prepare_payment("u_wang", "bill_wang_prop_202611", 1_000, idempotency_key="prop")
    billing.confirm_payment("u_wang", part.confirmation_id)  # ¥20.00 left, the TV bill is ¥25.00
    before = snapshot(engine, "u_wang", "bill_wang_tv_202611")
    with refused("insufficient-balance"):
        billing.confirm_payment("u_wang", tv.confirmation_id)
    assert snapshot(engine, "u_wang", "bill_wang_tv_202611") == before  # payment still pending


def test_bill_settled_by_another_payment(engine, billing):
    a = billing.prepare_payment("u_li", "bill_li_water_202611", idempotency_key="wa")
    b = billing.prepare_payment("u_li", "bill_li_water_202611", idempotency_key="wb")
    billing.confirm_payment("u_li", a.confirmation_id)
    with refused("already-paid"):
        billing.confirm_payment("u_li", b.confirmation_id)
    with refused("already-paid"):  # and stays refused
        billing.confirm_payment("u_li", b.confirmation_id)
    assert billing.balance("u_li").balance_fen == 50_000 - 4_230
    with refused("already-paid"):
        billing.prepare_payment("u_li", "bill_li_water_202611", idempotency_key="wc")
    assert billing.ledger_check() == []


def test_expired_confirmation(engine, billing, clock):
    pending = billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="exp")
    clock.now += 301
    with refused("confirmation-expired"):
        billing.confirm_payment("u_li", pending.confirmation_id)
    with refused("confirmation-expired"):
        billing.confirm_payment("u_li", pending.confirmation_id)
    assert billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="exp").status == "expired"
    assert billing.balance("u_li").balance_fen == 50_000
    fresh = billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="exp-2")
    assert billing.confirm_payment("u_li", fresh.confirmation_id).bill.status == "paid"


def test_cancel(billing):
    pending = billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="can")
    assert billing.cancel_payment("u_li", pending.confirmation_id).status == "cancelled"
    assert billing.cancel_payment("u_li", pending.confirmation_id).status == "cancelled"  # idempotent
    with refused("payment-cancelled"):
        billing.confirm_payment("u_li", pending.confirmation_id)
    with refused("confirmation-not-found"):
        billing.cancel_payment("u_wang", pending.confirmation_id)
    done = billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="can-2")
    billing.confirm_payment("u_li", done.confirmation_id)
    with refused("already-paid"):
        billing.cancel_payment("u_li", done.confirmation_id)
    assert billing.balance("u_li").balance_fen == 50_000 - 6_800


def test_failure_mid_confirm_rolls_everything_back(engine, billing, monkeypatch):
    pending = billing.prepare_payment("u_li", "bill_li_elec_202611", idempotency_key="boom")
    before = snapshot(engine, "u_li", "bill_li_elec_202611")
    real_record = billing._record_done

    def record_then_fail(*args, **kwargs):
        real_record(*args, **kwargs)  # debit, bill and payment updates and audit row are all written ...
        raise RuntimeError("disk full")  # ... then the transaction dies before its commit

    monkeypatch.setattr(billing, "_record_done", record_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        billing.confirm_payment("u_li", pending.confirmation_id)
    assert snapshot(engine, "u_li", "bill_li_elec_202611") == before
    assert billing.ledger_check() == []

    monkeypatch.setattr(billing, "_record_done", real_record)  # the retry then succeeds, once
    assert not billing.confirm_payment("u_li", pending.confirmation_id).already_done
    assert billing.balance("u_li").balance_fen == 50_000 - 18_650


def test_ledger_check_finds_corruption(engine, billing):
    assert billing.ledger_check() == []
    pending = billing.prepare_payment("u_amy", "bill_amy_net_202611", idempotency_key="lc")
    billing.confirm_payment("u_amy", pending.confirmation_id)
    assert billing.ledger_check() == []
    with engine.begin() as conn:
        conn.execute(
            sa.update(Wallet).where(Wallet.user_id == "u_li").values(balance_fen=Wallet.balance_fen + 100)
        )
        conn.execute(
            sa.delete(AuditLog).where(
                AuditLog.target == pending.payment_id, AuditLog.action == "payment.done"
            )
        )
        conn.execute(sa.update(Bill).where(Bill.id == "bill_li_gas_202611").values(paid_fen=500))
    problems = billing.ledger_check()
    assert any("wallet u_li" in p for p in problems), problems
    assert any(f"payment {pending.payment_id}" in p and "0 payment.done" in p for p in problems), problems
    assert any("bill bill_li_gas_202611" in p for p in problems), problems
    assert not any("u_amy" in p and "wallet" in p for p in problems)
