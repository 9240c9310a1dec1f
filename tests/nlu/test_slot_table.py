"""The one slot table feeds the router's extraction, the contract's slot names and the LLM's
``route`` call; the call's schema is what it was when each of those kept its own list."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assistant.llm.understand import RouteSlots, route_tool
from assistant.nlu.payment_source import PAYMENT_SOURCES, parse_payment_source
from assistant.nlu.slot_table import SLOTS
from assistant.nlu.slots import extract_slots
from assistant.nlu.types import SLOT_NAMES
from tools.kinds import BILL_TYPES


def route_slot_schema() -> dict:
    return route_tool()["function"]["parameters"]["properties"]["slots"]["properties"]


def test_the_contract_the_router_and_the_llm_read_the_same_slots_in_the_same_order():
    assert SLOT_NAMES == tuple(s.name for s in SLOTS)
    assert list(route_slot_schema()) == list(SLOT_NAMES)
    assert list(RouteSlots.model_fields) == list(SLOT_NAMES)
    assert [s.name for s in SLOTS if s.parser is None] == ["query"]  # the caller fills it


def test_the_route_schema_keeps_its_types_descriptions_and_enums():
    schema = route_slot_schema()
    assert schema["bill_type"] == {"type": "string", "enum": list(BILL_TYPES),
                                   "description": "which bill: electricity, water, gas, phone, internet, property, tv"}
    assert schema["amount"] == {"type": "number",
                                "description": "an amount of money in CNY yuan, as a number (一百二十 → 120)"}
    assert schema["pay_from"] == {"type": "string", "description": (
        "for pay_bill: where the user wants the money to come from, if said "
        "(wallet, bank_card, bank_account, credit_card, wechat, alipay); lui pays from the wallet")}
    assert [name for name, prop in schema.items() if "enum" in prop] == ["bill_type"]
    assert {prop["type"] for name, prop in schema.items() if name != "amount"} == {"string"}


def test_pay_from_takes_exactly_the_kinds_the_parser_finds():
    assert PAYMENT_SOURCES[0] == "wallet"
    for kind in PAYMENT_SOURCES:
        assert RouteSlots.model_validate({"pay_from": kind}).pay_from == kind
    with pytest.raises(ValidationError):
        RouteSlots.model_validate({"pay_from": "paypal"})
    found = {parse_payment_source(text) for text in
             ("用余额交电费", "拿银行卡交电费", "从银行账户扣", "用信用卡交", "用微信交", "用支付宝交")}
    assert found == set(PAYMENT_SOURCES)


def test_the_llm_values_are_cleaned_before_they_are_checked():
    slots = RouteSlots.model_validate({"target_lang": "English", "phone": "138 1234 5678", "account": 12345})
    assert (slots.target_lang, slots.phone, slots.account) == ("en", "13812345678", "12345")


def test_extraction_uses_each_slots_parser():
    assert extract_slots("用微信交一百块电费，户号12345678", "pay_bill") == {
        "bill_type": "electricity", "amount": 100, "account": "12345678", "pay_from": "wechat"}
