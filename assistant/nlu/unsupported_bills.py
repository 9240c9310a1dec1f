"""Bills people ask to pay that lui does not pay (car loan, credit card, insurance, subscription, rent,
tuition), zh and en: so "帮我还信用卡" is answered with the bills lui can pay, not a generic "can't help".

Only consulted when no supported bill type (``bill_types.py``) was found. A kind may name the catalogue
service that handles it (``knowledge/services/<id>.yaml``); the others have none.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from assistant.nlu.hanzi import to_simplified

# traditional characters of these words that hanzi.to_simplified leaves alone (length-preserving)
_MORE_SIMPLIFIED = str.maketrans({"車": "车", "貸": "贷", "險": "险", "學": "学", "訂": "订", "閱": "阅",
                                  "會": "会", "員": "员", "舊": "旧", "償": "偿", "還": "还", "繳": "缴"})


def _en(words: str) -> str:
    """English alternatives, matched as whole words even next to Chinese characters."""
    return rf"(?<![A-Za-z])(?:{words})(?![A-Za-z])"


class UnsupportedBill(NamedTuple):
    kind: str  # car_loan, credit_card, insurance, medical_insurance, social_insurance, subscription, rent, tuition
    service_id: str | None  # the catalogue service that handles it, if there is one


class _Rule(NamedTuple):
    pattern: re.Pattern[str]
    bill: UnsupportedBill


def _rule(pattern: str, kind: str, service_id: str | None = None) -> _Rule:
    return _Rule(re.compile(pattern, re.IGNORECASE), UnsupportedBill(kind, service_id))


# "renew my Duolingo premium", "premium plan", "go premium": an app's paid tier, not an insurance premium.
# A word before "premium" names the product unless it is a determiner or says insurance ("my premium",
# "the monthly premium", "car premium").
_PREMIUM_TIER = _en(
    r"(?!(?:my|the|this|that|our|your|his|her|their|a|an|monthly|annual|yearly|quarterly|next|last|insurance|"
    r"policy|life|car|auto|home|house|health|medical|pay|paying|renew|renewing|of|for|on)\b)[a-z0-9+]+\s+premium"
    r"|premium\s+(?:plan|tier|account|subscription|membership|version|features?|upgrade|app)s?"
    r"|go(?:ing)?\s+premium|premium\b.*\b(?:apps?|application|game|streaming|music|video)"
    r"|(?:apps?|application|game|streaming|music|video)\b.*\bpremium"
)

# In order: the first kind found wins ("信用卡保险" is a credit card; "医保" before generic insurance).
_RULES: tuple[_Rule, ...] = (
    _rule(r"信用卡|" + _en(r"credit[\s-]*cards?|card\s+(?:bill|statement|balance|repayment)s?"),
          "credit_card", "credit-card-repayment"),
    _rule(r"车贷|(?:汽车|车辆|买车|车子)的?(?:贷款|月供|分期)|车的?月供|"
          + _en(r"(?:car|auto|vehicle)\s+(?:loan|payment|note|finance|financing|installment)s?"),
          "car_loan"),
    _rule(r"医保|医疗保险|新农合|" + _en(r"(?:medical|health)\s+insurance"),
          "medical_insurance", "medical-insurance-payment"),
    _rule(r"社保|社会保险|养老保险|" + _en(r"social\s+(?:insurance|security)|pension\s+contributions?"),
          "social_insurance", "social-security-payment"),
    _rule(r"保险|保费|车险|寿险|意外险|保单|" + _en(r"insurance"), "insurance"),
    _rule(r"会员|订阅|自动续费|包月|爱奇艺|腾讯视频|优酷|芒果TV|(?:B站|哔哩哔哩)|网易云|QQ音乐|VIP|"
          + _en(r"subscriptions?|memberships?|netflix|spotify|youtube|icloud|disney\+?|hulu|hbo|amazon\s+prime|"
                r"vip|gym\s+fees?|(?:streaming|music|video)\s+(?:service|plan)s?")
          + "|" + _PREMIUM_TIER,
          "subscription"),
    # "premium" alone is an insurance premium only when nothing makes it an app's paid tier (above)
    _rule(_en(r"premiums?"), "insurance"),
    _rule(r"房租|租金|交租|租房的?(?:钱|费)|" + _en(r"rent|rental\s+payment|landlord"), "rent"),
    _rule(r"学费|学杂费|培训费|补课费|托管费|幼儿园的?费|" + _en(r"tuition|(?:school|college|university|course)\s+fees?"),
          "tuition", "tuition-payment"),
)

# 交/缴/付 but not 交通/提交/交流..., 还 only as repaying (还款/还钱/还信用卡), not "still" (我还有)
_PAY_ZH = re.compile(r"(?<![提递])交(?![通流友易往换警规叉])|缴|付|充值|续费|续订|扣款|扣费|月供"
                     r"|(?<![继手连陆持延断])续(?![集航命写杯])|开(?:通|个|一个)(?=[^，。,.]*(?:会员|VIP))"
                     r"|还(?=款|钱|清|贷|车贷|信用卡|上|一下)|偿还")
_PAY_EN = re.compile(_en(r"pay|pays|paying|paid|payments?|settle|repay|repaying|repayment|renew|renewing|top[\s-]?up"),
                     re.IGNORECASE)


def _normalise(text: str) -> str:
    return to_simplified(text).translate(_MORE_SIMPLIFIED)


# a card to pay *with* is not a card bill to pay: "用信用卡交", "pay it with my credit card"
_PAYING_WITH = re.compile(r"(?:用|拿|通过|刷)信用卡|" + _en(r"(?:with|by|using|via|on)\s+(?:my\s+|a\s+|the\s+)?"
                                                       r"credit[\s-]*cards?"), re.IGNORECASE)


def parse_unsupported_bill(text: str) -> UnsupportedBill | None:
    """The bill lui does not pay that the utterance names, if any: "帮我还车贷" → car_loan."""
    text = _PAYING_WITH.sub(" ", _normalise(text))
    for rule in _RULES:
        if rule.pattern.search(text):
            return rule.bill
    return None


def has_pay_word(text: str) -> bool:
    """A word for paying: 交/缴/付/还款/续费, pay/settle/repay/renew/top up."""
    text = _normalise(text)
    return bool(_PAY_ZH.search(text) or _PAY_EN.search(text))


def unsupported_bill_request(text: str) -> UnsupportedBill | None:
    """A request to pay a bill lui does not pay: a pay word and an unsupported bill in one utterance."""
    return parse_unsupported_bill(text) if has_pay_word(text) else None
