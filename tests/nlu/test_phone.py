"""Mobile numbers and contacts as people type or say them; the carrier by segment."""

import pytest

from assistant.nlu.phone import find_phone, parse_contact
from assistant.nlu.slots import extract_slots
from tools.phone import carrier, grouped, is_mobile, nearest_amount


@pytest.mark.parametrize("text, phone", [
    ("给13812345678充100", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("+86 138-1234-5678", "13812345678"),
    ("幺三八幺二三四五六七八", "13812345678"),
    ("一五六 一二三四 五六七八 充一百", "15612345678"),
])
def test_numbers_typed_or_spoken(text, phone):
    assert find_phone(text) == (phone, None)


@pytest.mark.parametrize("text, bad", [("给1381234567充", "1381234567"), ("12812345678", "12812345678"),
                                       ("138123456789", "138123456789")])
def test_digits_that_are_not_a_mobile_number_are_reported(text, bad):
    assert find_phone(text) == (None, bad)
    assert extract_slots(text, "top_up_phone")["phone_error"] == bad


def test_the_number_is_not_read_as_the_amount():
    assert extract_slots("给13812345678充一百", "top_up_phone") == {"phone": "13812345678", "amount": 100}
    assert extract_slots("随便充五十", "top_up_phone") == {"amount": 50}


@pytest.mark.parametrize("text, who", [("给我妈充话费", "我妈"), ("给妈充一百", "妈"), ("top up my mom's phone", "mom"),
                                       ("帮老伴充点", "老伴"), ("充话费", None)])
def test_contacts(text, who):
    assert parse_contact(text) == who


def test_carrier_grouping_and_menu():
    assert (carrier("13812345678"), carrier("18612345678"), carrier("13312345678"), carrier("19212345678")) == (
        "cmcc", "unicom", "telecom", "broadnet")
    assert grouped("13812345678") == "138 1234 5678"
    assert is_mobile("19912345678") and not is_mobile("11012345678")
    assert (nearest_amount(40), nearest_amount(70), nearest_amount(1000), nearest_amount(3)) == (50, 50, 500, 10)
