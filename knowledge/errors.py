"""Errors of the knowledge package (embedders, vector store, ingestion)."""

from assistant.errors import LuiError, ModelNotFoundError


class KnowledgeError(LuiError):
    code = "knowledge"


class EmbedderUnavailable(ModelNotFoundError, KnowledgeError):
    code = "embedder-unavailable"


class VectorStoreUnavailable(KnowledgeError):
    code = "vector-store-unavailable"
    retryable = True
