"""The elder page at ``/elder``: large type, the text fallback, payments, and hold-to-talk with
Chromium's fake microphone playing an espeak-ng recording."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.web.conftest import SPOKEN, balance, done_payments

MIN_REPLY_PX = 28


def _px(page, selector: str, prop: str = "font-size") -> float:
    return page.eval_on_selector(selector, f"e => parseFloat(getComputedStyle(e)['{prop}'])")


def test_elder_page_is_large_and_the_text_fallback_works(web_server, open_page, assistant, screenshot):
    before = balance(assistant, "u_li")
    page = open_page(f"{web_server.http}/elder?user=u_li", height=1000)
    assert page.evaluate("[window.lui.mode, window.lui.lang]") == ["elder", "zh"]
    talk = page.locator("#talk")
    expect(talk).to_be_visible()
    expect(talk).to_contain_text("按住")
    box = talk.bounding_box()
    assert box["height"] >= 120 and box["width"] >= 400, box
    assert _px(page, "#reply") >= MIN_REPLY_PX
    assert _px(page, "#talk") >= 36
    assert _px(page, "#text") >= 24

    page.fill("#text", "这个月水费多少")
    page.click("#text-send")
    reply = page.locator("#reply")
    expect(reply).to_contain_text("四十二元三角")  # elder wording spells the amount out
    expect(page.locator("#transcript")).to_have_text("这个月水费多少")
    assert page.evaluate("window.luiElder.spoken.at(-1)") == reply.inner_text()

    page.fill("#text", "帮我把电费交了")
    page.press("#text", "Enter")
    panel = page.locator("#confirm")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("data-state", "pending")
    expect(page.locator("#confirm-amount")).to_have_text("¥186.50")
    expect(page.locator("#confirm-detail")).to_contain_text("国网上海市电力公司")
    expect(reply).to_contain_text("一百八十六元五角")
    assert _px(page, "#confirm-yes") >= 28
    assert page.locator("#confirm-yes").bounding_box()["height"] >= 80
    page.locator("#text").blur()
    screenshot(page, "elder.png")

    page.click("#confirm-yes")
    expect(panel).to_have_attribute("data-state", "paid")
    expect(reply).to_contain_text("交好了")
    assert balance(assistant, "u_li") == before - 18650
    assert done_payments(assistant, "bill_li_elec_202611") == 1


def watch_sent_frames(page) -> list:
    """The frames the page sends on its websocket from now on (the page is reloaded, so its socket is new)."""
    sent: list = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    page.reload()
    page.wait_for_function("window.lui && window.lui.ready")
    return sent


def _hold_to_talk(page, seconds: float = 3.0) -> None:
    page.hover("#talk")
    page.mouse.down()
    page.wait_for_function("window.luiElder.lastTake !== null")  # the microphone opened; audio.start sent
    page.wait_for_timeout(int(seconds * 1000))
    page.mouse.up()


def test_hold_to_talk_voice(voice_server, open_page):
    """Speech from Chromium's fake microphone is streamed, transcribed and answered, big and spoken."""
    page = open_page(f"{voice_server.http}/elder?user=u_amy&lang=en")
    sent = watch_sent_frames(page)
    _hold_to_talk(page)
    page.wait_for_function("""() => {
        const alert = document.getElementById('alert');
        return (!alert.hidden && alert.dataset.code) || window.luiElder.talk === 'idle' && window.luiElder.replied;
    }""", timeout=60_000)
    events = page.evaluate("window.lui.events")
    kinds = [e["type"] for e in events]
    assert not page.locator("#alert").is_visible(), (page.inner_text("#alert"), kinds)
    take = page.evaluate("({format: window.luiElder.lastTake.format, frames: window.luiElder.lastTake.frames})")
    assert take["format"] == "webm" and take["frames"] >= 8, take  # a frame every 250 ms for ~3 s
    starts = [json.loads(p) for p in sent if isinstance(p, str) and '"audio.start"' in p]
    assert starts == [{"type": "audio.start", "format": "webm", "endpoint": "client"}], starts  # hold-to-talk
    final = next(e for e in events if e["type"] == "transcript.final")
    assert "balance" in final["text"].lower(), final
    expect(page.locator("#transcript")).to_have_text(final["text"])
    assert [e["name"] for e in events if e["type"] == "intent"] == ["check_balance"]
    reply = page.locator("#reply")
    expect(reply).to_contain_text("one thousand yuan")  # elder English spells the amount out
    assert _px(page, "#reply") >= MIN_REPLY_PX
    assert page.evaluate("window.luiElder.spoken.at(-1)") == reply.inner_text()
    assert SPOKEN.split()[-1] in final["text"].lower()


def test_voice_unavailable_is_shown_clearly(web_server, open_page):
    page = open_page(f"{web_server.http}/elder?user=u_li")  # this server has no speech-to-text
    _hold_to_talk(page, seconds=1.0)
    alert = page.locator("#alert")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("data-code", "voice-unavailable")
    expect(page.locator("#alert-text")).to_have_text("语音功能现在用不了，请在下面打字。")
    assert _px(page, "#alert-text") >= MIN_REPLY_PX
    expect(page.locator("#talk")).to_have_attribute("data-state", "idle")
    assert page.evaluate("window.lui.stats.binary") == 0  # nothing streamed after the refusal
    # the session carries on: typing still works
    page.fill("#text", "我还有多少钱")
    page.press("#text", "Enter")
    expect(page.locator("#reply")).to_contain_text("五百元")
    expect(alert).to_be_hidden()
