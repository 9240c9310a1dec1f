"""Money amounts and numerals: what the router reads as an amount, and what it must leave alone."""

from __future__ import annotations

import pytest

from assistant.nlu.numbers import amount_problem, chinese_to_number, parse_amount
from assistant.spell import en_number, zh_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Arabic digits, with and without a currency mark
        ("交120电费", 120),
        ("帮我交 120.5 元电费", 120.5),
        ("付1,200块物业费", 1200),
        ("交 99.9", 99.9),
        ("RMB 1,000", 1000),
        ("¥80", 80),
        ("￥80 话费", 80),
        ("充值１００元", 100),
        ("充80元话费", 80),
        ("交80块", 80),
        ("五块钱", 5),
        ("pay 80 yuan for water", 80),
        ("top up 80 rmb", 80),
        ("CNY 80 please", 80),
        ("pay 80 bucks", 80),
        # k / w / 万 / 千 multipliers
        ("pay 1.5k for property", 1500),
        ("物业费交2w", 20000),
        ("存2万", 20000),
        ("1.5万", 15000),
        ("交1千2", 1200),
        ("pay 2 thousand yuan", 2000),
        # Chinese numerals
        ("交一百二十块电费", 120),
        ("两百元", 200),
        ("交一千零五十", 1050),
        ("电费一百二", 120),
        ("十五元", 15),
        ("二十块钱", 20),
        ("壹佰元", 100),
        ("三百五十元整", 350),
        ("交一万五", 15000),
        ("物业费两千五", 2500),
        ("充一百话费", 100),
        ("三点五元", 3.5),
        # 块/元 with jiao and fen
        ("三块五", 3.5),
        ("一块五", 1.5),
        ("1块2", 1.2),
        ("五毛", 0.5),
        ("两块五毛三", 2.53),
        ("三块零五", 3.05),
        ("十块八毛", 10.8),
        ("两元五角", 2.5),
        ("三元二角五分", 3.25),
        # English number words
        ("pay one hundred and twenty yuan", 120),
        ("fifty yuan", 50),
        ("pay fifty", 50),
        ("a hundred yuan", 100),
        ("two hundred bucks for the phone bill", 200),
        ("top up my phone with a hundred", 100),
        # the amount next to numbers that are not amounts
        ("给13800138000充100", 100),
        ("帮我交200电费，户号33012245", 200),
        ("户号 3301 2245 交100元", 100),
        ("尾号 8831 的卡交五十块", 50),
        ("account ending 2231, pay 300", 300),
        ("交这个月的电费150", 150),
        ("3月份的水费交85块", 85),
        ("2024年12月的物业费2000元", 2000),
        ("pay the last 3 months, 450 yuan total", 450),
    ],
)
def test_parse_amount_finds_the_amount(text: str, expected: float) -> None:
    assert parse_amount(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    [
        "户号 33012245",
        "尾号8831",
        "这个月的电费",
        "3月份的电费",
        "2024年的账单",
        "account ending 2231",
        "show me the last 3 months",
        "13800138000",
        "我的手机号是 13912345678",
        "下午3点交电费",
        "2024-03-05 的账单",
        "10:30 交电费",
        "今天用了200度电",
        "5G套餐怎么办",
        "查一下近6个月的话费",
        "过去十二个月的账单",
        "第3期",
        "我有2个账户",
        "十分感谢",
        "水费电费一块交了",
        "万一交错了怎么办",
        "千万别交",
        "电费交了吗",
        "how much is my bill",
        "pay one bill",
        "pay the bills for the last twelve months",
        "$80",
        "pay 80 dollars",
        "100日元",
        "",
    ],
)
def test_parse_amount_ignores_numbers_that_are_not_money(text: str) -> None:
    assert parse_amount(text) is None


def test_parse_amount_prefers_a_marked_amount_over_a_bare_number() -> None:
    assert parse_amount("电费 3 个月没交了，先交 200 元") == 200
    assert parse_amount("物业费 1800，先交五百块") == 500


@pytest.mark.parametrize(
    ("numeral", "expected"),
    [
        ("一百二十", 120),
        ("两百", 200),
        ("一千零五十", 1050),
        ("一百二", 120),
        ("一千二", 1200),
        ("十五", 15),
        ("十", 10),
        ("二十", 20),
        ("九十九", 99),
        ("壹佰", 100),
        ("捌仟", 8000),
        ("三百五十", 350),
        ("一百零五", 105),
        ("一万五", 15000),
        ("两万三千", 23000),
        ("三万零五", 30005),
        ("一万零五百", 10500),
        ("十万", 100_000),
        ("一亿", 100_000_000),
        ("一千二百三十四", 1234),
        ("三点五", 3.5),
        ("零", 0),
        ("二零二四", 2024),
        ("1千2", 1200),
        ("1.5万", 15000),
        ("2w", 20000),
        ("1.5k", 1500),
        ("120", 120),
        ("1,200", 1200),
    ],
)
def test_chinese_to_number(numeral: str, expected: float) -> None:
    assert chinese_to_number(numeral) == pytest.approx(expected)


@pytest.mark.parametrize("numeral", ["", "   ", "abc", "百", "万", "一二百", "谢谢", "三块", "一百元"])
def test_chinese_to_number_rejects_non_numerals(numeral: str) -> None:
    assert chinese_to_number(numeral) is None


_ROUND_TRIP = [1, 7, 10, 11, 15, 20, 99, 100, 101, 110, 120, 999, 1000, 1001, 1010, 1050, 1200, 9999, 10000,
               10001, 15000, 20000, 100000, 101000, 123456, 1000000, 12345678, 100000000]  # fmt: skip


@pytest.mark.parametrize("n", _ROUND_TRIP)
def test_reads_back_what_the_app_says(n: int) -> None:
    """What assistant.spell says aloud (elder mode) must parse back to the same amount."""
    assert chinese_to_number(zh_number(n)) == n
    assert parse_amount(f"交{zh_number(n)}元") == n
    assert parse_amount(f"pay {en_number(n)} yuan") == n


@pytest.mark.parametrize(("text", "expected"), [
    ("交1\u200b0元电费", 10), ("交\u200d1\u200c00元", 100), ("交1,500元物业费", 1500), ("pay 2,000 yuan", 2000),
    ("2026-11-30 交电费 50元", 50), ("电话138-1234-5678 交100元", 100),
])
def test_invisible_marks_and_real_thousands_separators(text, expected):
    assert parse_amount(text) == expected and amount_problem(text) is None


@pytest.mark.parametrize(("text", "problem"), [
    ("交-10元电费", "negative"), ("pay -10 yuan", "negative"), ("交负十元", "negative"), ("pay minus 10 yuan", "negative"),
    ("交－１０元", "negative"), ("交1e1元电费", "exponent"), ("pay 1E2 yuan", "exponent"), ("交1,5元电费", "grouping"),
    ("pay 1,50 yuan", "grouping"), ("交1,5000元", "grouping"),
])
def test_amounts_that_must_be_asked_about_are_never_guessed(text, problem):
    assert amount_problem(text) == problem and parse_amount(text) is None
