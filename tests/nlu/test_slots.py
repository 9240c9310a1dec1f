"""Slot extraction: bill types, languages, translation text, accounts, and the per-intent combination."""

from __future__ import annotations

import pytest

from assistant.nlu.slots import (
    extract_slots,
    normalize_slot_value,
    parse_account,
    parse_bill_type,
    parse_language,
    parse_source_language,
    parse_translation_text,
)
from assistant.nlu.types import BILL_TYPES, SLOT_NAMES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("帮我把这个月电费交了", "electricity"),
        ("交电", "electricity"),
        ("把电交了", "electricity"),
        ("交上个月的电", "electricity"),
        ("点费交一下", "electricity"),  # ASR slip for 电费
        ("店费多少钱", "electricity"),
        ("pay my power bill", "electricity"),
        ("electric bill please", "electricity"),
        ("pay the elecrticity bill", "electricity"),
        ("I want to pay electricty", "electricity"),
        ("帮我交一下 electricity bill", "electricity"),
        ("交水费", "water"),
        ("谁费交了吗", "water"),  # ASR slip for 水费
        ("pay water bill", "water"),
        ("wter bill", "water"),
        ("上个月的水费多少", "water"),
        ("燃气费", "gas"),
        ("交煤气", "gas"),
        ("天然气欠费了吗", "gas"),
        ("交气费", "gas"),
        ("pay the gas bill", "gas"),
        ("充话费", "phone"),
        ("手机费", "phone"),
        ("电话费交一下", "phone"),
        ("给手机充100", "phone"),
        ("top up my phone", "phone"),
        ("mobile bill", "phone"),
        ("cell phone bill", "phone"),
        ("宽带续费", "internet"),
        ("交网费", "internet"),
        ("网络费多少", "internet"),
        ("上网费", "internet"),
        ("pay broadband", "internet"),
        ("internet bill", "internet"),
        ("wifi bill", "internet"),
        ("物业费", "property"),
        ("交物业", "property"),
        ("管理费", "property"),
        ("pay property fee", "property"),
        ("HOA payment", "property"),
        ("management fee", "property"),
        ("有线电视", "tv"),
        ("电视费", "tv"),
        ("数字电视费", "tv"),
        ("cable bill", "tv"),
        ("pay my TV bill", "tv"),
        # the first bill named wins; 电话/电视 are never electricity
        ("电费和水费一起交", "electricity"),
        ("用手机交电费", "electricity"),
        ("交电话费", "phone"),
        ("交电视费", "tv"),
    ],
)
def test_parse_bill_type(text: str, expected: str) -> None:
    assert parse_bill_type(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "电子发票怎么开",
        "电子凭证在哪",
        "手机号怎么改",
        "水果多少钱",
        "打电话给客服",
        "今天天气怎么样",
        "不客气",
        "手机充电很慢",
        "网上缴费怎么弄",
        "查一下流水",
        "有点费劲",
        "电是谁发明的",
        "what's the weather",
        "how do I change my phone number",
        "power bank rental",
        "gas station nearby",
        "还有多少余额",
    ],
)
def test_parse_bill_type_false_hits(text: str) -> None:
    assert parse_bill_type(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pay the dianfei please", "electricity"),  # pinyin bill words in an English sentence
        ("I need to pay my shuifei, 80 kuai", "water"),
        ("help me jiao the ranqi bill", "gas"),
        ("what do I owe for wangfei", "internet"),
        ("wuye fei for this quarter", "property"),
        ("hua fei 50", "phone"),
        ("电 200 交了", "electricity"),  # a bare 电/水 before an amount
        ("水，50，交", "water"),
        ("快停电了，交两百应该够", "electricity"),  # a supply about to be cut
        ("水要停了，先交一百", "water"),
        ("家里快没网了，续个费", "internet"),
    ],
)
def test_parse_bill_type_terse_pinyin_and_cut_off(text: str, expected: str) -> None:
    assert parse_bill_type(text) == expected


@pytest.mark.parametrize("text", ["停电了是不是电网的问题", "手机快没电了", "喝水 200", "水 多少",
                                  "the wuyi mountains", "Dian Fossey"])
def test_parse_bill_type_terse_false_hits(text: str) -> None:
    assert parse_bill_type(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("翻成日语", "ja"),
        ("翻译成英文", "en"),
        ("用英语怎么说", "en"),
        ("谢谢英文怎么说", "en"),
        ("说韩语", "ko"),
        ("把这句英文翻译成中文", "zh"),
        ("英译中", "zh"),
        ("中翻英", "en"),
        ("日语的谢谢怎么说", "ja"),
        ("用粤语怎么讲", "yue"),
        ("翻譯成英語", "en"),
        ("翻译成俄语", "ru"),
        ("用意大利语怎么说", "it"),
        ("葡萄牙语怎么说谢谢", "pt"),
        ("翻译成阿拉伯语", "ar"),
        ("泰语怎么说你好", "th"),
        ("越南语的谢谢", "vi"),
        ("西班牙语怎么说", "es"),
        ("翻成韩文", "ko"),
        ("法文怎么写", "fr"),
        ("日文怎么说", "ja"),
        ("德语怎么说再见", "de"),
        ("用普通话怎么说", "zh"),
        ("汉语怎么说", "zh"),
        ("谢谢 in French", "fr"),
        ("translate this into German", "de"),
        ("translate to Japanese", "ja"),
        ("translate into Korean", "ko"),
        ("in Thai please", "th"),
        ("how do you say 'English' in French", "fr"),
        ("translate from Spanish to English", "en"),
        ("what's the French for cheese", "fr"),
        ("Vietnamese for hello", "vi"),
        ("say it in Russian", "ru"),
        ("how do you say hello in Italian", "it"),
        ("Portuguese translation of thank you", "pt"),
        ("how do you say good night in Cantonese", "yue"),
    ],
)
def test_parse_language_finds_the_target(text: str, expected: str) -> None:
    assert parse_language(text) == expected


@pytest.mark.parametrize(
    "text", ["translate hello", "polish this sentence", "帮我交电费", "从法语翻译", "翻译一下"]
)
def test_parse_language_without_a_target(text: str) -> None:
    assert parse_language(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("从法语翻译", "fr"),
        ("from Spanish", "es"),
        ("translate from German into English", "de"),
        ("把这句英文翻译成中文", "en"),
        ("把中文翻译成日语", "zh"),
        ("英译中", "en"),
        ("中翻英", "zh"),
        ("Spanish to English please", "es"),
        ("翻成日语", None),
        ("how do you say thank you in Japanese", None),
        ("'French' 用英语怎么说", None),
    ],
)
def test_parse_source_language_only_when_named(text: str, expected: str | None) -> None:
    assert parse_source_language(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("把'谢谢'翻译成英文", "谢谢"),
        ("把“谢谢”翻译成英文。", "谢谢"),
        ("帮我把‘早上好’翻成日语", "早上好"),
        ("「ありがとう」是什么意思", "ありがとう"),
        ('translate "good luck" into Korean, please.', "good luck"),
        ("how do you say 'English' in French", "English"),
        ("谢谢用英语怎么说", "谢谢"),
        ("谢谢英文怎么说", "谢谢"),
        ("谢谢的英文怎么说？", "谢谢"),
        ("请问谢谢用英语怎么说", "谢谢"),
        ("你好用英语怎么说呢", "你好"),
        ("用英语怎么说谢谢", "谢谢"),
        ("日语的谢谢怎么说", "谢谢"),
        ("早上好的英文", "早上好"),
        ("bonjour是什么意思", "bonjour"),
        ("翻译一下我爱你", "我爱你"),
        ("翻译一下：今天天气很好", "今天天气很好"),
        ("把我爱你翻译成韩语吧", "我爱你"),
        ("翻成日语 谢谢", "谢谢"),
        ("帮我翻译一下谢谢，翻成日语", "谢谢"),
        ("《红楼梦》用英文怎么说", "《红楼梦》"),
        ("translate good morning into French", "good morning"),
        ("translate I want to go home into German", "I want to go home"),
        ("translate this into French: where is the station", "where is the station"),
        ("how do you say thank you in Japanese?", "thank you"),
        ("How do I say I'm hungry in Spanish", "I'm hungry"),
        ("what is cat in French", "cat"),
        ("what's the Japanese word for thank you", "thank you"),
        ("what does merci mean", "merci"),
        ("thank you in Japanese please", "thank you"),
    ],
)
def test_parse_translation_text(text: str, expected: str) -> None:
    assert parse_translation_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "can you translate this for me into French",
        "帮我把这句话翻译成英文",
        "用英语怎么说",
        "翻译一下",
        "帮我交电费",
    ],
)
def test_parse_translation_text_without_words_to_translate(text: str) -> None:
    assert parse_translation_text(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("户号 3301-2245", "33012245"),
        ("户号是33012245", "33012245"),
        ("尾号8831", "8831"),
        ("尾号八八三一", "8831"),
        ("尾号 8831 的卡交五十块", "8831"),
        ("账号：6222 0012 3456", "622200123456"),
        ("用户号为 1100220033", "1100220033"),
        ("卡号 6222-0000-1111-2222", "6222000011112222"),
        ("户号 3301 2245 交100元", "33012245"),
        ("电费户号：０５７１２３４５", "05712345"),
        ("account number 1234-5678", "12345678"),
        ("my account is 12345678", "12345678"),
        ("acct 99887766", "99887766"),
        ("account ending in 2231", "2231"),
        ("card ending 4410", "4410"),
        ("the last 4 digits are 7788", "7788"),
        ("#55667788", "55667788"),
        ("给13800138000充100", "13800138000"),
        ("手机号 139 1234 5678 充50", "13912345678"),
    ],
)
def test_parse_account(text: str, expected: str) -> None:
    assert parse_account(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "交100元电费",
        "交 120 块",
        "账户余额还有多少",
        "2024-03-05 的账单",
        "account balance",
        "尾号",
        "户号 12",
        "pay 5000",
    ],
)
def test_parse_account_leaves_amounts_and_small_numbers(text: str) -> None:
    assert parse_account(text) is None


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        (
            "帮我交200电费，户号33012245",
            "pay_bill",
            {"bill_type": "electricity", "amount": 200, "account": "33012245"},
        ),
        ("交水费", "pay_bill", {"bill_type": "water"}),
        ("三块五的话费", "pay_bill", {"bill_type": "phone", "amount": 3.5}),
        ("pay 80 bucks for my phone bill", "pay_bill", {"bill_type": "phone", "amount": 80}),
        ("查一下户号3301-2245的电费", "query_bill", {"bill_type": "electricity", "account": "33012245"}),
        ("上个月电费是不是120块", "query_bill", {"bill_type": "electricity", "period": "last_month"}),  # query_bill has a period
        ("把'谢谢'翻译成英文", "translate", {"text": "谢谢", "target_lang": "en"}),
        (
            "translate from Spanish to English: buenos dias",
            "translate",
            {"text": "buenos dias", "target_lang": "en", "source_lang": "es"},
        ),
        ("电费用英语怎么说", "translate", {"text": "电费", "target_lang": "en"}),
        ("电子发票怎么开", "lookup_service", {}),
        ("余额还有多少", "check_balance", {}),
        ("你好", "greet", {}),
        ("好的交吧", "confirm", {}),
        ("电费怎么这么贵", "out_of_scope", {}),
        ("交200电费", "no_such_intent", {}),
    ],
)
def test_extract_slots_by_intent(text: str, intent: str, expected: dict[str, object]) -> None:
    assert extract_slots(text, intent) == expected


def test_extract_slots_without_intent_returns_everything_found() -> None:
    assert extract_slots("帮我交200电费") == {"bill_type": "electricity", "amount": 200}
    assert extract_slots("把谢谢翻译成日语") == {"text": "谢谢", "target_lang": "ja"}
    assert extract_slots("今天心情不错") == {}


def test_extract_slots_uses_known_names_and_readable_numbers() -> None:
    slots = extract_slots("帮我交两百块电费，户号 3301-2245", "pay_bill")
    assert set(slots) <= set(SLOT_NAMES)
    assert slots["bill_type"] in BILL_TYPES
    assert slots["amount"] == 200 and isinstance(slots["amount"], int)
    assert isinstance(extract_slots("三块五的话费", "pay_bill")["amount"], float)


def test_extract_slots_returns_a_fresh_dict() -> None:
    first = extract_slots("交水费", "pay_bill")
    first["query"] = "changed"
    assert extract_slots("交水费", "pay_bill") == {"bill_type": "water"}


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("text", "  “谢谢。” ", "谢谢"),
        ("text", "Good  Morning!", "good morning"),
        ("text", "'bonjour'", "bonjour"),
        ("amount", "120", 120.0),
        ("amount", 120, 120.0),
        ("amount", 80.5, 80.5),
        ("amount", "1,200", 1200.0),
        ("amount", "一百二十块", 120.0),
        ("account", "3301-2245", "33012245"),
        ("account", " 3301 2245 ", "33012245"),
        ("target_lang", "EN", "en"),
        ("target_lang", "Japanese", "ja"),
        ("source_lang", " fr ", "fr"),
        ("bill_type", " Electricity ", "electricity"),
        ("bill_type", None, None),
    ],
)
def test_normalize_slot_value(name: str, value: object, expected: object) -> None:
    assert normalize_slot_value(name, value) == expected


@pytest.mark.parametrize(("text", "first", "also"), [
    ("帮我交电费和水费", "electricity", ["water"]),
    ("交燃气费、水费和电费", "gas", ["water", "electricity"]),
    ("把水电煤都交了", "water", ["electricity", "gas"]),
    ("水电费交一下", "water", ["electricity"]),
    ("pay my electricity and phone bills", "electricity", ["phone"]),
    ("帮我交电费", "electricity", []),
    ("交电费，水费下个月再说", "electricity", []),  # put off
    ("帮我交水费，不要交电费", "water", []),
    ("电费交了，水费呢", "electricity", []),  # not joined by an "and"
    ("交电费还有查一下水费", "electricity", []),
    ("pay my electricity bill and check my balance", "electricity", []),
])
def test_bills_named_together(text: str, first: str, also: list[str]) -> None:
    from assistant.nlu.bill_types import also_named

    assert parse_bill_type(text) == first and also_named(text) == also
