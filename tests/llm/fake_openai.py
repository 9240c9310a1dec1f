"""A small OpenAI-compatible server for tests and benchmarks: ``POST /v1/chat/completions``.

Scriptable per test: a queue of responses (text, tool calls, HTTP errors, slow answers, answers
trickled one byte at a time, errors that echo the API key, malformed tool arguments), each served to the next request whatever model it names, streamed as SSE when the
request says ``stream: true``. Every request body is recorded, with the time the server spent on it,
so tests can assert what litellm sent (the prompt, the tools, the model) and how often it retried.
When the queue is empty a ``responder`` function answers, if one is set; otherwise the server
answers with an HTTP 599 (counted in ``unscripted``) so a test that forgot a step fails loudly.

Like llama.cpp's ``llama-server``: with ``refuse_object_tool_choice`` set, a request whose
``tool_choice`` is an object gets that server's HTTP 400 (consuming nothing from the script), and
``text_call`` scripts a tool call written as JSON text in the content, as small local models do.

    with FakeOpenAI() as fake:
        fake.script(tool_call("query_bill", {"bill_type": "water"}), text("水费42.3元。"))
        client = LLMClient(fake.model("fake"), api_base=fake.base_url, api_key="sk-fake")
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from assistant.api.server import ServerThread


@dataclass(frozen=True)
class Scripted:
    """One answer of the fake model."""

    text: str | None = None
    tool_calls: tuple[tuple[str, dict[str, Any] | str], ...] = ()  # (name, args); a str is sent verbatim
    status: int = 200
    delay_s: float = 0.0  # before the first byte (a slow provider; a timeout when above the client's)
    chunk_chars: int = 3  # streamed text comes in pieces of this many characters
    error_type: str = "server_error"
    trickle_s: float = 0.0  # > 0: the whole body goes out one byte at a time, this long apart
    echo_key: bool = False  # an error whose message repeats the API key the request carried
    message: str | None = None  # an error's message (default "fake <status>")


def text(content: str, *, delay_s: float = 0.0) -> Scripted:
    return Scripted(text=content, delay_s=delay_s)


def tool_call(name: str, args: dict[str, Any] | str, *more: tuple[str, dict[str, Any] | str],
              delay_s: float = 0.0) -> Scripted:
    """One tool call (``args`` as a str is sent as-is: malformed JSON), plus more in the same answer."""
    return Scripted(tool_calls=((name, args), *more), delay_s=delay_s)


def http_error(status: int, *, delay_s: float = 0.0, message: str | None = None) -> Scripted:
    kind = "rate_limit_exceeded" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
    return Scripted(status=status, delay_s=delay_s, error_type=kind, message=message)


LLAMA_TOOL_CHOICE_ERROR = ("Wrong type supplied for parameter 'tool_choice'. Expected 'string', using default value: "
                           "[json.exception.type_error.302] type must be string, but is object")


def text_call(name: str, args: dict[str, Any] | str, *, style: str = "plain", shape: str = "name") -> Scripted:
    """A tool call written as JSON text in the message content (no tool-call message), as small local
    models do. ``style``: "plain" (the JSON alone), "fenced" (in a ```json block) or "prose" (with
    sentences around it); ``shape``: "name" ({"name", "arguments"}), "tool" ({"tool", "args"}) or
    "bare" (the arguments alone). ``args`` as a str is written as-is (malformed JSON)."""
    if isinstance(args, str):
        body = {"name": f'{{"name": "{name}", "arguments": {args}',
                "tool": f'{{"tool": "{name}", "args": {args}', "bare": args}[shape]
    else:
        value = {"name": {"name": name, "arguments": args}, "tool": {"tool": name, "args": args}, "bare": args}[shape]
        body = json.dumps(value, ensure_ascii=False, indent=1 if style == "fenced" else None)
    content = {"plain": body, "fenced": f"```json\n{body}\n```",
               "prose": f"Sure, I will use the tool for that.\n{body}\nLet me know if you need anything else."}[style]
    return Scripted(text=content)


def trickle(then: Scripted | None = None, *, every_s: float = 1.0) -> Scripted:
    """An answer sent one byte every ``every_s`` seconds: each read comes in time, the whole never does."""
    base = then or text("This answer trickles in one byte at a time, far too slowly to wait for.")
    return Scripted(text=base.text, tool_calls=base.tool_calls, trickle_s=every_s)


def key_echoing_error(status: int = 401) -> Scripted:
    """An auth error that repeats the caller's API key in its message, as some providers do."""
    return Scripted(status=status, error_type="invalid_api_key", echo_key=True)


def slow(seconds: float, then: Scripted | None = None) -> Scripted:
    """An answer that starts after ``seconds`` (a timeout when that exceeds the client's)."""
    base = then or text("(late)")
    return Scripted(text=base.text, tool_calls=base.tool_calls, status=base.status, delay_s=seconds)


@dataclass
class Received:
    body: dict[str, Any]
    started: float
    finished: float = 0.0

    @property
    def model(self) -> str:
        return self.body.get("model", "")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def server_ms(self) -> float:
        return (self.finished - self.started) * 1000

    def prompt_text(self) -> str:
        """Every message's content, joined: what the model was told."""
        parts = []
        for m in self.messages:
            content = m.get("content")
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            parts.append(str(content or ""))
        return "\n".join(parts)


@dataclass
class FakeOpenAI:
    """The fake provider; use as a context manager (it runs on uvicorn in a thread)."""

    responder: Callable[[dict[str, Any]], Scripted] | None = None
    queue: deque[Scripted] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)
    unscripted: int = 0
    refuse_object_tool_choice: bool = False  # llama-server: a 400 for {"type": "function", ...}

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ServerThread | None = None

    # --- scripting -------------------------------------------------------------------------
    def script(self, *items: Scripted) -> FakeOpenAI:
        with self._lock:
            self.queue.extend(items)
        return self

    def reset(self) -> None:
        with self._lock:
            self.queue.clear()
            self.requests.clear()
            self.unscripted = 0
            self.refuse_object_tool_choice = False

    def _next(self, body: dict[str, Any]) -> Scripted | None:
        with self._lock:
            if self.queue:
                return self.queue.popleft()
        if self.responder is not None:
            return self.responder(body)
        with self._lock:
            self.unscripted += 1
        return None

    # --- serving ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first (with FakeOpenAI() as fake)"
        return f"{self._server.http}/v1"

    @staticmethod
    def model(name: str = "fake-model") -> str:
        """The litellm model string that reaches this server through its OpenAI client."""
        return f"openai/{name}"

    def __enter__(self) -> FakeOpenAI:
        self._server = ServerThread(self.app())
        self._server.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.__exit__(*exc)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request):
            record = Received(body=await request.json(), started=time.perf_counter())
            self.requests.append(record)
            if self.refuse_object_tool_choice and isinstance(record.body.get("tool_choice"), dict):
                record.finished = time.perf_counter()
                return JSONResponse({"error": {"code": 400, "message": LLAMA_TOOL_CHOICE_ERROR,
                                               "type": "invalid_request_error"}}, status_code=400)
            answer = self._next(record.body)
            if answer is None:
                record.finished = time.perf_counter()
                return JSONResponse({"error": {"message": "fake: nothing scripted", "type": "fake"}},
                                    status_code=599)
            if answer.delay_s:
                await asyncio.sleep(answer.delay_s)
            if answer.status != 200:
                record.finished = time.perf_counter()
                message = answer.message or f"fake {answer.status}"
                if answer.echo_key:
                    key = request.headers.get("authorization", "").removeprefix("Bearer ")
                    message = f"Incorrect API key provided: {key}. You can find your API key in your account."
                return JSONResponse({"error": {"message": message, "type": answer.error_type,
                                               "code": answer.error_type}}, status_code=answer.status)
            if answer.trickle_s:
                stream = bool(record.body.get("stream"))
                body = ("".join(f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in _chunks(record.body, answer))
                        + "data: [DONE]\n\n") if stream else json.dumps(_completion(record.body, answer))
                return StreamingResponse(self._trickle(record, body.encode(), answer.trickle_s),
                                         media_type="text/event-stream" if stream else "application/json")
            if record.body.get("stream"):
                return StreamingResponse(self._sse(record, answer), media_type="text/event-stream")
            record.finished = time.perf_counter()
            return JSONResponse(_completion(record.body, answer))

        return app

    async def _trickle(self, record: Received, body: bytes, every_s: float):
        try:
            for i in range(len(body)):
                yield body[i:i + 1]
                await asyncio.sleep(every_s)
        finally:
            record.finished = time.perf_counter()

    async def _sse(self, record: Received, answer: Scripted):
        for chunk in _chunks(record.body, answer):
            yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
            await asyncio.sleep(0)
        yield "data: [DONE]\n\n"
        record.finished = time.perf_counter()


# --- OpenAI wire format ---------------------------------------------------------------------
def _args_str(args: dict[str, Any] | str) -> str:
    return args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)


def _usage(body: dict[str, Any], answer: Scripted) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages", [])) // 2 + 1
    completion = len(answer.text or "") // 2 + 8 * len(answer.tool_calls) + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _finish(answer: Scripted) -> str:
    return "tool_calls" if answer.tool_calls else "stop"


def _completion(body: dict[str, Any], answer: Scripted) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{uuid.uuid4().hex[:10]}", "type": "function",
             "function": {"name": name, "arguments": _args_str(args)}}
            for name, args in answer.tool_calls
        ]
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(answer)}],
            "usage": _usage(body, answer)}


def _chunks(body: dict[str, Any], answer: Scripted):
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": body.get("model", "fake")}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    content = answer.text or ""
    step = max(1, answer.chunk_chars)
    for i in range(0, len(content), step):
        yield chunk({"content": content[i:i + step]})
    for index, (name, args) in enumerate(answer.tool_calls):
        yield chunk({"tool_calls": [{"index": index, "id": f"call_{uuid.uuid4().hex[:10]}", "type": "function",
                                     "function": {"name": name, "arguments": ""}}]})
        raw = _args_str(args)
        for i in range(0, len(raw), 8):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": raw[i:i + 8]}}]})
    final = chunk({}, _finish(answer))
    if (body.get("stream_options") or {}).get("include_usage"):
        final["usage"] = _usage(body, answer)
    yield final


def route_oracle(labels: dict[str, tuple[str, dict[str, Any]]],
                 delay_s: float = 0.0) -> Callable[[dict[str, Any]], Scripted]:
    """A responder that answers every forced ``route`` call with the gold label of the last user message
    (text → (intent, slots)), after ``delay_s``; unknown texts get ``out_of_scope``. It measures the
    plumbing, not a model."""

    def respond(body: dict[str, Any]) -> Scripted:
        said = next((m.get("content") or "" for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        intent, slots = labels.get(said, ("out_of_scope", {}))
        return tool_call("route", {"intent": intent, "confidence": 0.99, "slots": slots}, delay_s=delay_s)

    return respond


# --- a stand-alone fake for benchmarks (its own process: no GIL shared with what is measured) ------
BENCH_ANSWER = "您的电费是一百八十六元五角，十二月十五日前交就行。"


def bench_responder(delay_s: float, oracle: dict[str, tuple[str, dict[str, Any]]] | None = None):
    """Answers by what is asked: a forced ``route`` call → the oracle's label (or query_bill); a plan
    without tool results yet → a ``query_bill`` call; a plan with them → a text answer."""
    route = route_oracle(oracle or {}, delay_s)

    def respond(body: dict[str, Any]) -> Scripted:
        names = [t.get("function", {}).get("name") for t in body.get("tools") or []]
        if names == ["route"]:
            if oracle is None:
                return tool_call("route", {"intent": "query_bill", "slots": {"bill_type": "electricity"}},
                                 delay_s=delay_s)
            return route(body)
        if not any(m.get("role") == "tool" for m in body.get("messages", [])):
            return tool_call("query_bill", {"bill_type": "electricity"}, delay_s=delay_s)
        return text(BENCH_ANSWER, delay_s=delay_s)

    return respond


def main(argv: list[str] | None = None) -> None:
    import argparse

    import uvicorn

    from assistant.nlu.data import load_examples

    parser = argparse.ArgumentParser(prog="python -m tests.llm.fake_openai")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--oracle", help="labelled JSONL: route calls are answered with its gold labels")
    args = parser.parse_args(argv)
    oracle = None
    if args.oracle:
        oracle = {e.text: (e.intent, e.slots) for e in load_examples(args.oracle, strict=False)}
    fake = FakeOpenAI(responder=bench_responder(args.delay_ms / 1000, oracle))
    uvicorn.run(fake.app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
