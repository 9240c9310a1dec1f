"""Answers for the read-only intents: bills, balance, translation and service lookup."""

from __future__ import annotations

from datetime import date
from typing import Any

from assistant.nlu.text import detect_lang
from assistant.turns import ReplyOut, Turn

LANG_NAMES = {
    "en": ("英文", "English"), "zh": ("中文", "Chinese"), "ja": ("日语", "Japanese"), "ko": ("韩语", "Korean"),
    "fr": ("法语", "French"), "de": ("德语", "German"), "es": ("西班牙语", "Spanish"), "ru": ("俄语", "Russian"),
    "it": ("意大利语", "Italian"), "pt": ("葡萄牙语", "Portuguese"), "ar": ("阿拉伯语", "Arabic"),
    "th": ("泰语", "Thai"), "vi": ("越南语", "Vietnamese"), "yue": ("粤语", "Cantonese"),
}


def _due(turn: Turn, iso_date: str) -> str:
    d = date.fromisoformat(iso_date)
    return f"{d.month}月{d.day}日" if turn.lang == "zh" else d.strftime("%b %d").replace(" 0", " ")


def _bill_line(turn: Turn, bill: dict[str, Any]) -> str:
    voice = turn.voice
    return voice.say("bill_line", bill=voice.bill_name(bill["bill_type"]), account=f"({voice.account(bill['account'])})",
                     amount=voice.money(bill["outstanding_fen"]), due=_due(turn, bill["due_date"]))


async def query_bill(turn: Turn, slots: dict[str, Any]) -> ReplyOut:
    voice = turn.voice
    result = await turn.call_tool("query_bill", {"bill_type": slots.get("bill_type"), "account": slots.get("account")})
    if not result.ok:
        return ReplyOut(voice.say("tool_failed"))
    bills = result.data["bills"]
    if not bills:
        key = "no_unpaid" if slots.get("bill_type") else "no_unpaid_any"
        return ReplyOut(voice.say(key, bill=voice.bill_name(slots.get("bill_type"))))
    lines = [_bill_line(turn, b) for b in bills[:5]]
    card = {"kind": "bills", "bills": [{k: b[k] for k in ("id", "bill_type", "period", "outstanding_fen", "due_date")}
                                       for b in bills]}
    pay_label = ("交{bill}" if turn.lang == "zh" else "Pay {bill}")
    quick = sorted({pay_label.format(bill=voice.bill_name(b["bill_type"])) for b in bills})[:3]
    if len(bills) == 1:
        return ReplyOut(voice.say("one_bill", line=lines[0]), quick_replies=quick, card=card)
    return ReplyOut(voice.say("bills_summary", count=len(bills), lines=voice.join(lines)), quick_replies=quick, card=card)


async def check_balance(turn: Turn) -> ReplyOut:
    result = await turn.call_tool("check_balance", {})
    if not result.ok:
        return ReplyOut(turn.voice.say("tool_failed"))
    return ReplyOut(turn.voice.say("balance", amount=turn.voice.money(result.data["balance_fen"])),
                    card={"kind": "balance", "balance_fen": result.data["balance_fen"]})


async def translate(turn: Turn, slots: dict[str, Any]) -> ReplyOut:
    voice = turn.voice
    text = slots.get("text")
    if not text:
        return ReplyOut(voice.say("ask_translate_text"))
    target = slots.get("target_lang") or ("en" if detect_lang(text) == "zh" else "zh")
    result = await turn.call_tool("translate", {"text": text, "target_lang": target,
                                                "source_lang": slots.get("source_lang")})
    if not result.ok:
        return ReplyOut(voice.say("tool_failed"))
    if result.data["status"] != "translated":
        return ReplyOut(voice.say("translate_needs_llm"))
    names = LANG_NAMES.get(target, (target, target))
    return ReplyOut(voice.say("translated", text=text, lang_name=names[0] if turn.lang == "zh" else names[1],
                              result=result.data["translation"]))


async def lookup_service(turn: Turn, slots: dict[str, Any]) -> ReplyOut:
    voice = turn.voice
    if turn.assistant.registry.get("lookup_service") is None or turn.assistant.retriever is None:
        return ReplyOut(voice.say("service_unavailable"))
    result = await turn.call_tool("lookup_service", {"query": slots.get("query", "")})
    if not result.ok:
        return ReplyOut(voice.say("service_unavailable"))
    if result.data.get("status") != "found":
        return ReplyOut(voice.say("service_none"), quick_replies=[("人工客服" if turn.lang == "zh" else "Talk to a person")])
    service = result.data["service"]
    card = {"kind": "service", **service}
    return ReplyOut(voice.say("service_found", title=service["title"], summary=service.get("summary", ""),
                              link=service["deep_link"]), card=card)
