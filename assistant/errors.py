"""The app's view of lui's coded errors.

:class:`LuiError` is :class:`common.errors.CodedError`, the one root that the libraries' own bases
(``tools.errors.ToolError``, ``voice.errors.VoiceError``, ``knowledge.errors.KnowledgeError``) and
the app's (``assistant.llm.errors.LLMError``, ``assistant.store.db.StoreError`` ...) subclass, so the
API layer turns any of them into an ``error`` event with its ``code``, ``message`` and ``retryable``.
Expected outcomes ("no intent matched", "bill not found") are return values, not errors.
"""

from __future__ import annotations

from common.errors import CodedError, ConfigError, ModelNotFoundError

LuiError = CodedError

__all__ = ["ConfigError", "LuiError", "ModelNotFoundError"]
