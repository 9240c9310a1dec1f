"""Answers for the read-only intents: bills, balance, translation and service lookup."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from assistant.nlu.text import detect_lang
from assistant.nlu.unsupported_bills import UnsupportedBill
from assistant.replies import UNSUPPORTED_BILL_NAMES
from assistant.suggest import DUE_PERIODS, bills_due, offer_to_pay
from assistant.turn_context import ReplyOut, TurnContext

LANG_NAMES = {
    "en": ("英文", "English"), "zh": ("中文", "Chinese"), "ja": ("日语", "Japanese"), "ko": ("韩语", "Korean"),
    "fr": ("法语", "French"), "de": ("德语", "German"), "es": ("西班牙语", "Spanish"), "ru": ("俄语", "Russian"),
    "it": ("意大利语", "Italian"), "pt": ("葡萄牙语", "Portuguese"), "ar": ("阿拉伯语", "Arabic"),
    "th": ("泰语", "Thai"), "vi": ("越南语", "Vietnamese"), "yue": ("粤语", "Cantonese"),
}


def _bill_line(turn: TurnContext, bill: dict[str, Any]) -> str:
    voice = turn.voice
    return voice.say("bill_line", bill=voice.bill_name(bill["bill_type"]), account=f"({voice.account(bill['account'])})",
                     amount=voice.money(bill["outstanding_fen"]), due=voice.date(bill["due_date"]))


async def query_bill(turn: TurnContext, slots: dict[str, Any]) -> ReplyOut:
    voice = turn.voice
    if slots.get("period") in DUE_PERIODS and not slots.get("bill_type") and not slots.get("account"):
        return await bills_due(turn, slots["period"])  # "这个月要交哪些": what is due, not every bill
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
        offer_to_pay(turn, bills[0]["id"], bills[0]["bill_type"], bills[0]["account"])  # "那交吧" pays it
        return ReplyOut(voice.say("one_bill", line=lines[0]), quick_replies=quick, card=card)
    return ReplyOut(voice.say("bills_summary", count=len(bills), lines=voice.join(lines)), quick_replies=quick, card=card)


async def check_balance(turn: TurnContext, slots: dict[str, Any] | None = None) -> ReplyOut:
    result = await turn.call_tool("check_balance", {})
    if not result.ok:
        return ReplyOut(turn.voice.say("tool_failed"))
    return ReplyOut(turn.voice.say("balance", amount=turn.voice.money(result.data["balance_fen"])),
                    card={"kind": "balance", "balance_fen": result.data["balance_fen"]})


async def translate(turn: TurnContext, slots: dict[str, Any]) -> ReplyOut:
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


async def lookup_service(turn: TurnContext, slots: dict[str, Any]) -> ReplyOut | None:
    """The service the request is about; None when nothing in the catalogue matches well enough
    (the request is out of scope: the caller says so, see ``handlers.out_of_scope``)."""
    voice = turn.voice
    if turn.assistant.registry.get("lookup_service") is None or turn.assistant.retriever is None:
        return ReplyOut(voice.say("service_unavailable"))
    result = await turn.call_tool("lookup_service", {"query": slots.get("query", "")})
    if not result.ok:
        return ReplyOut(voice.say("service_unavailable"))
    if result.data.get("status") != "found":
        return None
    service = result.data["service"]
    card = {"kind": "service", **service}
    return ReplyOut(voice.say("service_found", title=service["title"], summary=service.get("summary", ""),
                              link=service["deep_link"]), card=card)


@lru_cache(maxsize=1)
def _catalogue():
    from knowledge.catalogue import load_catalogue

    return load_catalogue()


def _catalogue_service(service_id: str, lang: str) -> dict[str, Any] | None:
    """A packaged catalogue service as a lookup shows it; None if it is not there (blocking: the
    first call reads the YAML files)."""
    from knowledge.errors import KnowledgeError

    try:
        service = _catalogue().get(service_id)
        doc = service.doc(lang) if service is not None else None
    except (KnowledgeError, KeyError):
        return None
    if doc is None:
        return None
    return {"id": service_id, "title": doc.title, "summary": doc.summary, "deep_link": doc.deep_link,
            "needs": list(doc.needs), "steps": list(doc.steps)}


async def unsupported_bill(turn: TurnContext, bill: UnsupportedBill, quick_replies: list[str] | None) -> ReplyOut:
    """A bill lui does not pay: say which bills it does, and where this one is paid when the
    catalogue has a service for it."""
    voice = turn.voice
    names = UNSUPPORTED_BILL_NAMES[bill.kind]
    name = names[0] if turn.lang == "zh" else names[1]
    lang = "zh" if turn.lang == "zh" else "en"
    service = None
    if bill.service_id is not None:
        service = await turn.assistant.pools.run("embed", _catalogue_service, bill.service_id, lang)
    if service is None:
        return ReplyOut(voice.say("bill_unsupported", bill=name, supported=voice.bill_list()),
                        quick_replies=quick_replies)
    return ReplyOut(voice.say("bill_unsupported_service", bill=name, title=service["title"],
                              link=service["deep_link"], supported=voice.bill_list()),
                    quick_replies=quick_replies, card={"kind": "service", **service})
