from __future__ import annotations

import pytest

from assistant.nlu.period import parse_period
from assistant.nlu.slots import extract_slots


@pytest.mark.parametrize(("text", "period"), [
    ("上个月交了哪些", "last_month"), ("我上个月都交了哪些钱", "last_month"), ("这个月交了什么", "this_month"),
    ("最近一笔水费什么时候交的", "recent"), ("今年交了多少", "this_year"), ("去年的物业费", "last_year"),
    ("10月交了什么", "--10"), ("十一月份的水费", "--11"), ("2026年10月的电费", "2026-10"),
    ("how much did I spend on bills this year", "this_year"), ("did I pay the electricity last month", "last_month"),
    ("what did I pay in October", "--10"), ("payments in oct 2026", "2026-10"), ("paid in May", "--05"),
    ("電費交了沒有", None), ("may I see my bills", None),
])
def test_parse_period(text, period):
    assert parse_period(text) == period


def test_history_slots():
    assert extract_slots("查一下上个月电费交了没有", "payment_history") == {"bill_type": "electricity",
                                                                       "period": "last_month"}
