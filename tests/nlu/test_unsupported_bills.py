"""Bills lui does not pay, recognised in zh and en, and only with a word for paying when asked to."""

from __future__ import annotations

import pytest

from assistant.nlu.bill_types import parse_bill_type
from assistant.nlu.unsupported_bills import has_pay_word, parse_unsupported_bill, unsupported_bill_request


@pytest.mark.parametrize(("text", "kind", "service"), [
    ("帮我还车贷", "car_loan", None),
    ("这个月的汽车贷款还没交", "car_loan", None),
    ("pay my car payment", "car_loan", None),
    ("I need to make my auto loan payment", "car_loan", None),
    ("帮我还信用卡", "credit_card", "credit-card-repayment"),
    ("信用卡还款", "credit_card", "credit-card-repayment"),
    ("幫我還信用卡", "credit_card", "credit-card-repayment"),
    ("pay my credit card bill", "credit_card", "credit-card-repayment"),
    ("settle my credit-card balance", "credit_card", "credit-card-repayment"),
    ("交一下保险费", "insurance", None),
    ("交車險", "insurance", None),
    ("I want to pay my insurance premium", "insurance", None),
    ("给我妈交医保", "medical_insurance", "medical-insurance-payment"),
    ("pay my health insurance", "medical_insurance", "medical-insurance-payment"),
    ("交社保", "social_insurance", "social-security-payment"),
    ("交会员订阅费", "subscription", None),
    ("续费爱奇艺会员", "subscription", None),
    ("pay my netflix subscription", "subscription", None),
    ("renew my gym membership", "subscription", None),
    ("交房租", "rent", None),
    ("帮我付这个月房租", "rent", None),
    ("pay the rent", "rent", None),
    ("pay my landlord", "rent", None),
    ("交学费", "tuition", "tuition-payment"),
    ("孩子的學費怎么交", "tuition", "tuition-payment"),
    ("pay my tuition", "tuition", "tuition-payment"),
    ("pay the school fees", "tuition", "tuition-payment"),
])
def test_unsupported_bill_kinds(text, kind, service):
    bill = unsupported_bill_request(text)
    assert bill is not None and (bill.kind, bill.service_id) == (kind, service)
    assert parse_bill_type(text) is None  # none of them is a bill lui pays


@pytest.mark.parametrize("text", [
    "帮我交电费", "pay the water bill", "what's the current balance", "my parents are coming", "交通卡充值",
    "I want to rent a movie", "我还有多少钱", "提交会员申请", "帮我查一下明天天气",
    "pay my bill with my credit card", "用信用卡付账单",  # a card to pay with, not a card bill
])
def test_not_a_request_to_pay_an_unsupported_bill(text):
    assert unsupported_bill_request(text) is None


@pytest.mark.parametrize(("text", "paying"), [
    ("我还有多少钱", False), ("还信用卡", True), ("还款", True), ("交通", False), ("提交", False), ("交房租", True),
    ("what's a credit card", False), ("repay my loan", True), ("top up", True), ("parents", False),
])
def test_pay_words(text, paying):
    assert has_pay_word(text) is paying


def test_a_bill_without_a_pay_word_is_still_named():
    assert parse_unsupported_bill("房租").kind == "rent"  # an answer to "which bill?" needs no pay word
    assert parse_unsupported_bill("credit card statement").kind == "credit_card"
    assert parse_unsupported_bill("明天天气") is None


@pytest.mark.parametrize(("text", "kind"), [
    ("renew my Duolingo premium", "subscription"),  # an app's paid tier, not an insurance premium
    ("renew my youtube premium", "subscription"),
    ("pay for my spotify premium", "subscription"),
    ("renew my premium plan", "subscription"),
    ("pay my premium for the app", "subscription"),
    ("续一下B站大会员", "subscription"),
    ("开个VIP", "subscription"),
    ("pay my premium", "insurance"),  # nothing says app: still insurance
    ("pay the monthly premium", "insurance"),
    ("pay the car premium", "insurance"),
    ("I want to pay my insurance premium", "insurance"),
])
def test_premium_is_insurance_only_without_an_app_or_subscription(text, kind):
    bill = unsupported_bill_request(text)
    assert bill is not None and bill.kind == kind
