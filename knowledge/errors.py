"""Errors of the knowledge package (embedders, vector store, ingestion)."""

from common.errors import CodedError, ModelNotFoundError


class KnowledgeError(CodedError):
    code = "knowledge"


class EmbedderUnavailable(ModelNotFoundError, KnowledgeError):
    code = "embedder-unavailable"


class VectorStoreUnavailable(KnowledgeError):
    code = "vector-store-unavailable"
    retryable = True
