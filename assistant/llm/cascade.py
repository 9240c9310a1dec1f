"""The cascade: when the router's answer goes to the LLM tier, and what the tier does with it.

``should_escalate`` sends an utterance up when the router is unsure (confidence under a threshold),
when it is long or compound (two requests joined with 然后/并且/and then), or when the router said
``out_of_scope`` but the text names a bill or a service. ``handle`` then plans (long/compound:
the model calls tools, see :mod:`assistant.llm.planner`) or classifies with a forced function call
and runs the intent through the same dialogue policy as the router path. Whatever the model does,
an LLM failure falls back to the router's understanding, so the session always gets an answer.
An LLM reading never settles a payment: "confirm" from the model only reminds the user to confirm.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time

from assistant.handlers import SOCIAL, clarify, nothing_to_settle, run_intent, social, sorry, still_pending
from assistant.llm.client import LLMClient
from assistant.llm.errors import LLMError
from assistant.llm.planner import Planner
from assistant.llm.understand import Understander
from assistant.nlu.bill_types import parse_bill_type
from assistant.nlu.types import OUT_OF_SCOPE, TRANSACTIONAL, Context, Understanding
from assistant.protocol import IntentEvent
from assistant.turn_context import ReplyOut, TurnContext
from tools.registry import ToolRegistry

log = logging.getLogger(__name__)

COMPOUND = re.compile(
    r"然后|并且|接着|顺便|再帮我|之后再|完了再|同时(?:帮|把)"
    r"|\band then\b|\bthen also\b|\bafter that\b|\band also\b|,\s*then\b",
    re.IGNORECASE,
)
SERVICE_WORDS = re.compile(
    r"账单|缴费|交费|欠费|费用|余额|发票|医保|社保|公积金|翻译|充值|付款|户号"
    r"|\b(?:bills?|balance|payments?|pay|invoices?|translat\w*|top[\s-]?up|account)\b",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u3400-\u9fff]")


def escalation_reason(text: str, intent: str, confidence: float, *, min_confidence: float, long_chars_zh: int,
                      long_chars_en: int) -> str | None:
    """The cascade's rule, for a router reading (``intent``, ``confidence``) of ``text``: why it goes to
    the LLM ("compound", "long", "unsure", "service-word"), or None. Thresholds: see evals/calibrate.py."""
    if intent in ("confirm", "deny", "cancel"):  # answers to our question stay on the router path
        return None
    if COMPOUND.search(text):
        return "compound"
    limit = long_chars_zh if _CJK.search(text) else long_chars_en
    if len(text) > limit:
        return "long"
    if confidence < min_confidence:
        return "unsure"
    if intent == OUT_OF_SCOPE and (SERVICE_WORDS.search(text) or parse_bill_type(text)):
        return "service-word"
    return None


class LLMTier:
    """The LLM tier behind the router: escalation rule, planner and classifier, router fallback."""

    def __init__(self, client: LLMClient, registry: ToolRegistry, *, min_confidence: float = 0.6,
                 long_chars_zh: int = 40, long_chars_en: int = 120, max_steps: int = 4, stream: bool = True):
        self.client = client
        self.registry = registry
        self.min_confidence = min_confidence
        self.long_chars_zh = long_chars_zh
        self.long_chars_en = long_chars_en
        self.understander = Understander(client)
        self.planner = Planner(client, registry, max_steps=max_steps, stream=stream)

    # --- the escalation rule --------------------------------------------------------------------
    def escalation_reason(self, text: str, u: Understanding) -> str | None:
        """Why this utterance goes to the LLM ("compound", "long", "unsure", "service-word"), or None."""
        return escalation_reason(text, u.intent, u.confidence, min_confidence=self.min_confidence,
                                 long_chars_zh=self.long_chars_zh, long_chars_en=self.long_chars_en)

    def may_be_new_request(self, text: str, u: Understanding) -> bool:
        """While a payment waits: whether an utterance that is not a clear yes or no may be a new request
        for the LLM to read (it never settles the payment): compound, long, or naming a service."""
        reason = self.escalation_reason(text, u)
        return reason in ("compound", "long", "service-word") or (
            reason == "unsure" and bool(SERVICE_WORDS.search(text) or parse_bill_type(text)))

    def should_escalate(self, text: str, u: Understanding) -> bool:
        return self.escalation_reason(text, u) is not None

    def config(self) -> dict[str, object]:
        return {"llm_model": self.client.model, "llm_fallbacks": list(self.client.fallbacks),
                "escalate_below": self.min_confidence, "long_chars_zh": self.long_chars_zh,
                "long_chars_en": self.long_chars_en, "max_steps": self.planner.max_steps}

    # --- understanding only (the harness) -------------------------------------------------------
    async def understand(self, text: str, context: Context | None = None, lang: str | None = None,
                         fallback: Understanding | None = None) -> Understanding:
        """The model's reading of one utterance; with ``fallback``, provider failures return it."""
        try:
            return await self.understander.understand(text, context, lang, fallback=fallback)
        except LLMError:
            if fallback is None:
                raise
            log.warning("LLM understanding failed; keeping the router's answer", exc_info=True)
            return fallback

    # --- a turn ---------------------------------------------------------------------------------
    async def handle(self, turn: TurnContext, text: str, u: Understanding) -> ReplyOut:
        reason = self.escalation_reason(text, u) or "unsure"
        started = time.perf_counter()
        try:
            if reason in ("compound", "long"):
                turn.understood = dataclasses.replace(u, source="llm")  # the planner answered this turn
                return await self.planner.run(turn, text)
            understood = await self.understander.understand(text, turn.state.context(), turn.lang, fallback=u)
            if understood is not u:
                turn.understood = understood
                await turn.emit(IntentEvent(name=understood.intent, confidence=understood.confidence,
                                            slots=understood.slots, source="llm"))
            return await self._act(turn, understood)
        except LLMError as exc:
            log.warning("LLM tier failed (%s, %s); answering from the router", exc.code, exc.message)
            return await self._fallback(turn, u)
        finally:
            turn.timings["llm"] = round(turn.timings.get("llm", 0.0) + (time.perf_counter() - started) * 1000, 2)

    async def _act(self, turn: TurnContext, v: Understanding) -> ReplyOut:
        if v.intent in TRANSACTIONAL:
            turn.state.clear_pending()
            return await run_intent(turn, v.intent, dict(v.slots))
        if v.intent in SOCIAL:
            return await social(turn, v.intent)
        if v.intent in ("confirm", "deny", "cancel"):
            if turn.state.confirmation is not None:  # consent is the user's: an LLM reading never settles
                return still_pending(turn)
            return nothing_to_settle(turn, v.intent)
        return sorry(turn)

    async def _fallback(self, turn: TurnContext, u: Understanding) -> ReplyOut:
        """The router's answer, as the router path would have given it."""
        if u.intent in TRANSACTIONAL:
            asked = clarify(turn, u)
            if asked is not None:
                return asked
            turn.state.clear_pending()
            return await run_intent(turn, u.intent, dict(u.slots))
        if u.intent in SOCIAL:
            return await social(turn, u.intent)
        return sorry(turn)


