"""The chat widget at ``/`` in a real Chromium against a real server, router and SQLite ledger."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.conftest import balance, done_payments

ELECTRICITY = "bill_li_elec_202611"  # u_li's ¥186.50 electricity bill in the demo data


def _say(page, text: str) -> None:
    page.fill("#input", text)
    page.press("#input", "Enter")


def _last_bot(page):
    return page.locator(".msg.bot:not(.typing):not(.card) .bubble").last


def test_query_then_pay_with_the_confirmation_card(web_server, open_page, assistant, screenshot):
    before = balance(assistant, "u_li")
    owed = assistant.billing.bills("u_li", "electricity", "unpaid")[0].outstanding_fen
    page = open_page(f"{web_server.http}/?user=u_li&lang=zh")
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")

    _say(page, "这个月电费多少")
    expect(page.locator(".msg.user .bubble").last).to_have_text("这个月电费多少")
    expect(_last_bot(page)).to_contain_text("186.50")

    _say(page, "帮我把电费交了")
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "pending")
    expect(card.locator(".card-amount")).to_have_text("¥186.50")
    expect(card).to_contain_text("国网上海市电力公司")
    expect(card).to_contain_text("尾号3456")
    assert balance(assistant, "u_li") == before, "no money may move before the Confirm click"

    card.locator(".btn-confirm").click()
    expect(card).to_have_attribute("data-state", "paid")
    expect(card.locator(".card-status")).to_contain_text("已支付 ¥186.50")
    expect(_last_bot(page)).to_contain_text("已缴费")
    expect(card.locator(".btn-confirm")).to_be_hidden()

    assert balance(assistant, "u_li") == before - owed
    assert done_payments(assistant, ELECTRICITY) == 1
    assert assistant.billing.bills("u_li", "electricity", "unpaid") == []
    assert assistant.billing.ledger_check() == []
    screenshot(page, "chat.png")


def test_quick_reply_button_sends_its_text(web_server, open_page, assistant):
    page = open_page(f"{web_server.http}/?user=u_li&lang=zh")
    _say(page, "我有哪些账单要交")
    button = page.locator(".quick-reply", has_text="交水费")
    expect(button).to_be_visible()
    button.click()
    expect(page.locator(".msg.user .bubble").last).to_have_text("交水费")
    expect(page.locator(".quick-reply", has_text="交水费")).to_have_count(0)  # cleared once used
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "pending")
    expect(card.locator(".card-amount")).to_have_text("¥42.30")

    card.locator(".btn-cancel").click()
    expect(card).to_have_attribute("data-state", "cancelled")
    expect(_last_bot(page)).to_contain_text("没有扣款")
    assert len(assistant.billing.bills("u_li", "water", "unpaid")) == 1


def test_reconnect_restores_the_pending_confirmation(web_server, open_page, assistant):
    before = balance(assistant, "u_li")
    page = open_page(f"{web_server.http}/?user=u_li&lang=zh")
    _say(page, "帮我把电费交了")
    card = page.locator(".card")
    expect(card).to_have_attribute("data-state", "pending")
    confirmation_id = card.get_attribute("data-confirmation-id")
    session_id = page.evaluate("window.lui.sessionId")

    page.evaluate("window.lui.ws.close()")  # the socket goes away under the page
    page.wait_for_function("window.lui.stats.connects >= 2 && window.lui.ready", timeout=15_000)
    assert page.evaluate("window.lui.sessionId") == session_id
    assert page.evaluate("window.lui.stats.resumed") == 1
    expect(page.locator(".notice.warn")).to_be_visible()  # the drop was shown

    expect(card).to_have_attribute("data-state", "pending")  # confirm.request was sent again
    assert card.get_attribute("data-confirmation-id") == confirmation_id
    assert card.get_attribute("data-shown") == "2"
    expect(page.locator(".card")).to_have_count(1)
    assert balance(assistant, "u_li") == before

    card.locator(".btn-confirm").click()
    expect(card).to_have_attribute("data-state", "paid")
    assert balance(assistant, "u_li") == before - 18650
    assert done_payments(assistant, ELECTRICITY) == 1


def test_language_switch_and_user_picker(web_server, open_page):
    page = open_page(f"{web_server.http}/?user=u_li&lang=zh")
    page.select_option("#user", "u_amy")  # Amy prefers English: the page and the session follow
    page.wait_for_function("window.lui.ready && window.lui.user === 'u_amy'")
    expect(page.locator("#send")).to_have_text("Send")
    expect(page.locator("#lang button[data-lang=en]")).to_have_attribute("aria-pressed", "true")
    _say(page, "what's my balance")
    expect(_last_bot(page)).to_contain_text("¥1,000.00")

    page.click("#lang button[data-lang=zh]")
    page.wait_for_function("window.lui.ready && window.lui.lang === 'zh'")
    expect(page.locator("#send")).to_have_text("发送")
    _say(page, "我的余额是多少")
    expect(_last_bot(page)).to_contain_text("余额")


def test_streamed_deltas_errors_and_keepalive(web_server, open_page):
    page = open_page(f"{web_server.http}/?user=u_li&lang=zh&ping=300")
    page.wait_for_function("window.lui.stats.pongs >= 2")  # the keepalive is answered

    # reply.delta then reply, as a streaming server sends them (fed through the client's dispatch)
    page.evaluate("window.lui._dispatch({type: 'reply.delta', text: '您好，'})")
    streaming = page.locator(".msg.bot.streaming .bubble")
    expect(streaming).to_have_text("您好，")
    page.evaluate("window.lui._dispatch({type: 'reply.delta', text: '我在。'})")
    expect(streaming).to_have_text("您好，我在。")
    page.evaluate("window.lui._dispatch({type: 'reply', text: '您好，我在。', quick_replies: ['查余额']})")
    expect(page.locator(".msg.bot.streaming")).to_have_count(0)
    expect(_last_bot(page)).to_have_text("您好，我在。")
    expect(page.locator(".quick-reply")).to_have_text(["查余额"])

    # a real error event from the server: shown in the list, and the page carries on
    page.evaluate("window.lui.ws.send('{\"type\": \"no-such-thing\"}')")
    error = page.locator(".notice.error")
    expect(error).to_contain_text("unknown message type")
    expect(error).to_have_attribute("data-code", "unknown-type")
    _say(page, "我还有多少钱")
    expect(_last_bot(page)).to_contain_text("500.00")


def test_payment_history_shows_a_list_card(web_server, open_page):
    page = open_page(f"{web_server.http}/?user=u_li&lang=zh")
    _say(page, "我的缴费记录")
    card = page.locator(".list-card[data-kind=history]")
    expect(card).to_be_visible()
    expect(card.locator(".list-row").first).to_contain_text("电费 · 尾号3456")
    expect(card.locator(".list-row").first).to_contain_text("¥172.40")
    expect(page.locator(".card")).to_have_count(0)  # not a confirmation card
