"""Demo data, so a new user can try the assistant at once (``Settings.seed_demo``).

Three people, bills of all seven types for November 2026, and paid October history:

- ``u_li``   李阿姨 (zh), ¥500.00: electricity, water and gas to pay.
- ``u_wang`` 王大爷 (zh), ¥30.00: two homes, so two electricity accounts ("which home?"); a property
  fee that may be paid in part; only the ¥25.00 TV bill fits his balance (try insufficient balance).
- ``u_amy``  Amy (en), ¥1000.00: phone, internet and electricity.

Each has saved numbers for family (``CONTACTS``: 李阿姨's 妈妈 and 儿子 ...), for "给我妈充话费".

Seeding is idempotent: rows that exist already (by primary key) are left alone, never reset.
The historical payments are real ``done`` payments with their audit rows, and each wallet's
``initial_fen`` is its balance plus that history, so ``Billing.ledger_check`` holds from the start.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from assistant.store.models import AUDIT_PAYMENT_DONE, AuditLog, Bill, Biller, Contact, Payment, User, Wallet

CURRENT, PREVIOUS = "2026-11", "2026-10"
DUE_CURRENT, DUE_PREVIOUS = date(2026, 12, 15), date(2026, 11, 15)

USERS = [  # id, display name, lang, balance now (fen)
    ("u_li", "李阿姨", "zh", 50_000),
    ("u_wang", "王大爷", "zh", 3_000),
    ("u_amy", "Amy", "en", 100_000),
]

BILLERS = [  # id, bill type, name zh, name en
    ("sgcc_sh", "electricity", "国网上海市电力公司", "State Grid Shanghai Electric Power"),
    ("water_sh", "water", "上海城投水务", "Shanghai Chengtou Water"),
    ("gas_sh", "gas", "上海燃气", "Shanghai Gas"),
    ("cmcc", "phone", "中国移动", "China Mobile"),
    ("ct_broadband", "internet", "中国电信宽带", "China Telecom Broadband"),
    ("sunshine_pm", "property", "阳光花园物业服务中心", "Sunshine Garden Property Services"),
    ("oriental_tv", "tv", "东方有线", "Oriental Cable TV"),
]

# id, user, biller, account, label, period, amount (fen), allow partial
UNPAID = [
    ("bill_li_elec_202611", "u_li", "sgcc_sh", "3100123456", "家里", CURRENT, 18_650, False),
    ("bill_li_water_202611", "u_li", "water_sh", "SW20457781", "家里", CURRENT, 4_230, False),
    ("bill_li_gas_202611", "u_li", "gas_sh", "GAS88120345", "家里", CURRENT, 6_800, False),
    ("bill_wang_elec_old_202611", "u_wang", "sgcc_sh", "3100987654", "静安老房子", CURRENT, 9_520, False),
    ("bill_wang_elec_new_202611", "u_wang", "sgcc_sh", "3100555666", "浦东新房子", CURRENT, 5_870, False),
    ("bill_wang_prop_202611", "u_wang", "sunshine_pm", "A-3-1202", "浦东新房子", CURRENT, 32_000, True),
    ("bill_wang_tv_202611", "u_wang", "oriental_tv", "TV6021388", "静安老房子", CURRENT, 2_500, False),
    ("bill_amy_phone_202611", "u_amy", "cmcc", "13800138000", "my mobile", CURRENT, 12_800, False),
    ("bill_amy_net_202611", "u_amy", "ct_broadband", "02155667788", "apartment", CURRENT, 9_900, False),
    ("bill_amy_elec_202611", "u_amy", "sgcc_sh", "3100246810", "apartment", CURRENT, 21_030, False),
]

# October history, paid from the wallet on paid_at (UTC): id, user, biller, account, label, amount
PAID = [
    (
        "li_elec_202610",
        "u_li",
        "sgcc_sh",
        "3100123456",
        "家里",
        17_240,
        datetime(2026, 11, 5, 2, 0, tzinfo=UTC),
    ),
    (
        "wang_tv_202610",
        "u_wang",
        "oriental_tv",
        "TV6021388",
        "静安老房子",
        2_500,
        datetime(2026, 11, 8, 1, 30, tzinfo=UTC),
    ),
    (
        "amy_phone_202610",
        "u_amy",
        "cmcc",
        "13800138000",
        "my mobile",
        12_800,
        datetime(2026, 11, 3, 12, 15, tzinfo=UTC),
    ),
]


# saved numbers ("给我妈充话费"): user, label, other words for them, number
CONTACTS = [
    ("u_li", "妈妈", "我妈 老妈 妈 母亲 mom mother", "13812345678"),
    ("u_li", "儿子", "我儿子 儿子 son", "13987654321"),
    ("u_wang", "老伴", "我老伴 老伴儿 老婆 wife", "15612345678"),
    ("u_wang", "女儿", "我女儿 闺女 daughter", "18912345678"),
    ("u_amy", "mom", "妈妈 我妈 mother mum", "13612345678"),
]


def _demo_rows() -> list[list[SQLModel]]:
    """All demo rows, grouped in foreign-key order (each group is flushed before the next)."""
    spent = {uid: sum(p[5] for p in PAID if p[1] == uid) for uid, *_ in USERS}
    users = [User(id=uid, display_name=name, lang=lang) for uid, name, lang, _ in USERS]
    wallets = [
        Wallet(user_id=uid, balance_fen=bal, initial_fen=bal + spent[uid], currency="CNY")
        for uid, _, _, bal in USERS
    ]
    billers = [Biller(id=i, bill_type=t, name_zh=zh, name_en=en) for i, t, zh, en in BILLERS]
    bill_type = {i: t for i, t, _, _ in BILLERS}
    bills = [
        Bill(
            id=i,
            user_id=u,
            biller_id=b,
            bill_type=bill_type[b],
            account=acct,
            account_label=label,
            period=period,
            amount_fen=amt,
            due_date=DUE_CURRENT,
            allow_partial=partial,
        )
        for i, u, b, acct, label, period, amt, partial in UNPAID
    ]
    payments: list[SQLModel] = []
    for key, uid, biller, acct, label, amt, paid_at in PAID:
        bill_id, pay_id = f"bill_{key}", f"pay_seed_{key}"
        bills.append(
            Bill(
                id=bill_id,
                user_id=uid,
                biller_id=biller,
                bill_type=bill_type[biller],
                account=acct,
                account_label=label,
                period=PREVIOUS,
                amount_fen=amt,
                due_date=DUE_PREVIOUS,
                status="paid",
                paid_fen=amt,
            )
        )
        balance_after = next(bal for u, _, _, bal in USERS if u == uid)  # one history payment each
        payments.append(
            Payment(
                id=pay_id,
                user_id=uid,
                bill_id=bill_id,
                target_kind="bill",
                target_id=bill_id,
                amount_fen=amt,
                status="done",
                confirmation_id=f"cf_seed_{key}",
                idempotency_key=f"seed:{key}",
                created_at=paid_at - timedelta(seconds=40),
                expires_at=paid_at + timedelta(minutes=5),
                done_at=paid_at,
                balance_after_fen=balance_after,
            )
        )
        payments.append(
            AuditLog(
                at=paid_at,
                user_id=uid,
                action=AUDIT_PAYMENT_DONE,
                target=pay_id,
                detail_json={
                    "bill_id": bill_id,
                    "amount_fen": amt,
                    "balance_after_fen": balance_after,
                    "seed": True,
                },
            )
        )
    contacts = [Contact(id=i, user_id=u, label=label, aliases=aliases, phone=phone)
                for i, (u, label, aliases, phone) in enumerate(CONTACTS, start=1)]
    return [users, wallets + billers + contacts, bills, payments]


def _pk(row: SQLModel) -> object:
    return tuple(sa.inspect(type(row)).primary_key_from_instance(row))


def seed_demo(engine: sa.Engine) -> int:
    """Insert the demo rows that are missing; returns how many were inserted (0 = already seeded).

    Runs in one transaction. A payment's audit row is written only together with the payment, so a
    re-run never duplicates audit rows.
    """
    inserted = 0
    try:
        with Session(engine) as s, s.begin():
            new_payments: set[str] = set()
            for group in _demo_rows():
                for row in group:
                    if isinstance(row, AuditLog):
                        if row.target not in new_payments:
                            continue
                    elif s.get(type(row), _pk(row)) is not None:
                        continue
                    if isinstance(row, Payment):
                        new_payments.add(row.id)
                    s.add(row)
                    inserted += 1
                s.flush()
    except IntegrityError:  # another process seeded at the same moment; its rows stand
        return 0
    return inserted
