"""Where the money for a payment should come from, when the utterance says so: "用余额把物业费交了",
"拿银行卡交电费", "pay my gas bill with my checking account".

lui pays every bill from the wallet balance. A named source is never a reason to fail: it is kept as
the ``pay_from`` slot so the confirmation can add a short note when the source is not the wallet.
"""

from __future__ import annotations

import re

from assistant.nlu.hanzi import to_simplified

# the wallet itself: no note needed
WALLET = "wallet"
# every kind of source, the wallet first (the ``pay_from`` slot's values, also in the LLM's ``route`` call)
PAYMENT_SOURCES: tuple[str, ...] = (WALLET, "bank_card", "bank_account", "credit_card", "wechat", "alipay")

_ZH_VERB = r"(?:用|拿|从|通过|刷|走|扣)(?:我的?|我)?"
_EN_PREP = r"(?<![A-Za-z])(?:with|from|using|use|via|by|on|out\s+of|to)\s+(?:my\s+|the\s+|a\s+|our\s+)?"

# (kind, zh noun, en noun); the first kind found wins
_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("credit_card", r"信用卡", r"credit[\s-]*cards?"),
    ("wechat", r"微信(?:零钱|钱包)?", r"wechat(?:\s+pay)?"),
    ("alipay", r"支付宝|余额宝|花呗", r"alipay"),
    ("bank_card", r"银行卡|储蓄卡|借记卡|工资卡|(?<![信])卡(?:上|里)?", r"(?:bank\s+|debit\s+)?cards?"),
    ("bank_account", r"银行(?:账户|帐户)?|存款|活期", r"(?:checking|savings|bank)(?:\s+account)?|bank|checking|savings"),
    (WALLET, r"余额|零钱|钱包|账户(?:里|上)?的?钱|账上的?钱",
     r"(?:wallet|balance|account)(?:\s+(?:money|balance|funds))?"),
)
assert {kind for kind, _, _ in _SOURCES} == set(PAYMENT_SOURCES)
_PATTERNS = tuple(
    (kind, re.compile(rf"{_ZH_VERB}(?:{zh})|{_EN_PREP}(?:{en})(?![A-Za-z])", re.IGNORECASE)) for kind, zh, en in _SOURCES
)


def parse_payment_source(text: str) -> str | None:
    """The kind of source the payment should come from (``wallet``, ``bank_card``, ``bank_account``,
    ``credit_card``, ``wechat``, ``alipay``), or None when the utterance names none."""
    text = to_simplified(text)
    for kind, pattern in _PATTERNS:
        if pattern.search(text):
            return kind
    return None
