"""The websocket protocol of DESIGN.md as pydantic models: client messages in, server events out.

Client messages are validated with a discriminated union on ``type``; anything that does not fit
becomes an ``error`` event (see :func:`parse_client_message`), never an exception in the server.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- client → server ------------------------------------------------------------------------
class SessionStart(_Msg):
    type: Literal["session.start"]
    token: str | None = None
    lang: Literal["zh", "en", "auto"] = "auto"
    mode: Literal["standard", "elder"] = "standard"
    session_id: str | None = None
    user: str | None = Field(default=None, max_length=64)  # only honoured when auth is off
    speech: bool = False  # send spoken replies (reply.audio.start, binary frames, reply.audio.end)
    reminders: bool = False  # follow session.started with a reply naming bills due soon (when any are)


class TextIn(_Msg):
    type: Literal["text"]
    text: str
    id: str | None = Field(default=None, max_length=128)


class AudioStart(_Msg):
    type: Literal["audio.start"]
    format: Literal["pcm16", "wav", "webm", "ogg"]
    sample_rate: int | None = Field(default=None, ge=8000, le=192000)
    lang: Literal["zh", "en", "auto"] | None = None
    # who ends the utterance: "server" (an open microphone: the server hears the end of the turn) or "client"
    # (hold-to-talk: only audio.end ends it, however long the person pauses while holding)
    endpoint: Literal["server", "client"] = "server"


class AudioEnd(_Msg):
    type: Literal["audio.end"]


class ConfirmIn(_Msg):
    type: Literal["confirm"]
    confirmation_id: str = Field(max_length=128)
    accept: bool


class CancelIn(_Msg):
    type: Literal["cancel"]


class PingIn(_Msg):
    type: Literal["ping"]


ClientMessage = Annotated[
    SessionStart | TextIn | AudioStart | AudioEnd | ConfirmIn | CancelIn | PingIn,
    Field(discriminator="type"),
]
_client_adapter: TypeAdapter[Any] = TypeAdapter(ClientMessage)
CLIENT_TYPES = ("session.start", "text", "audio.start", "audio.end", "confirm", "cancel", "ping")


# --- server → client ------------------------------------------------------------------------
class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def wire_text(self) -> str:
        """:meth:`wire` as one compact JSON text (UTF-8 kept), serialised in pydantic's core: a
        websocket frame without the dict and ``json.dumps`` in between (3-7x cheaper per event)."""
        return self.model_dump_json(exclude_none=True)


class SessionStarted(_Event):
    type: Literal["session.started"] = "session.started"
    session_id: str
    lang: str
    mode: str
    resumed: bool = False
    user: str | None = None
    speech: bool | None = None  # the session asked for spoken replies: whether the server will send them
    # with speech-to-text on: the longest utterance taken (a hold-to-talk client lets go before it)
    max_audio_seconds: float | None = None


class TranscriptPartial(_Event):
    type: Literal["transcript.partial"] = "transcript.partial"
    text: str


class TranscriptFinal(_Event):
    type: Literal["transcript.final"] = "transcript.final"
    text: str
    lang: str | None = None
    duration_ms: int | None = None


class IntentEvent(_Event):
    type: Literal["intent"] = "intent"
    name: str
    confidence: float
    slots: dict[str, Any]
    source: Literal["router", "llm"] = "router"


class ToolCall(_Event):
    type: Literal["tool.call"] = "tool.call"
    call_id: str
    name: str
    args: dict[str, Any]


class ToolResultEvent(_Event):
    type: Literal["tool.result"] = "tool.result"
    call_id: str
    name: str
    ok: bool
    data: Any = None
    error: dict[str, Any] | None = None


class ConfirmRequest(_Event):
    type: Literal["confirm.request"] = "confirm.request"
    confirmation_id: str
    summary: str
    expires_at: str  # ISO 8601, UTC
    details: dict[str, Any] | None = None


class ReplyDelta(_Event):
    type: Literal["reply.delta"] = "reply.delta"
    text: str


class Reply(_Event):
    type: Literal["reply"] = "reply"
    text: str
    quick_replies: list[str] | None = None
    card: dict[str, Any] | None = None
    timings_ms: dict[str, float] | None = None
    id: str | None = None  # echoes the client's text id


class ReplyAudioStart(_Event):
    """A spoken reply follows as binary frames (``format`` pcm16: little-endian 16-bit mono)."""

    type: Literal["reply.audio.start"] = "reply.audio.start"
    id: str  # the turn's id: the reply's ``id`` when the client gave one
    format: Literal["pcm16"] = "pcm16"
    sample_rate: int


class ReplyAudioEnd(_Event):
    """The spoken reply is over: all of it (``interrupted`` absent), stopped (``cancel`` or new speech),
    or cut short by a synthesis failure (``error`` names it; the text reply stands)."""

    type: Literal["reply.audio.end"] = "reply.audio.end"
    id: str
    interrupted: bool | None = None
    error: str | None = None
    audio_ms: int | None = None  # how much audio was sent


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    code: str
    message: str
    retryable: bool = False
    id: str | None = None


class Pong(_Event):
    type: Literal["pong"] = "pong"


ServerEvent = (
    SessionStarted | TranscriptPartial | TranscriptFinal | IntentEvent | ToolCall | ToolResultEvent
    | ConfirmRequest | ReplyDelta | Reply | ErrorEvent | Pong
)


MAX_JSON_DEPTH = 32  # client messages are flat objects; nothing legitimate comes close
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_json(raw: str | bytes) -> Any | ErrorEvent:
    """Client JSON → Python data, or the ``error`` event that answers it.

    Refuses what would break later stages instead of the client: nesting deeper than
    :data:`MAX_JSON_DEPTH` (``too-deep``; far deeper input would also overflow the parser's
    recursion) and strings holding lone UTF-16 surrogates such as ``"\\ud800"`` (``bad-text``),
    which no UTF-8 database, log or reply can carry.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw  # strict: no smuggled surrogates
        data = json.loads(text)
    except RecursionError:
        return ErrorEvent(code="too-deep", message=f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    except (ValueError, UnicodeDecodeError):
        return ErrorEvent(code="bad-json", message="the message is not valid JSON")
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH and "\\u" not in text and not _SURROGATE.search(text):
        return data  # the common case, decided at C speed: too few brackets to be deep, no escapes
    stack: list[tuple[Any, int]] = [(data, 1)]  # iterative: the depth check itself must not recurse
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return ErrorEvent(code="bad-text", message="the text holds an invalid character (a lone surrogate)")
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return ErrorEvent(code="too-deep", message=f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return data


def parse_client_message(raw: str | bytes, max_bytes: int) -> BaseModel | ErrorEvent:
    """One text frame → a client message, or the ``error`` event that answers it."""
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > max_bytes:
        return ErrorEvent(code="message-too-large", message=f"message of {size} bytes exceeds {max_bytes}")
    data = decode_json(raw)
    if isinstance(data, ErrorEvent):
        return data
    if not isinstance(data, dict):
        return ErrorEvent(code="invalid-message", message="a message must be a JSON object with a 'type'")
    kind = data.get("type")
    if kind not in CLIENT_TYPES:
        return ErrorEvent(code="unknown-type", message=f"unknown message type {str(kind)[:40]!r}")
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or kind
        return ErrorEvent(code="invalid-message", message=f"{kind}: {where}: {first['msg']}")
