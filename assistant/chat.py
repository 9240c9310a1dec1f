"""``lui chat``: a terminal client that speaks the websocket protocol.

Type a message and press Enter. When a payment waits for confirmation, answer ``y`` or ``n``
(or say "确认"/"取消" in words). ``/cancel`` abandons the current request, ``/quit`` leaves.
"""

from __future__ import annotations

import asyncio
import json
import sys

import websockets


def _show(event: dict) -> None:
    kind = event.get("type")
    if kind == "reply":
        print(f"lui> {event['text']}")
        if event.get("quick_replies"):
            print("     [" + " | ".join(event["quick_replies"]) + "]")
    elif kind == "confirm.request":
        print(f"lui> ⚠ {event['summary']}  (y/n)")
    elif kind == "error":
        print(f"lui! {event['code']}: {event['message']}")
    elif kind == "intent":
        print(f"     · {event['name']} {event['confidence']:.2f} {json.dumps(event['slots'], ensure_ascii=False)}")
    elif kind == "session.started":
        print(f"(session {event['session_id']}, lang {event['lang']}, mode {event['mode']})")


async def chat(url: str, *, lang: str = "auto", mode: str = "standard", token: str | None = None,
               user: str | None = None) -> int:
    pending: dict[str, str] = {}
    answered = asyncio.Event()  # one turn at a time: the next line is read after its reply
    async with websockets.connect(url, max_size=2**22) as ws:
        start = {"type": "session.start", "lang": lang, "mode": mode}
        if token:
            start["token"] = token
        if user:
            start["user"] = user
        await ws.send(json.dumps(start))

        async def reader() -> None:
            async for raw in ws:
                event = json.loads(raw)
                if event.get("type") == "confirm.request":
                    pending["id"] = event["confirmation_id"]
                _show(event)
                if event.get("type") in ("reply", "error", "session.started"):
                    answered.set()

        task = asyncio.create_task(reader())
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    await asyncio.wait_for(answered.wait(), 60)
                except TimeoutError:
                    print("lui! no answer within 60 s")
                answered.clear()
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line or line.strip() == "/quit":
                    break
                text = line.strip()
                if not text:
                    answered.set()
                    continue
                if text == "/cancel":
                    await ws.send(json.dumps({"type": "cancel"}))
                elif text.lower() in ("y", "n") and "id" in pending:
                    await ws.send(json.dumps({"type": "confirm", "confirmation_id": pending.pop("id"),
                                              "accept": text.lower() == "y"}))
                else:
                    await ws.send(json.dumps({"type": "text", "text": text}))
        finally:
            task.cancel()
    return 0
