"""Where the money should come from, as the utterance says it."""

from __future__ import annotations

import pytest

from assistant.nlu.payment_source import parse_payment_source
from assistant.nlu.slots import extract_slots


@pytest.mark.parametrize(("text", "kind"), [
    ("pay my gas bill with my checking account", "bank_account"),
    ("pay the internet bill from my savings", "bank_account"),
    ("use my debit card for the phone bill", "bank_card"),
    ("charge the water bill to my card", "bank_card"),
    ("pay it with my credit card", "credit_card"),
    ("pay the HOA fee out of my balance", "wallet"),
    ("用余额把物业费交了", "wallet"),
    ("拿银行卡交电费", "bank_card"),
    ("从卡里扣水费", "bank_card"),
    ("用信用卡交电费", "credit_card"),
    ("用微信零钱交水费", "wechat"),
    ("用支付宝交燃气费", "alipay"),
])
def test_named_sources(text, kind):
    assert parse_payment_source(text) == kind


@pytest.mark.parametrize("text", ["交电费", "pay the bill on time", "交卡费", "余额还有多少", "check my card balance"])
def test_no_source_named(text):
    assert parse_payment_source(text) is None


def test_only_a_payment_carries_the_source():
    assert extract_slots("拿银行卡交电费", "pay_bill") == {"bill_type": "electricity", "pay_from": "bank_card"}
    assert "pay_from" not in extract_slots("用卡查电费", "query_bill")
