"""What a tool is given when it runs: who is asking, and the services it may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools.billing import Billing


@dataclass(frozen=True)
class ToolContext:
    user_id: str
    session_id: str
    turn_key: str  # stable per turn (client message id or turn number): idempotency of prepare
    lang: str
    billing: Billing
    retriever: Any = None  # knowledge.retrieval.ServiceRetriever, when the vector store is up
    translator: Any = None  # tools.translate.Translator
