"""The ``lookup_service`` tool: find the app service a request is about in the catalogue.

"No service matches well enough" is an expected outcome (``{"status": "no_match"}``); a vector
store that cannot be reached is a failure the turn may retry (``vector-store-unavailable``).
"""

from __future__ import annotations

from typing import Any

from knowledge.errors import KnowledgeError, VectorStoreUnavailable
from tools.context import ToolContext
from tools.errors import ToolError


class ServiceLookupUnavailable(ToolError):
    """The service catalogue cannot be searched right now (vector store down or not ingested)."""

    code = "vector-store-unavailable"
    retryable = True


class ServiceLookupFailed(ToolError):
    """The service catalogue search failed in a way a retry will not fix."""

    code = "service-lookup-failed"


def service_view(hit: Any) -> dict[str, Any]:
    return {"id": hit.id, "title": hit.title, "summary": hit.summary, "deep_link": hit.deep_link,
            "needs": list(hit.needs), "steps": list(hit.steps)}


def lookup_service(ctx: ToolContext, query: str) -> dict[str, Any]:
    """Find the app service (government, utilities, health, transport, wallet ...) that answers a
    how/where-do-I request, with its deep link, what it needs and its steps.

    Args:
        query: what the user wants to do, in their own words (Chinese or English).
    """
    if ctx.retriever is None:
        raise ServiceLookupUnavailable("service lookup is not available: the vector store is not set up")
    lang = ctx.lang if ctx.lang in ("zh", "en") else None
    try:
        result = ctx.retriever.search(query, lang)
    except VectorStoreUnavailable as exc:
        raise ServiceLookupUnavailable(exc.message) from exc
    except KnowledgeError as exc:
        raise ServiceLookupFailed(f"{exc.code}: {exc.message}") from exc
    if not result.confident or not result.hits:
        return {"status": "no_match"}
    best, *others = result.hits
    return {"status": "found", "service": service_view(best), "alternatives": [service_view(h) for h in others]}
