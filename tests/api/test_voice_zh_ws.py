"""Mandarin elder voice end to end: Kokoro clips (Ogg/Opus, as the elder page sends) through the real
websocket and the packaged Whisper base, with the dialogue state steering recognition.

王大爷 (u_wang) has two homes. "帮我交电费" asks which; "浦东那个" — which plain Whisper hears as
普通那个 — picks 浦东新房子 because the account question biases recognition. While 李阿姨's
payment waits, a 取消 that the biased decode writes as 确认 (the plain decode hears 缺乡) is not
taken as a yes, and a clear 取消 cancels. No money moves."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from assistant.api.app import create_app
from assistant.api.audio import VoiceGateway
from tests.api.conftest import Client, of_type
from tests.conftest import LiveServer

FIXTURES = Path(__file__).resolve().parent.parent / "voice" / "fixtures"
PUDONG_ELECTRICITY = "3100555666"


async def _speak(client: Client, name: str) -> list[dict]:
    data = (FIXTURES / f"zh_{name}.ogg").read_bytes()
    await client.send(type="audio.start", format="ogg")
    for i in range(0, len(data), 4000):
        await client.send_raw(data[i:i + 4000])
    await client.send(type="audio.end")
    return await client.until_terminal(wait_s=120)


def _final(events: list[dict]) -> str:
    finals = of_type(events, "transcript.final")
    assert finals, events
    return finals[0]["text"]


@pytest.fixture
def live(settings, assistant, base_stt_pool):
    gateway = VoiceGateway(settings, assistant, base_stt_pool)
    with LiveServer(create_app(settings, assistant, voice=gateway)) as server:
        yield server


@pytest.mark.slow
async def test_the_account_question_steers_recognition(live, assistant):
    client = Client(await connect(live.ws, max_size=2**24))
    await client.start(user="u_wang", lang="zh", mode="elder")
    events = await _speak(client, "pay_electricity")
    assert "电费" in _final(events)
    assert of_type(events, "intent")[0]["name"] == "pay_bill"
    assert not of_type(events, "confirm.request")  # which home?
    assert any("浦东" in q for q in events[-1].get("quick_replies") or []), events[-1]

    events = await _speak(client, "pudong")
    assert "浦东" in _final(events), events  # plain Whisper base writes 普通那个
    assert "五十八元七角" in events[-1]["text"], events[-1]  # the 浦东 bill (¥58.70; more than his ¥30)
    await client.ws.close()


@pytest.mark.slow
async def test_a_payment_waiting_moves_no_money_on_a_misheard_cancel(live, assistant):
    client = Client(await connect(live.ws, max_size=2**24))
    await client.start(user="u_li", lang="zh", mode="elder")
    before = assistant.billing.balance("u_li").balance_fen
    events = await _speak(client, "pay_electricity")
    assert of_type(events, "confirm.request"), events

    events = await _speak(client, "cancel_heard_as_confirm")  # biased: 确认; plain: 缺乡 -> asked again
    assert not [e for e in of_type(events, "tool.call") if e["name"] == "confirm_payment"], events
    assert assistant.billing.balance("u_li").balance_fen == before

    events = await _speak(client, "cancel")
    assert "取消" in _final(events)
    assert not [e for e in of_type(events, "tool.call") if e["name"] == "confirm_payment"], events
    assert assistant.billing.balance("u_li").balance_fen == before
    assert len(assistant.billing.bills("u_li", "electricity", "unpaid")) == 1
    await client.ws.close()
