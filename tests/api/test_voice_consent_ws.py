"""Spoken hesitations never pay: espeak-ng English through the real websocket and Whisper tiny.en.

A payment is prepared by text, then fillers and hedges are spoken while it waits: each is heard
(or refused as no speech), none settles it, and the bill stays unpaid; a spoken clear yes then pays."""

from __future__ import annotations

import pytest

from tests.api.conftest import Client, of_type
from voice import synth

SPOKEN_HESITATIONS = ["hmm", "mmm", "um", "uh", "well", "maybe", "I think so", "I'm not sure", "wait", "okay?"]
SPOKEN_YES = "yes, go ahead"


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("consent-audio")
    try:
        return {text: synth.to_wav(synth.speak(text, d / f"s{i}.wav"), d / f"c{i}.wav", 16000).read_bytes()
                for i, text in enumerate([*SPOKEN_HESITATIONS, SPOKEN_YES])}
    except synth.MissingTool as exc:
        pytest.fail(str(exc), pytrace=False)


async def _speak(client: Client, wav: bytes) -> list[dict]:
    await client.send(type="audio.start", format="wav")
    for i in range(0, len(wav), 4000):
        await client.send_raw(wav[i:i + 4000])
    await client.send(type="audio.end")
    return await client.until_terminal(wait_s=60)


def _unpaid_electricity(assistant) -> int:
    return len(assistant.billing.bills("u_amy", "electricity", "unpaid"))


async def test_spoken_fillers_never_pay_and_a_spoken_yes_does(voice_server, assistant, clips):
    from websockets.asyncio.client import connect

    client = Client(await connect(voice_server.ws, max_size=2**24))
    await client.start(user="u_amy", lang="en")
    before = assistant.billing.balance("u_amy").balance_fen
    assert of_type(await client.say("pay my electricity bill"), "confirm.request")
    heard = []
    for text in SPOKEN_HESITATIONS:
        events = await _speak(client, clips[text])
        assert not [e for e in of_type(events, "tool.call") if e["name"] == "confirm_payment"], (text, events)
        finals = of_type(events, "transcript.final")
        if finals:
            heard.append(finals[0]["text"])
            assert "confirm" in events[-1]["text"].lower(), (text, events[-1])  # asked again
        else:
            assert events[-1]["code"] == "no-speech", events[-1]
    assert len(heard) >= len(SPOKEN_HESITATIONS) // 2, heard  # most were heard, and still did not pay
    assert assistant.billing.balance("u_amy").balance_fen == before and _unpaid_electricity(assistant) == 1

    events = await _speak(client, clips[SPOKEN_YES])
    assert [e["name"] for e in of_type(events, "tool.call")] == ["confirm_payment"], events
    assert assistant.billing.balance("u_amy").balance_fen < before and _unpaid_electricity(assistant) == 0
    await client.ws.close()
