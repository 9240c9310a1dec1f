"""Spoken Mandarin answers while a payment waits, the elder page's path: Kokoro speech streamed through the
real websocket to the packaged Whisper base, which the waiting payment biases toward 确认/取消.

Hesitations, questions, a bare 好的 and 听不清 neither pay nor cancel: each is asked again, the bill stays
unpaid and the balance whole. Then a clear yes that Whisper writes with the wrong characters but the right
sounds (zm_yunxia's 对，交吧 is heard as 对教) pays, once."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect

from assistant.api.app import create_app
from assistant.api.audio import VoiceGateway
from evals.voice_zh import write_ogg
from tests.api.conftest import Client, of_type
from tests.conftest import LiveServer

NOT_A_YES = [("嗯……", "zf_xiaobei"), ("我想想", "zm_yunxi"), ("等一下", "zf_xiaoyi"), ("多少钱来着？", "zm_yunyang"),
             ("好的", "zf_xiaobei"), ("听不清", "zf_xiaoyi"), ("先等等，我问问我儿子", "zm_yunjian")]
YES = ("对，交吧", "zm_yunxia")


@pytest.fixture
def live(settings, assistant):
    """The server's own recogniser (make_stt: the packaged Whisper base as the settings configure it)."""
    voice = VoiceGateway.create(settings, assistant)
    with LiveServer(create_app(settings, assistant, voice=voice)) as server:
        yield server
    voice.pool.close()


async def _speak(client: Client, kokoro_tts, tmp_path, text: str, voice: str) -> list[dict]:
    """The answer as the elder page sends it: Ogg/Opus, the button held, then let go."""
    data = write_ogg(*kokoro_tts.synth(text, voice), tmp_path / f"{abs(hash((text, voice)))}.ogg").read_bytes()
    await client.send(type="audio.start", format="ogg", endpoint="client")
    for i in range(0, len(data), 4000):
        await client.send_raw(data[i:i + 4000])
    await client.send(type="audio.end")
    return await client.until_terminal(wait_s=120)


def _settled(events: list[dict]) -> list[str]:
    return [e["name"] for e in of_type(events, "tool.call") if e["name"] in ("confirm_payment", "cancel_payment")]


@pytest.mark.slow
async def test_spoken_mandarin_hesitations_never_pay_and_a_yes_heard_by_its_sounds_does(live, assistant, kokoro_tts, tmp_path):
    client = Client(await connect(live.ws, max_size=2**24))
    await client.start(user="u_li", lang="zh", mode="elder")
    before = assistant.billing.balance("u_li").balance_fen
    (bill,) = assistant.billing.bills("u_li", "electricity", "unpaid")
    due = bill.amount_fen - bill.paid_fen
    asked = of_type(await client.say("帮我交电费"), "confirm.request")
    assert asked, "no payment to answer"
    heard = []
    for text, voice in NOT_A_YES:
        events = await _speak(client, kokoro_tts, tmp_path, text, voice)
        assert not _settled(events), (text, events)
        finals = of_type(events, "transcript.final")
        if finals:
            heard.append(finals[0]["text"])
            assert events[-1]["type"] == "reply" and "确认" in events[-1]["text"], (text, events[-1])  # asked again
        else:
            assert events[-1]["code"] == "no-speech", events[-1]
    assert len(heard) >= len(NOT_A_YES) - 2, heard  # most were heard, and still did not pay
    assert assistant.billing.balance("u_li").balance_fen == before
    assert len(assistant.billing.bills("u_li", "electricity", "unpaid")) == 1

    events = await _speak(client, kokoro_tts, tmp_path, *YES)
    assert _settled(events) == ["confirm_payment"], events
    assert not assistant.billing.bills("u_li", "electricity", "unpaid")
    assert assistant.billing.balance("u_li").balance_fen == before - due
    events = await _speak(client, kokoro_tts, tmp_path, *YES)  # said again: nothing is waiting, nothing moves twice
    assert not _settled(events)
    assert assistant.billing.balance("u_li").balance_fen == before - due
    await client.ws.close()
