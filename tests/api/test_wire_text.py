"""Events go on the websocket as ``wire_text()`` (pydantic's own JSON): the same JSON a client got
from ``json.dumps(event.wire())`` before, Chinese kept as UTF-8, no spaces; frames go uncompressed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from websockets.asyncio.client import connect

from assistant.protocol import ConfirmRequest, ErrorEvent, IntentEvent, Pong, Reply, ToolCall, ToolResultEvent

EVENTS = [
    IntentEvent(name="pay_bill", confidence=0.8732, slots={"bill_type": "electricity", "amount": 123.45}),
    ToolCall(call_id="call_1", name="pay_bill", args={"account": "3100123456", "n": 2}),
    ToolResultEvent(call_id="call_1", name="bills", ok=True,
                    data={"bills": [{"due": date(2026, 12, 15), "at": datetime(2026, 11, 30, 12, tzinfo=UTC),
                                     "amount": Decimal("123.45"), "note": None}]}),
    ToolResultEvent(call_id="call_2", name="pay_bill", ok=False, error={"code": "insufficient-balance"}),
    ConfirmRequest(confirmation_id="c_1", summary="向国网上海交电费123.45元", expires_at="2026-11-30T12:05:00Z",
                   details={"amount_fen": 12345}),
    Reply(text="您的余额是500.00元。", quick_replies=["交电费"], card={"type": "balance"},
          timings_ms={"understand": 3.21, "total": 9.0}, id="m1"),
    Reply(text="hi"),
    ErrorEvent(code="busy", message="too many turns in flight", retryable=True),
    Pong(),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.type)
def test_wire_text_is_the_json_of_wire(event):
    text = event.wire_text()
    assert json.loads(text) == event.wire()
    assert text == json.dumps(event.wire(), ensure_ascii=False, separators=(",", ":"))  # what send_json sent


async def test_frames_are_not_compressed_even_when_the_client_offers_it(server):
    async with connect(server.ws, compression="deflate") as ws:  # offers permessage-deflate
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None  # the server declined
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}
