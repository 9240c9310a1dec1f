"""A thin client over litellm: one call, bounded retries with backoff, then fallback models.

``complete`` is async (``litellm.acompletion``), optionally streamed (text deltas go to an
``on_text`` callback as they arrive; tool-call pieces are assembled). There is no blocking variant:
a provider that trickles its answer must not hold a thread, and only a coroutine can be stopped.

Deadline: a call has a hard total ``deadline_s`` (retries, backoff and fallbacks included), on top
of the per-attempt ``timeout_s``; a provider that keeps sending one byte a second never outlives
it. A hit is an ``llm-timeout`` (retryable) like any other, which the turn turns into an answer.
What comes back is bounded too: ``max_chars`` cuts the text (a streamed answer stops being read
there, ``finish_reason="length"``) and ``max_tool_calls`` drops the calls past that many.

Retries: a timeout, a 429 or a 5xx/connection failure is retried on the same model ``retries``
times (exponential backoff), then the next model in ``fallbacks`` is tried; a 4xx other than 429
skips straight to the next model. A streamed answer is never retried once text has been emitted.
Every failure that leaves is an :class:`LLMError` with a stable code, whose message never holds
the API key (providers echo it in some errors). The provider SDK's own retries are switched off
(``max_retries=0``) so the budget is ours and countable.

Fallback models with the primary's provider prefix share ``api_base``/``api_key``; others are
configured the litellm way (its own provider environment variables).

Local servers (llama.cpp's ``llama-server``, Ollama): a forced ``tool_choice`` (one named function)
may be refused with a 400 that names ``tool_choice``, or ignored (the answer has no tool call). The
client then remembers, per model, that forced calls go in JSON mode: no tools, the function's
schema in the system message and as a ``json_schema`` response format (dropped too if the provider
refuses ``response_format``), and the JSON object the model writes is read back as the call. A refusal
is retried at once on the same model in JSON mode, inside the same deadline; later calls go straight
there. A provider that refuses ``tools`` altogether (llama-server without ``--jinja``) gets them
described in the system message instead, and earlier calls and results as plain text. Whatever
the mode, a tool call written as JSON text in the content (bare, fenced, with prose around it) is
read as a call (:mod:`assistant.llm.jsontext`); callers validate it as any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import random
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.llm.errors import LLMError
from assistant.llm.jsontext import calls_in_text, forced_name, json_mode_request, tools_as_text

log = logging.getLogger(__name__)
REFUSAL = re.compile(r"support|require|jinja|not enabled|not allowed")  # "tools param requires --jinja flag"
OnText = Callable[[str], Awaitable[None]]


def litellm_module():
    """Import litellm lazily, offline: the bundled cost map, no banner, no telemetry."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the cost map
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


@dataclass(frozen=True)
class ToolCallRequest:
    """A function call as the model wrote it; ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str

    def parsed(self) -> tuple[dict[str, Any] | None, str | None]:
        """(arguments, None) or (None, what is wrong with the JSON)."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError as exc:
            return None, f"arguments are not valid JSON: {exc}"
        if not isinstance(value, dict):
            return None, "arguments must be a JSON object"
        return value, None

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True)
class Completion:
    text: str
    tool_calls: tuple[ToolCallRequest, ...]
    model: str  # the model that answered (primary or a fallback)
    attempts: int  # provider requests this answer cost, failed ones included
    finish_reason: str | None = None

    def assistant_message(self) -> dict[str, Any]:
        """This answer as the next ``assistant`` message of the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = [c.wire() for c in self.tool_calls]
        return message


def classify(exc: BaseException, model: str) -> LLMError:
    """Any provider exception → an :class:`LLMError` with a stable code."""
    if isinstance(exc, LLMError):
        return exc
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    text = f"{model}: {name}: {str(exc)[:300]}"
    if isinstance(exc, TimeoutError) or name in ("Timeout", "APITimeoutError") or status == 408:
        return LLMError(text, code="llm-timeout", model=model, status=status)
    if status == 429 or name == "RateLimitError":
        return LLMError(text, code="llm-rate-limited", model=model, status=status)
    if status is not None and 400 <= status < 500:  # auth, not found, bad request: retrying cannot help
        return LLMError(text, code="llm-unavailable", retryable=False, model=model, status=status)
    if "missing credentials" in text.casefold():  # raised before any request: a setting, not the network
        return LLMError(text + " (set LUI_LLM_API_KEY)", code="llm-unavailable", retryable=False, model=model)
    return LLMError(text, code="llm-unavailable", model=model, status=status)


class LLMClient:
    def __init__(self, model: str, *, api_base: str | None = None, api_key: str | None = None,
                 timeout_s: float = 20.0, fallbacks: Sequence[str] = (), retries: int = 1,
                 backoff_s: float = 0.25, max_backoff_s: float = 2.0, temperature: float = 0.0,
                 max_tokens: int | None = 512, deadline_s: float | None = 30.0,
                 max_tool_calls: int | None = 4, max_chars: int | None = 2000):
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.fallbacks = tuple(fallbacks)
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.deadline_s = deadline_s
        self.max_tool_calls = max_tool_calls
        self.max_chars = max_chars
        self.refused: dict[str, set[str]] = {}  # model → what it refuses: tool_choice, tools, response_format
        self._litellm = litellm_module()

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> LLMClient:
        if not settings.llm_model:
            raise ValueError("no LLM configured (LUI_LLM_MODEL is unset)")
        options = dict(api_base=settings.llm_base_url, api_key=settings.llm_api_key,
                       timeout_s=settings.llm_timeout_s, fallbacks=settings.llm_fallbacks,
                       deadline_s=settings.llm_deadline_s, max_tool_calls=settings.llm_max_tool_calls,
                       max_chars=settings.llm_max_reply_chars)
        return cls(settings.llm_model, **{**options, **overrides})

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model, *self.fallbacks)

    # --- the attempt plan, shared by async and sync --------------------------------------------
    def _plan(self) -> Iterator[tuple[str, int]]:
        for model in self.models:
            for attempt in range(self.retries + 1):
                yield model, attempt

    def _delay(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * (2 ** attempt)) * (0.75 + 0.5 * random.random())

    def _kwargs(self, model: str, messages: list[dict[str, Any]], tools, tool_choice, stream: bool,
                max_tokens: int | None, timeout_s: float) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(model=model, messages=messages, timeout=timeout_s, max_retries=0,
                                      temperature=self.temperature, stream=stream, drop_params=True)
        if model.split("/", 1)[0] == self.model.split("/", 1)[0]:
            kwargs.update(api_base=self.api_base, api_key=self.api_key)
        forced = forced_name(tools, tool_choice)
        if forced is not None and self.json_mode(model, tools, tool_choice):
            tool = next(t for t in tools if t.get("function", {}).get("name") == forced)
            kwargs.update(json_mode_request(messages, tool, response_format=not self._refuses(model, "response_format")))
        elif tools and self._refuses(model, "tools"):
            kwargs["messages"] = tools_as_text(messages, tools, tool_choice)
        elif tools:
            kwargs["tools"] = tools
            if tool_choice is not None:
                kwargs["tool_choice"] = tool_choice
        if max_tokens or self.max_tokens:
            kwargs["max_tokens"] = max_tokens or self.max_tokens
        return kwargs

    # --- what a provider refuses, remembered per model ---------------------------------------------
    def _refuses(self, model: str, what: str) -> bool:
        return what in self.refused.get(model, ())

    def json_mode(self, model: str, tools, tool_choice) -> bool:
        """Whether a forced call to ``model`` goes as a JSON answer (it refused or ignored forced calls)."""
        return forced_name(tools, tool_choice) is not None and (
            self._refuses(model, "tool_choice") or self._refuses(model, "tools"))

    def _remember(self, model: str, what: str, why: str) -> bool:
        """Note that ``model`` refuses ``what``; whether that is news."""
        if self._refuses(model, what):
            return False
        log.warning("%s %s; later calls to it do without (JSON mode)", model, why)
        self.refused.setdefault(model, set()).add(what)
        return True

    def _learn(self, error: LLMError, model: str, sent: dict[str, Any]) -> bool:
        """After an error that names a parameter we can do without (a 400 from llama-server, a 500 from
        older builds): whether it is news (remembered; the same attempt is made again at once)."""
        if error.status is None or error.status < 400 or error.status == 429:
            return False
        said = error.message.casefold()
        if forced_name(sent.get("tools"), sent.get("tool_choice")) is not None and "tool_choice" in said:
            return self._remember(model, "tool_choice", "refuses a forced tool_choice")
        if "tools" in sent and re.search(r"\btools?\b", said) and REFUSAL.search(said):
            return self._remember(model, "tools", "refuses tools")
        if "response_format" in sent and ("response_format" in said or "json_schema" in said):
            return self._remember(model, "response_format", "refuses response_format")
        return False

    def _read_text_calls(self, answer: Completion, tools, tool_choice) -> Completion:
        """Tool calls the model wrote as JSON text become calls; a forced call answered without a
        native call is remembered (later forced calls go in JSON mode)."""
        if answer.tool_calls or not tools or tool_choice == "none":
            return answer
        forced = forced_name(tools, tool_choice)
        if forced is not None:
            self._remember(answer.model, "tool_choice", "answered a forced tool_choice without a tool call")
        calls = calls_in_text(answer.text, forced)
        if not calls:
            return answer
        requests = tuple(ToolCallRequest(f"call_{uuid.uuid4().hex[:12]}", name, raw) for name, raw in calls)
        return dataclasses.replace(answer, text="", tool_calls=requests)

    def _classify(self, exc: BaseException, model: str) -> LLMError:
        error = classify(exc, model)
        if self.api_key and len(self.api_key) >= 6 and self.api_key in error.message:
            error.message = error.message.replace(self.api_key, "***")
            error.args = (error.message,)
        return error

    def _bounded(self, answer: Completion) -> Completion:
        limit = self.max_tool_calls
        if limit is None or len(answer.tool_calls) <= limit:
            return answer
        log.warning("%s sent %d tool calls in one answer; keeping the first %d", answer.model,
                    len(answer.tool_calls), limit)
        return dataclasses.replace(answer, tool_calls=answer.tool_calls[:limit])

    def _next(self, error: LLMError, model: str, attempt: int) -> str:
        """After a failure: "retry" the same model, or move to the "next" one."""
        log.warning("LLM call failed (%s, attempt %d): %s", error.code, attempt + 1, error.message)
        return "retry" if error.retryable and attempt < self.retries else "next"

    # --- async ---------------------------------------------------------------------------------
    async def complete(self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None,
                       tool_choice: Any = None, on_text: OnText | None = None,
                       max_tokens: int | None = None, max_chars: int | None = None) -> Completion:
        """One answer; streamed when ``on_text`` is given (text deltas go there as they come).
        Bounded by ``deadline_s`` in total; the text by ``max_chars`` (default: the client's)."""
        max_chars = self.max_chars if max_chars is None else max_chars
        loop = asyncio.get_running_loop()
        ends = None if self.deadline_s is None else loop.time() + self.deadline_s
        try:
            async with asyncio.timeout_at(ends):
                return await self._attempts(messages, tools, tool_choice, on_text, max_tokens, max_chars, ends)
        except TimeoutError as exc:
            raise LLMError(f"{self.model}: no answer within the {self.deadline_s}s deadline", code="llm-timeout",
                           model=self.model) from exc

    async def _attempts(self, messages, tools, tool_choice, on_text: OnText | None, max_tokens: int | None,
                        max_chars: int | None, ends: float | None) -> Completion:
        loop = asyncio.get_running_loop()
        last: LLMError | None = None
        attempts = 0
        skip: str | None = None
        for model, attempt in self._plan():
            if model == skip:
                continue
            learned = True
            while learned:  # a refused parameter (remembered) is dropped and the same attempt made again
                attempts += 1
                emitted = [False]
                timeout_s = self.timeout_s if ends is None else max(0.01, min(self.timeout_s, ends - loop.time()))
                kwargs = self._kwargs(model, messages, tools, tool_choice, on_text is not None, max_tokens,
                                      timeout_s)
                try:
                    async with asyncio.timeout(timeout_s):
                        response = await self._litellm.acompletion(**kwargs)
                        if on_text is None:
                            answer = _from_response(response, model, attempts, max_chars)
                        else:
                            answer = await _from_stream(response, model, attempts, on_text, emitted, max_chars)
                        return self._bounded(self._read_text_calls(answer, tools, tool_choice))
                except Exception as exc:
                    last = self._classify(exc, model)
                    if emitted[0]:  # the client saw part of this answer: never start it again
                        raise last from exc
                    learned = self._learn(last, model, kwargs)
            assert last is not None
            if self._next(last, model, attempt) == "retry":
                await asyncio.sleep(self._delay(attempt))
            else:
                skip = model
        assert last is not None
        raise last


def _from_response(response: Any, model: str, attempts: int, max_chars: int | None = None) -> Completion:
    choices = getattr(response, "choices", None) or []
    if not choices or getattr(choices[0], "message", None) is None:
        raise LLMError(f"{model}: the answer has no message", code="llm-bad-response", model=model)
    message = choices[0].message
    calls = tuple(
        ToolCallRequest(id=c.id or f"call_{i}", name=(c.function.name or ""), arguments=c.function.arguments or "")
        for i, c in enumerate(getattr(message, "tool_calls", None) or [])
    )
    content = message.content or ""
    finish = getattr(choices[0], "finish_reason", None)
    if max_chars is not None and len(content) > max_chars:
        content, finish = content[:max_chars], "length"
    return Completion(content, calls, model, attempts, finish)


async def _from_stream(response: Any, model: str, attempts: int, on_text: OnText, emitted: list[bool],
                       max_chars: int | None = None) -> Completion:
    parts: list[str] = []
    size = 0
    calls: dict[int, dict[str, str]] = {}
    finish: str | None = None
    try:
        async for chunk in response:
            if not getattr(chunk, "choices", None):
                continue
            choice = chunk.choices[0]
            finish = getattr(choice, "finish_reason", None) or finish
            delta = choice.delta
            for piece in getattr(delta, "tool_calls", None) or []:
                slot = calls.setdefault(piece.index or 0, {"id": "", "name": "", "arguments": ""})
                slot["id"] = piece.id or slot["id"]
                if piece.function is not None:
                    slot["name"] = piece.function.name or slot["name"]
                    slot["arguments"] += piece.function.arguments or ""
            if delta.content:
                content = delta.content
                if max_chars is not None and size + len(content) > max_chars:
                    content = content[:max_chars - size]
                    finish = "length"
                if content:
                    parts.append(content)
                    size += len(content)
                    emitted[0] = True
                    await on_text(content)
                if finish == "length":
                    break  # stop reading: the rest of the answer is never downloaded
    finally:
        close = getattr(response, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
    tool_calls = tuple(ToolCallRequest(c["id"] or f"call_{i}", c["name"], c["arguments"])
                       for i, c in sorted(calls.items()))
    return Completion("".join(parts), tool_calls, model, attempts, finish)
