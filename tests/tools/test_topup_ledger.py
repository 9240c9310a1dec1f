"""Phone top-ups in the ledger: the same two-phase, idempotent, atomic rules as bills (SQLite and
PostgreSQL), and the ledger check covers them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from assistant.store.models import AuditLog, Payment, Wallet
from tests.tools.test_billing import done_audits, refused, run_threads
from tools.errors import InvalidArgument, PaymentRefused


def test_topup_happy_path(engine, billing):
    pending = billing.prepare_topup("u_li", "13812345678", 5_000, idempotency_key="t1")
    assert (pending.target_kind, pending.target_id, pending.bill, pending.status) == ("phone", "13812345678",
                                                                                    None, "pending")
    assert billing.balance("u_li").balance_fen == 50_000  # nothing moves before the confirmation
    receipt = billing.confirm_payment("u_li", pending.confirmation_id)
    assert (receipt.target_kind, receipt.target_id, receipt.amount_fen) == ("phone", "13812345678", 5_000)
    assert receipt.balance_after_fen == billing.balance("u_li").balance_fen == 45_000
    assert done_audits(engine, pending.payment_id) == 1
    assert billing.ledger_check() == []


@pytest.mark.parametrize("phone", ["1381234567", "138123456789", "12812345678", "23812345678", "1381234567a", ""])
def test_topup_refuses_what_is_not_a_mobile_number(billing, phone):
    with pytest.raises(InvalidArgument):
        billing.prepare_topup("u_li", phone, 5_000, idempotency_key=f"bad{phone}")


@pytest.mark.parametrize("fen", [4_000, 1, 0, -1_000, 5_050])
def test_topup_refuses_amounts_off_the_menu(billing, fen):
    with refused("invalid-amount"):
        billing.prepare_topup("u_li", "13812345678", fen, idempotency_key=f"amt{fen}")


def test_topup_refuses_more_than_the_balance(billing):
    with refused("insufficient-balance"):  # 王大爷 has ¥30
        billing.prepare_topup("u_wang", "15612345678", 5_000, idempotency_key="poor")


def test_topup_key_is_idempotent_and_bound_to_its_target(billing):
    a = billing.prepare_topup("u_li", "13812345678", 5_000, idempotency_key="same")
    assert billing.prepare_topup("u_li", "13812345678", 5_000, idempotency_key="same").payment_id == a.payment_id
    with refused("idempotency-conflict"):
        billing.prepare_topup("u_li", "13987654321", 5_000, idempotency_key="same")
    with refused("idempotency-conflict"):
        billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="same")


def test_double_and_parallel_confirms_of_a_topup_pay_once(engine, billing):
    pending = billing.prepare_topup("u_amy", "13612345678", 10_000, idempotency_key="par")
    results = run_threads(6, lambda _: billing.confirm_payment("u_amy", pending.confirmation_id))
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(r.already_done for r in results) == [False] + [True] * 5
    assert billing.balance("u_amy").balance_fen == 100_000 - 10_000
    assert done_audits(engine, pending.payment_id) == 1
    assert billing.ledger_check() == []


def test_concurrent_topups_never_overdraw(billing):
    # 李阿姨 has ¥500: eight ¥100 top-ups fit alone, only five together
    pendings = [billing.prepare_topup("u_li", "13812345678", 10_000, idempotency_key=f"c{i}") for i in range(8)]
    results = run_threads(8, lambda i: billing.confirm_payment("u_li", pendings[i].confirmation_id))
    ok = [r for r in results if not isinstance(r, Exception)]
    assert len(ok) == 5, results
    assert {r.code for r in results if isinstance(r, PaymentRefused)} == {"insufficient-balance"}
    assert billing.balance("u_li").balance_fen == 0
    assert billing.ledger_check() == []


def test_ledger_check_includes_topups(engine, billing):
    pending = billing.prepare_topup("u_amy", "13612345678", 2_000, idempotency_key="lc")
    billing.confirm_payment("u_amy", pending.confirmation_id)
    assert billing.ledger_check() == []
    with engine.begin() as conn:  # a top-up whose wallet was not debited, and one with a broken target
        conn.execute(sa.update(Wallet).where(Wallet.user_id == "u_amy").values(balance_fen=100_000))
    problems = billing.ledger_check()
    assert any("wallet u_amy" in p for p in problems), problems
    with engine.begin() as conn:
        conn.execute(sa.update(Wallet).where(Wallet.user_id == "u_amy").values(balance_fen=98_000))
        conn.execute(sa.update(Payment).where(Payment.id == pending.payment_id)
                     .values(target_id="12345", amount_fen=2_000))
        conn.execute(sa.delete(AuditLog).where(AuditLog.target == pending.payment_id,
                                               AuditLog.action == "payment.done"))
    problems = billing.ledger_check()
    assert any(f"payment {pending.payment_id}" in p and "not a mobile number" in p for p in problems), problems
    assert any(f"payment {pending.payment_id}" in p and "0 payment.done" in p for p in problems), problems


def test_contacts_are_the_users_own(billing):
    assert {c.label for c in billing.contacts("u_li")} == {"妈妈", "儿子"}
    assert [c.phone for c in billing.contacts("u_amy")] == ["13612345678"]
    assert billing.contacts("u_nobody") == []


def test_bill_payments_name_their_bill_as_target(engine, billing):
    pending = billing.prepare_payment("u_li", "bill_li_gas_202611", idempotency_key="tg")
    with Session(engine) as s:
        row = s.exec(select(Payment).where(Payment.id == pending.payment_id)).one()
    assert (row.target_kind, row.target_id, row.bill_id) == ("bill", "bill_li_gas_202611", "bill_li_gas_202611")
