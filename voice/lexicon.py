"""The domain's spoken vocabulary: what Whisper should expect and what a transcript may be corrected to.

Terms come from the bill types, the spoken commands, and the service catalogue (titles and
synonyms); a session adds its user's account labels (浦东新房子, 静安老房子) and, while the dialogue
waits for an answer, the answers it expects. :func:`speech_context` turns the dialogue state into
a :class:`SpeechContext`: hotwords and a prompt for the recogniser, extra correction targets, and
what the turn is waiting for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

# Bill types as people say them (the slot rules' words), and the verbs around them.
BILL_TERMS_ZH = ("电费", "水费", "燃气费", "煤气费", "话费", "手机费", "宽带", "网费", "物业费", "有线电视", "电视费",
                 "缴费", "交费", "充值", "账单", "余额", "户号", "欠费")
# Spoken commands and dialogue acts worth hearing right.
COMMANDS_ZH = ("确认", "取消", "不要", "转人工", "人工客服", "激活", "怎么交", "在哪交", "别交了", "不交了", "怎么办",
               "查一下", "帮我交", "退出",
               # correction targets only (past the hotwords' [:6]): heard with the right syllables and
               # the wrong characters on Kokoro clips of TRAINING lines (再拿 for 在哪, 砸半 for 咋办 ...)
               "在哪", "咋办", "咋弄", "别交", "交一下", "缴一下", "开通", "到期",
               # more of the same kind (带搅 for 待缴, 酸了 for 算了); 代缴 is listed so it is never "corrected"
               "待缴", "代缴", "算了", "燃气", "水电煤")
# Answers to a pending payment: only these are biased while one waits; they are never correction
# targets then (a near miss is asked again, see assistant/nlu/consent.py). Answers of every kind — yes,
# no, a filler, an acknowledgement, a wait — and no prompt: steered by "确认还是取消？" and yes/no words
# alone, Whisper wrote 确认 for 嗯, 这个嘛 or 算了, which the plain decode then had to overrule. On the
# Mandarin training clips of evals.voice_consent (522) this list instead: yeses paid 47 -> 48 of 108,
# noes cancelled 86 -> 93 of 108, other answers asked again 298 -> 300 of 306, none paid either way, and
# a second (plain) decode for 66 clips instead of 139.
CONSENT_ZH = ("确认", "取消", "嗯", "好的", "对", "可以", "等一下", "不要", "交吧")
CONSENT_EN = ("yes", "no", "confirm", "cancel")
CORE_TERMS = frozenset((*BILL_TERMS_ZH, *COMMANDS_ZH))
CONSENT_TERMS = frozenset(("确认", "取消", "确定", "不要", "支付", "付款"))
_CJK = re.compile(r"^[\u3400-\u9fff]+$")


@dataclass(frozen=True)
class SpeechContext:
    """What the recogniser and the corrector should expect for one utterance."""

    lang: str | None = None
    hotwords: tuple[str, ...] = ()  # most important first
    prompt: str | None = None  # text "said before" the utterance
    terms: tuple[str, ...] = ()  # extra correction targets (the user's account labels and their parts)
    awaiting: str | None = None  # "confirmation", "account", another slot name, or None
    accounts: tuple[str, ...] = field(default_factory=tuple)

    def hotword_text(self, limit: int = 40) -> str | None:
        return " ".join(dict.fromkeys(self.hotwords[:limit])) or None


def echoes_hotwords(text: str, hotwords: Iterable[str], min_share: float = 0.6) -> bool:
    """Whether a transcript is mostly the hotwords said back (Whisper, unsure of a short or slow
    clip, can answer 晚安 with 转人工客服激活转人工客服激活): two or more hotword hits covering
    ``min_share`` of its characters."""
    norm = re.sub(r"[\W_]+", "", text)
    if not norm:
        return False
    covered = [False] * len(norm)
    hits = 0
    for word in {w for w in hotwords if len(w) >= 2}:
        start = norm.find(word)
        while start >= 0:
            hits += 1
            covered[start:start + len(word)] = [True] * len(word)
            start = norm.find(word, start + 1)
    return hits >= 2 and sum(covered) >= min_share * len(norm)


@lru_cache(maxsize=4)
def catalogue_terms(directory: str | None = None) -> tuple[str, ...]:
    """Chinese service titles and synonyms from the catalogue (2-8 Chinese characters each)."""
    try:
        from knowledge.catalogue import DEFAULT_CATALOGUE_DIR, load_catalogue
    except ImportError:  # the knowledge package is optional for voice alone
        return ()
    terms: list[str] = []
    for service in load_catalogue(directory or DEFAULT_CATALOGUE_DIR):
        doc = service.doc("zh")
        terms += [t for t in (doc.title, *doc.synonyms) if _CJK.match(t) and 2 <= len(t) <= 8]
    return tuple(dict.fromkeys(terms))


@lru_cache(maxsize=4)
def service_words(directory: str | None = None) -> tuple[str, ...]:
    """The words the catalogue's titles and synonyms are made of, when several share them: 公积金 (in
    公积金查询, 住房公积金 ...), 医保, 社保卡. Said alone ("公积金怎么查") they are heard as 攻击金; the
    whole titles do not match then. Three or more characters in 3+ terms, two characters in 10+ (at 5+,
    充电 turned 充点话费 into 充电话费)."""
    import jieba

    counts: dict[str, int] = {}
    for term in catalogue_terms(directory):
        for word in set(jieba.lcut(term, HMM=False)):
            if _CJK.match(word) and len(word) >= 2:
                counts[word] = counts.get(word, 0) + 1
    return tuple(w for w, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n >= (3 if len(w) >= 3 else 10))


@lru_cache(maxsize=1)
def base_terms() -> tuple[str, ...]:
    return tuple(dict.fromkeys((*BILL_TERMS_ZH, *COMMANDS_ZH, *catalogue_terms(), *service_words())))


def account_terms(labels: Iterable[str]) -> tuple[str, ...]:
    """Account labels and their leading two-character place names ("浦东新房子" -> 浦东新房子, 浦东)."""
    out: list[str] = []
    for label in labels:
        label = (label or "").strip()
        if _CJK.match(label) and len(label) >= 2:
            out.append(label)
            if len(label) > 2:
                out.append(label[:2])
    return tuple(dict.fromkeys(out))


def speech_context(lang: str | None, *, awaiting_confirmation: bool = False, awaiting_slot: str | None = None,
                   choices: Iterable[dict] = (), account_labels: Iterable[str] = ()) -> SpeechContext:
    """Hotwords, prompt and correction terms for the dialogue's state."""
    accounts = account_terms(account_labels)
    choice_names = account_terms(n for c in choices for n in (c.get("label", ""), c.get("alias", "")))
    if lang == "en":
        if awaiting_confirmation:
            return SpeechContext("en", CONSENT_EN, "Confirm or cancel?", (), "confirmation", accounts)
        return SpeechContext("en", (), None, (), awaiting_slot, accounts)
    if awaiting_confirmation:
        return SpeechContext(lang, CONSENT_ZH, None, accounts, "confirmation", accounts)
    if choice_names:
        labels = [n for n in choice_names if len(n) > 2] or list(choice_names)
        prompt = ("是" + "还是".join(labels))[:60] + "？"
        return SpeechContext(lang, (*choice_names, *BILL_TERMS_ZH[:8]), prompt,
                             tuple(dict.fromkeys((*choice_names, *accounts))), awaiting_slot or "account", accounts)
    # account names are correction targets here, not hotwords: biased toward 浦东, Whisper wrote
    # 自动缴费 as 浦东交费
    return SpeechContext(lang, (*BILL_TERMS_ZH, *COMMANDS_ZH[:6]), None, accounts, awaiting_slot, accounts)
