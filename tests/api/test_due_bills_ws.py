""""这个月要交哪些" / "what bills are due this month": the user's own unpaid bills due in the window, in the
session-start reminder's one sentence with a quick reply per bill; said plainly when nothing is due.
Real server, real websocket, real router, real SQLite ledger with the demo data (bills due 2026-12-15,
October's bills paid on time)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.conftest import of_type
from tools.billing import Billing


def _at(assistant, *ymd: int) -> None:
    """The ledger's clock at 10:00 China time on that day."""
    ts = datetime(*ymd, 2, 0, tzinfo=UTC).timestamp()
    assistant.billing = Billing(assistant.billing.engine, confirm_ttl_s=300, clock=lambda: ts)


async def test_what_is_due_this_month_lists_only_own_unpaid_bills(connect_client, assistant):
    _at(assistant, 2026, 12, 3)  # the 15th is 12 days away: past the 7-day reminder window, within this month
    client, _ = await connect_client(user="u_li", lang="zh")
    events = await client.say("这个月要交哪些")
    intent = of_type(events, "intent")[0]
    assert intent["name"] == "query_bill" and intent["slots"].get("period") == "this_month"
    reply = events[-1]
    assert reply["text"] == ("您有3笔账单快到期了：电费186.50元（12月15日前）、燃气费68.00元（12月15日前）、"
                             "水费42.30元（12月15日前）。")  # soonest first, then by type
    assert reply["quick_replies"] == ["交电费", "交燃气费", "交水费"]  # one per due bill
    # her own unpaid bills only: not October's paid ones (overdue by date), not 王大爷's
    assert sorted(b["id"] for b in reply["card"]["bills"]) == [
        "bill_li_elec_202611", "bill_li_gas_202611", "bill_li_water_202611"]

    request = of_type(await client.say("交水费"), "confirm.request")[0]
    await client.send(type="confirm", confirmation_id=request["confirmation_id"], accept=True)
    assert "已缴费" in (await client.until_terminal())[-1]["text"]
    events = await client.say("这个月要交哪些")  # paid just now: no longer due
    assert events[-1]["text"] == "您有2笔账单快到期了：电费186.50元（12月15日前）、燃气费68.00元（12月15日前）。"
    assert events[-1]["quick_replies"] == ["交电费", "交燃气费"]


async def test_what_is_due_in_english_and_in_elder_mode(connect_client, assistant):
    _at(assistant, 2026, 12, 10)
    client, _ = await connect_client(user="u_amy", lang="en")
    reply = (await client.say("what bills are due this month"))[-1]
    assert reply["text"].startswith("You have 3 bill(s) due soon: ")
    for part in ("phone ¥128.00 (due Dec 15)", "internet ¥99.00 (due Dec 15)", "electricity ¥210.30 (due Dec 15)"):
        assert part in reply["text"]
    assert sorted(reply["quick_replies"]) == ["Pay electricity", "Pay internet", "Pay phone"]
    assert {b["id"] for b in reply["card"]["bills"]} == {"bill_amy_phone_202611", "bill_amy_net_202611",
                                                         "bill_amy_elec_202611"}

    elder, _ = await connect_client(user="u_li", lang="zh", mode="elder")
    text = (await elder.say("这个月要交哪些"))[-1]["text"]
    assert text.startswith("有3笔费快到期了：") and "一百八十六元五角" in text and "四十二元三角" in text


async def test_nothing_due_is_said_plainly(connect_client, assistant):
    _at(assistant, 2026, 11, 20)  # this month's bills were paid in October; November's are due Dec 15
    client, _ = await connect_client(user="u_li", lang="zh")
    events = await client.say("这个月要交哪些")
    assert events[-1]["text"] == "这个月没有要交的账单。" and not events[-1].get("quick_replies")
    events = await client.say("最近有什么要交的")
    assert events[-1]["text"] == "最近7天没有要交的账单。"
    en, _ = await connect_client(user="u_amy", lang="en")
    assert (await en.say("what bills are due this month"))[-1]["text"] == "No bills are due this month."
    # a bill named, or no period: the unpaid list as before
    assert (await client.say("电费多少钱"))[-1]["text"].startswith("电费")
