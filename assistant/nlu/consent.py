"""Is this a clear yes? The rule that decides whether a typed or spoken answer may move money.

While a payment waits, only an explicit, affirmative answer settles it: a closed grammar of
confirm words and phrases ("确认", "确定", "对，交吧", "好的交", "yes", "confirm", "go ahead",
"pay it" …), optionally after a leading filler ("嗯，确认", "uh huh, yes"). Everything else —
fillers on their own ("嗯", "hmm"), hesitations ("好吧…", "I think so", "maybe"), questions
("确认吗？", "sure?", "是吧"), words Whisper half-heard ("缺了") — is *unclear*, and the
assistant asks again. The router's reading and confidence play no part: a classifier can be
fooled by "嗯" (it looks like 嗯嗯就这个), a grammar cannot.

:func:`consent` answers ``"yes"``, ``"no"`` (a clear refusal: 取消, 不要, no, cancel …) or
``"unclear"``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from assistant.nlu.numbers import strip_invisible
from assistant.nlu.sound_grams import syllables

Consent = Literal["yes", "no", "unclear"]

# Affirmative phrases that may make up a whole answer (after fillers), longest first when matched.
_YES_ZH = (
    "确认支付", "确认付款", "确认缴费", "确认交费", "确认无误", "确认", "确定", "是的", "是", "对的", "对",
    "没错", "正确", "好的", "好嘞", "好", "可以的", "可以", "行的", "行", "没问题", "没毛病", "要得", "中",
    "同意", "就这么办", "就这个", "是这个", "就是这个", "就这样", "交吧", "付吧", "缴吧", "付款吧", "支付吧", "缴费吧",
    "交费吧", "确认吧", "帮我交", "交", "付", "付款", "支付", "缴费", "交费", "马上交", "现在交", "我确认",
    "我同意", "同意支付", "同意付款", "付钱",
)
# "Pay it" said the everyday ways, each naming the payment: 帮我交了, 直接付, 赶紧缴费, 立即支付, 交了吧. A bare
# 交了 stays unclear (it can mean "I paid already").
_PAY_VERBS_ZH = ("交", "缴", "付", "支付", "付款", "缴费", "交费", "付钱")
_FOR_ME_ZH = ("帮我", "给我", "替我")
_PAY_NOW_ZH = ("直接", "赶紧", "马上", "立即", "立刻", "现在", "现在就")
_YES_ZH += tuple(dict.fromkeys(
    [lead + verb + end for lead in _FOR_ME_ZH for verb in _PAY_VERBS_ZH for end in ("", "了")]
    + [lead + verb for lead in _PAY_NOW_ZH for verb in _PAY_VERBS_ZH]
    + [verb + "了" + end for verb in _PAY_VERBS_ZH for end in ("吧", "呗")]
))
_YES_EN = (
    "yes", "yeah", "yep", "yup", "sure", "ok", "okay", "correct", "confirm", "confirmed", "i confirm",
    "go ahead", "go for it", "do it", "pay", "pay it", "pay now", "pay the bill", "pay that", "pay it now",
    "please pay", "that's right", "that is right", "that's correct", "that is correct", "absolutely",
    "affirmative", "sounds good", "definitely", "of course", "proceed", "please proceed", "please do",
    "yes please", "go on", "no problem", "confirm it", "confirm payment", "confirm the payment",
    "go ahead and pay", "go ahead and pay it", "go ahead and pay the bill", "go ahead and do it", "alright",
    "all right", "yea",
)
# Acknowledgements that are a yes when typed, but not when heard: speech loses the rising tone that
# makes "okay?" or "好？" a question, so a spoken answer needs a word that says what to do.
_WEAK = ("是", "对", "好", "行", "中", "可以", "好的", "对的", "是的", "可以的", "行的", "好嘞", "要得",
         "ok", "okay", "sure", "yeah", "yep", "yup", "go on", "no problem", "sounds good", "alright", "all right", "yea")
# Fillers may precede a yes ("嗯，确认", "well, yes") but are never one on their own.
_FILLERS_ZH = ("嗯嗯", "嗯", "啊", "哦", "噢", "喔", "呃", "额", "唔", "那就", "那", "就")
_FILLERS_EN = ("uh huh", "uh-huh", "mhm", "mm", "mmm", "hmm", "um", "umm", "uh", "er", "erm", "well", "oh",
               "ah", "so", "then", "and", "just")
_POLITE_AFTER = ("please", "now", "thanks", "thank you", "already", "sir", "ma'am", "麻烦了", "谢谢", "吧", "啊", "呀",
                 "哈", "嘞", "呗")

# Markers of a question or a hesitation: any one makes the answer unclear, whatever else it says.
# An A-not-A question (是不是, 交没交, 可不可以, 确认不确认, 有没有) asks, but a refusal said twice does not: in 不要不要,
# 不是不是, 不行不行 the 要不要 / 是不是 / 行不行 follows a 不 (the A may not follow 不 or 没, nor be one).
_QUESTION = re.compile(
    r"[?？]|[吗么嘛呢]$|(?<![不没])((?![不没])[\u4e00-\u9fff]{1,2}?)[不没]\1|了没有?$|是否|确定不|[是对好行]吧$|真的"
    r"|的吧$|可以吧$|\b(?:really|are you sure|is it|is that|isn'?t it)\s*$|\b(?:should i|do i|shall i|can i|what|which|how)\b",
    re.IGNORECASE,
)
_HESITATION = re.compile(
    r"…|\.\.|。。|——|～|~"
    r"|应该|可能|大概|也许|或许|好像|估计|差不多|想想|考虑|再说|等等|等一下|稍等|先等|不确定|不知道|随便|看情况|吧吧"
    r"|听不[清见懂到]|没听[清见懂到]|不明白|没明白|不懂|[说讲]不[清好准]"  # "I didn't catch that" asks again, it does not cancel
    r"|\b(?:i think|i guess|i suppose|maybe|perhaps|probably|possibly|not sure|unsure|kind of|kinda|sort of"
    r"|i don'?t know|dunno|let me think|wait|hold on|hang on|if you say so|whatever|fine i guess|might)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"取消|不|别|没|算了|否|停|退出|\b(?:no|nope|nah|not|don'?t|do not|never|stop|cancel)\b", re.IGNORECASE)
_NOT_NEGATION = re.compile(r"没问题|没毛病|没错|不错|\bno problem\b|\bwhy not\b", re.IGNORECASE)
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")  # "确 认" as transcribed
_SEPARATORS = re.compile(r"[\s,，。.!！、;；:：\"“”‘’《》()（）\[\]【】]+")


def _normalise(text: str) -> str:
    text = strip_invisible(unicodedata.normalize("NFKC", text)).casefold().strip()
    return _CJK_GAP.sub("", text).replace("’", "'")


def _alternation(phrases: tuple[str, ...]) -> str:
    """Longest first; a Latin phrase must end at a word boundary ("ok" is not the start of "okra")."""
    ordered = sorted(phrases, key=len, reverse=True)
    return "|".join(re.escape(p) + (r"(?![a-z0-9'])" if p.isascii() else "") for p in ordered)


# fillers, then at least one yes phrase, then only yes phrases or polite words
_AFFIRMATIVE = re.compile(
    rf"(?:(?:{_alternation(_FILLERS_ZH + _FILLERS_EN)})\s*)*"
    rf"(?:{_alternation(_YES_ZH + _YES_EN)})"
    rf"(?:\s*(?:{_alternation(_YES_ZH + _YES_EN + _POLITE_AFTER)}))*"
)


_STRONG = re.compile(rf"(?:{_alternation(tuple(p for p in _YES_ZH + _YES_EN if p not in _WEAK))})")


def _is_affirmative(text: str, spoken: bool) -> bool:
    words = _SEPARATORS.sub(" ", text).strip()
    if _AFFIRMATIVE.fullmatch(words) is None:
        return False
    return not spoken or _STRONG.search(words) is not None


# Spoken Mandarin: Whisper often hears a clear yes with the right sounds and the wrong characters (对教
# for 对，交; 没问题叫吧, 是的胶吧). A transcript of Chinese characters alone, two syllables or more, whose
# toneless pinyin is syllable for syllable a yes of the grammar above (fillers, a strong yes, polite words)
# is that yes. The question, hesitation and refusal checks have run on its characters first, a syllable
# outside the grammar (交吧妈, 努叫吧) leaves it unclear, nothing is near-matched, one syllable alone, after
# fillers or not (叫, 嗯服), never pays, and 确认/确定 count only as written.
_AS_WRITTEN = re.compile(r"(确认|确定)")  # tokens of their own: never matched by their sounds alone


def _sound_tokens(han: str) -> str:
    """确认交吧 -> "确认 jiao ba": toneless pinyin, but 确认/确定 kept as written."""
    return " ".join(part if _AS_WRITTEN.fullmatch(part) else " ".join(syllables(part))
                    for part in _AS_WRITTEN.split(han) if part)


def _sounds(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_sound_tokens(p) for p in phrases if re.fullmatch(r"[\u3400-\u9fff]+", p)))


def _sound_alternation(sounds: tuple[str, ...]) -> str:
    return "|".join(re.escape(s) for s in sorted(sounds, key=len, reverse=True))


_WEAK_SOUNDS = _sounds(_WEAK)
# 确认 and 确定 are the words the recogniser is steered to while a payment waits (voice/lexicon.py): one heard
# as 缺人 or 却认 in spite of that is a near miss, and near misses of the consent words are asked again
_YES_SOUNDS = _sounds(_YES_ZH)
_STRONG_SOUNDS = tuple(s for s in _YES_SOUNDS if s not in _WEAK_SOUNDS)
_FILLER_SOUNDS = re.compile(rf"(?:(?:{_sound_alternation(_sounds(_FILLERS_ZH))}) )*")
_AFFIRMATIVE_SOUNDS = re.compile(
    rf"(?:{_sound_alternation(_YES_SOUNDS)})"
    rf"(?: (?:{_sound_alternation(_YES_SOUNDS + _sounds(_POLITE_AFTER))}))*"
)
_STRONG_SOUND = re.compile(rf"(?:^| )(?:{_sound_alternation(_STRONG_SOUNDS)})(?= |$)")
_HAN_ONLY = re.compile(r"[\u3400-\u9fff]{2,}")
# the sounds of a yes word that Whisper also writes for 不 (不对 heard as 副对 in a slow, clear voice)
_NEGATION_LIKE = frozenset({"fu"})


def _sounds_affirmative(text: str) -> bool:
    """Whether a transcript of Chinese characters alone sounds like a strong yes of the grammar."""
    han = _SEPARATORS.sub("", text)
    if not _HAN_ONLY.fullmatch(han):
        return False
    sounds = _sound_tokens(han)
    fillers = _FILLER_SOUNDS.match(sounds)
    first = len(fillers.group().split()) if fillers else 0  # fillers are one character a syllable
    sounds = sounds[fillers.end():] if fillers else sounds
    if sounds.split(" ", 1)[0] in _NEGATION_LIKE and han[first] != "付":
        return False  # 不对 heard as 副对, 不交 as 复交: where a refusal starts, 付 counts only as written
    return (sounds.count(" ") >= 1 and _AFFIRMATIVE_SOUNDS.fullmatch(sounds) is not None
            and _STRONG_SOUND.search(sounds) is not None)


def _is_question(norm: str) -> bool:
    return _QUESTION.search(norm.rstrip(" .。!！")) is not None


def _doubts(norm: str) -> bool:
    return _is_question(norm) or _HESITATION.search(norm) is not None


def doubts(text: str) -> bool:
    """Whether an answer asks or hesitates ("确认吗？", "好吧……", "I think so"): never a yes, whatever it says."""
    return _doubts(_normalise(text))


_LEADING_FILLERS = re.compile(rf"^(?:(?:{_alternation(_FILLERS_ZH)})[\s,，。、]*)*")
_REFUSAL_ONSETS = frozenset({"bu", "pu", "fu"})  # 不, and how Whisper also writes it (不对 as 普对, 副对, 付对)


def _bu_first(rest: str) -> bool:
    """Whether ``rest`` starts with a Chinese character that sounds like 不 (bu, pu or fu)."""
    return bool(re.fullmatch(r"[\u3400-\u9fff]", rest[:1])) and syllables(rest[0])[0] in _REFUSAL_ONSETS


def opens_like_a_refusal(text: str) -> bool:
    """Whether a Mandarin transcript starts, after fillers, with the sound of 不 (bu, or pu/fu, 付 included)."""
    return _bu_first(_LEADING_FILLERS.sub("", _normalise(text)))


_POLITE = re.compile(rf"(?:{_alternation(_POLITE_AFTER)})*")


def _shaped_like_a_refusal(norm: str) -> bool:
    """A transcript that opens, after fillers, with the sound of 不 written as a yes (付, or 副/普) and goes
    on with more than the sound of 吧, 款 or 钱, or thanks: 付对, 付确认, 付交吧 are how 不对, 不确认, 不交吧
    sound, and no one answers "pay this?" with them. 付, 付吧 (付巴), 付款, 付，谢谢 stay a yes."""
    rest = _SEPARATORS.sub("", _LEADING_FILLERS.sub("", norm))
    if len(rest) < 2 or not _bu_first(rest):
        return False
    return syllables(rest[1])[0] not in ("ba", "kuan", "qian") and _POLITE.fullmatch(rest[1:]) is None


def consent(text: str, spoken: bool = False) -> Consent:
    """``"yes"`` only for a clear, affirmative answer; ``"no"`` for a clear refusal; else unclear.

    ``spoken``: the text is a transcript, so a bare acknowledgement ("okay", "好") is not enough, and
    Chinese characters that sound like a yes syllable for syllable are one (对教 → 对，交).
    """
    norm = _normalise(text)
    if not norm or _doubts(norm):
        return "unclear"
    if _NEGATION.search(_NOT_NEGATION.sub("", norm)):
        return "no"
    if spoken and _shaped_like_a_refusal(norm):
        return "unclear"  # asked again: it may have been a no
    if _is_affirmative(norm, spoken) or (spoken and _sounds_affirmative(norm)):
        return "yes"
    return "unclear"


# A question while a payment waits: "多少钱来着？", "是这个月的吗？", "which bill is it?". The router reads
# most of them as a new balance or bill query; asked about the waiting payment, they are answered by
# saying it again (bill and amount). Words that ask for the balance itself stay a balance question.
_INTERROGATIVE = re.compile(r"多少|哪|什么|啥|谁|几|\b(?:how|which|what|who|when|where)\b", re.IGNORECASE)
_OWN_BALANCE = re.compile(r"余额|还有多少|还剩|剩多少|剩下|钱包|零钱|\b(?:balance|left|do i have|wallet)\b", re.IGNORECASE)


def asks_about_it(text: str) -> bool:
    """Whether an answer to "pay this?" is a question that is not about the user's own balance."""
    norm = _normalise(text)
    return (_is_question(norm) or _INTERROGATIVE.search(norm) is not None) and _OWN_BALANCE.search(norm) is None

