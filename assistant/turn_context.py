"""A turn in progress and what it answers with: the session it runs in (:class:`ChatSession`), the turn
itself (:class:`TurnContext`: language, event sink, tool calls) and its reply (:class:`ReplyOut`).

The handlers (``assistant.handlers``, ``answers``, ``suggest`` ...) and the LLM tier read these; the
turn loop (``assistant.turns``) builds them and calls the handlers, so nothing here imports either
(``Assistant`` is named for the type checker only).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from assistant.dialogue import DialogueState
from assistant.nlu.types import Understanding
from assistant.protocol import ToolCall, ToolResultEvent
from assistant.replies import ReplyVoice
from tools.context import ToolContext
from tools.registry import ToolResult

if TYPE_CHECKING:
    from assistant.turns import Assistant

Emit = Callable[[BaseModel], Awaitable[None]]


@dataclass
class ChatSession:
    """One conversation as this worker holds it (its stored row is ``store.models.Conversation``)."""

    id: str
    user_id: str
    lang: str  # zh / en / auto
    mode: str  # standard / elder
    state: DialogueState
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # this worker's last ownership of the session (SharedState.session_lock): while no other worker
    # has owned it since, ``state`` is the newest and is not re-read from the database
    owner: str | None = None
    # the state as the database last had it (read or written by this worker): a turn that leaves
    # ``state`` equal to it writes no state at all
    saved: dict[str, Any] | None = None

    def loaded(self, state: DialogueState) -> None:
        """Take ``state`` as read from the database."""
        self.state, self.saved = state, state.model_dump(mode="json")

    @property
    def elder(self) -> bool:
        return self.mode == "elder"


@dataclass(frozen=True)
class ReplyOut:
    text: str
    quick_replies: list[str] | None = None
    card: dict[str, Any] | None = None


@dataclass
class TurnContext:
    """One turn in progress: the session, the language it is answered in, and its event sink."""

    assistant: Assistant
    session: ChatSession
    emit: Emit
    lang: str
    key: str
    timings: dict[str, float] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    understood: Understanding | None = None  # set when the LLM tier re-read the utterance (logged)
    heard: bool = False  # the text is a speech transcript (consent is stricter: see nlu.consent)

    @property
    def voice(self) -> ReplyVoice:
        return ReplyVoice(self.lang, self.session.elder)

    @property
    def state(self) -> DialogueState:
        return self.session.state

    def tool_context(self) -> ToolContext:
        a = self.assistant
        return ToolContext(self.session.user_id, self.session.id, self.key, self.lang, a.billing,
                           a.retriever, a.translator)

    async def call_tool(self, name: str, args: dict[str, Any]) -> ToolResult:
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        args = {k: v for k, v in args.items() if v is not None}
        await self.emit(ToolCall(call_id=call_id, name=name, args=args))
        result = await self.assistant.registry.call(name, args, self.tool_context(), pools=self.assistant.pools)
        self.timings["tool"] = round(self.timings.get("tool", 0.0) + result.duration_ms, 2)
        await self.emit(ToolResultEvent(call_id=call_id, name=name, ok=result.ok,
                                        data=result.data if result.ok else None, error=result.error))
        self.tool_calls.append({"call_id": call_id, "name": name, "args": args, "ok": result.ok,
                                "error": (result.error or {}).get("code")})
        return result
