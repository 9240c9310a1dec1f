"""The LLM tier (litellm): function calling for the long tail, and free-text translation.

``build_llm(settings, registry)`` gives the :class:`LLMTier` the dialogue policy escalates to, and
``build_translator(settings)`` the translator the ``translate`` tool uses; both are ``None`` when
``LUI_LLM_MODEL`` is unset, and the assistant then runs on the router alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.llm.errors import LLMError

if TYPE_CHECKING:
    from assistant.llm.cascade import LLMTier
    from assistant.llm.translator import LLMTranslator
    from assistant.settings import Settings
    from tools.registry import ToolRegistry

__all__ = ["LLMError", "build_llm", "build_translator"]


def build_llm(settings: Settings, registry: ToolRegistry, **options) -> LLMTier | None:
    """The LLM tier for this configuration, or ``None`` (router only) when no model is set."""
    if not settings.llm_model:
        return None
    from assistant.llm.cascade import LLMTier
    from assistant.llm.client import LLMClient

    options.setdefault("min_confidence", settings.llm_escalate_below)
    options.setdefault("long_chars_zh", settings.llm_long_chars_zh)
    options.setdefault("long_chars_en", settings.llm_long_chars_en)
    return LLMTier(LLMClient.from_settings(settings), registry, **options)


def build_translator(settings: Settings) -> LLMTranslator | None:
    """The LLM translator for the ``translate`` tool, or ``None`` (glossary only)."""
    if not settings.llm_model:
        return None
    from assistant.llm.client import LLMClient
    from assistant.llm.translator import LLMTranslator

    return LLMTranslator(LLMClient.from_settings(settings, max_tokens=1024))
