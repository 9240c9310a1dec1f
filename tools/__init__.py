"""The tools the assistant can call, all registered in one :class:`ToolRegistry`."""

from __future__ import annotations

from tools.registry import Tool, ToolRegistry, ToolResult

__all__ = ["Tool", "ToolRegistry", "ToolResult", "build_registry"]


def build_registry() -> ToolRegistry:
    """Every tool of the product, with its money flag and timeout."""
    from tools import bills, history, topup, translate

    registry = ToolRegistry()
    registry.register(bills.query_bill, timeout_s=5.0)
    registry.register(bills.check_balance, timeout_s=5.0)
    registry.register(bills.pay_bill, moves_money=True, timeout_s=10.0)
    registry.register(bills.confirm_payment, moves_money=True, timeout_s=15.0, internal=True)
    registry.register(bills.cancel_payment, timeout_s=10.0, internal=True)
    registry.register(history.payment_history, timeout_s=5.0)
    registry.register(topup.top_up_phone, moves_money=True, timeout_s=10.0)
    registry.register(translate.translate, timeout_s=30.0)
    return registry
