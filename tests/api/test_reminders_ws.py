"""session.start with ``reminders``: session.started, then one reply naming the bills due soon."""

from __future__ import annotations

from datetime import UTC, datetime

from tools.billing import Billing


async def test_session_start_with_reminders_is_followed_by_one_reply(connect_client, assistant):
    ts = datetime(2026, 12, 12, 2, 0, tzinfo=UTC).timestamp()
    assistant.billing = Billing(assistant.billing.engine, confirm_ttl_s=300, clock=lambda: ts)
    client, started = await connect_client(user="u_li", lang="zh", reminders=True)
    assert started["type"] == "session.started"
    reply = await client.recv()
    assert reply["type"] == "reply" and reply["text"].startswith("您有3笔账单快到期了：")
    assert reply["quick_replies"] == ["交电费", "交燃气费", "交水费"]  # due the same day: by type
    events = await client.say("查余额")  # the conversation goes on as usual
    assert events[-1]["text"] == "您的余额是500.00元。"
    plain, _ = await connect_client(user="u_li", lang="zh")  # not asked for: no extra reply
    assert (await plain.say("查余额"))[0]["type"] == "intent"
