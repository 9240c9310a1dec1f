"""The registry: schemas from signatures and docstrings, validation, timeouts, failures as results."""

from __future__ import annotations

import time
from typing import Literal

import pytest

from tools import build_registry
from tools.errors import PaymentRefused
from tools.registry import ToolRegistry


def pay(ctx, bill_type: Literal["water", "gas"], amount: float | None = None) -> dict:
    """Pay a bill.

    Args:
        bill_type: which bill.
        amount: in yuan.
    """
    if amount is not None and amount > 100:
        raise PaymentRefused("insufficient-balance")
    return {"paid": bill_type, "amount": amount, "user": ctx}


def slow(ctx) -> str:
    """Takes its time."""
    time.sleep(1.0)
    return "late"


def broken(ctx) -> str:
    """Has a bug."""
    raise KeyError("oops")


@pytest.fixture
def registry() -> ToolRegistry:
    r = ToolRegistry()
    r.register(pay, moves_money=True)
    r.register(slow, timeout_s=0.1)
    r.register(broken)
    return r


def test_schema_comes_from_signature_and_docstring(registry):
    spec = registry.get("pay").function_spec()["function"]
    assert spec["name"] == "pay" and spec["description"] == "Pay a bill."
    props = spec["parameters"]["properties"]
    assert props["bill_type"]["enum"] == ["water", "gas"] and props["bill_type"]["description"] == "which bill."
    assert props["amount"]["description"] == "in yuan."
    assert spec["parameters"]["required"] == ["bill_type"]
    assert registry.get("pay").moves_money and not registry.get("slow").moves_money


async def test_call_validates_and_runs(registry):
    ok = await registry.call("pay", {"bill_type": "gas", "amount": "12.5"}, ctx="u1")
    assert ok.ok and ok.data == {"paid": "gas", "amount": 12.5, "user": "u1"}
    for args in ({"bill_type": "coal"}, {}, {"bill_type": "gas", "tip": 5}):
        bad = await registry.call("pay", args, ctx="u1")
        assert not bad.ok and bad.error["code"] == "invalid-arguments", args
    assert (await registry.call("nope", {}, ctx=None)).error["code"] == "unknown-tool"


async def test_failures_are_results_not_exceptions(registry):
    refused = await registry.call("pay", {"bill_type": "water", "amount": 500}, ctx=None)
    assert refused.error == {"code": "insufficient-balance", "message": "insufficient balance", "retryable": False}
    timeout = await registry.call("slow", {}, ctx=None)
    assert timeout.error["code"] == "tool-timeout" and timeout.error["retryable"]
    crash = await registry.call("broken", {}, ctx=None)
    assert crash.error["code"] == "tool-failed" and "oops" not in crash.error["message"]


def test_product_registry_exposes_only_public_tools_to_the_llm():
    registry = build_registry()
    exposed = {spec["function"]["name"] for spec in registry.function_specs()}
    assert {"pay_bill", "query_bill", "check_balance", "translate"} <= exposed
    assert "confirm_payment" not in exposed and "cancel_payment" not in exposed
    assert registry.get("pay_bill").moves_money and registry.get("confirm_payment").moves_money
    schema = registry.get("pay_bill").schema()
    assert set(schema["properties"]["bill_type"]["enum"]) == {
        "electricity", "water", "gas", "phone", "internet", "property", "tv"}
