"""Faults around money: the client vanishes mid-confirmation, the database is locked. Nothing is
lost and nothing is paid twice; the ledger check holds after each."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

from tests.api.conftest import of_type


async def test_disconnect_between_confirm_and_reply_pays_exactly_once(connect_client, assistant):
    before = assistant.billing.balance("u_li").balance_fen
    owed = assistant.billing.bills("u_li", "gas", "unpaid")[0].outstanding_fen
    client, started = await connect_client(user="u_li", lang="zh")
    request = of_type(await client.say("交燃气费"), "confirm.request")[0]
    await client.send(type="confirm", confirmation_id=request["confirmation_id"], accept=True)
    await client.ws.close()  # gone before the reply

    for _ in range(400):  # the server finishes the turn on its own
        if assistant.billing.balance("u_li").balance_fen != before:
            break
        await asyncio.sleep(0.05)
    assert assistant.billing.balance("u_li").balance_fen == before - owed

    again, resumed = await connect_client(user="u_li", lang="zh", session_id=started["session_id"])
    assert resumed["resumed"]
    # the finished turn cleared the pending confirmation; a retried confirm is answered, not paid
    await again.send(type="confirm", confirmation_id=request["confirmation_id"], accept=True)
    reply = (await again.until_terminal())[-1]
    assert reply["type"] == "reply" and "不会重复扣款" in reply["text"]
    assert assistant.billing.balance("u_li").balance_fen == before - owed
    assert assistant.billing.ledger_check() == []
    assert sum(t.intent is None and "confirm" in t.text for t in
               assistant.conversations.turns(started["session_id"])) == 2


async def test_locked_database_delays_but_does_not_break_a_payment(connect_client, assistant, settings):
    before = assistant.billing.balance("u_amy").balance_fen
    client, _ = await connect_client(user="u_amy", lang="en")
    request = of_type(await client.say("pay my electricity bill"), "confirm.request")[0]

    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:  # another writer holds the SQLite write lock for a while
        con = sqlite3.connect(settings.sqlite_path, timeout=30)
        con.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(10)
        con.rollback()
        con.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait(10)
    started = time.perf_counter()
    await client.send(type="confirm", confirmation_id=request["confirmation_id"], accept=True)
    await asyncio.sleep(1.0)
    release.set()
    reply = (await client.until_terminal(wait_s=60))[-1]
    holder.join()
    assert time.perf_counter() - started >= 1.0
    assert reply["type"] == "reply" and reply["text"].startswith("Paid")
    assert assistant.billing.balance("u_amy").balance_fen < before
    assert assistant.billing.ledger_check() == []
