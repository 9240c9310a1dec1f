"""Builds the running assistant from Settings: database, router, tools, knowledge."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

from assistant.auth import check_secret
from assistant.llm import build_llm, build_translator
from assistant.logs import register_secrets
from assistant.pools import db_threads
from assistant.settings import Settings
from assistant.store.conversations import ConversationStore
from assistant.store.db import init_db, make_engine
from assistant.store.seed import seed_demo
from assistant.turns import Assistant
from tools import build_registry
from tools.billing import Billing

log = logging.getLogger(__name__)


@contextmanager
def _step(name: str):
    """Log one start-up step and how long it took, so a person can follow a slow first start."""
    started = time.perf_counter()
    log.info("start-up: %s ...", name)
    yield
    log.info("start-up: %s done in %.1f s", name, time.perf_counter() - started)


def build_assistant(settings: Settings, *, lookup_later: bool = False) -> Assistant:
    """Everything a turn needs. ``lookup_later``: leave service lookup to :func:`attach_retriever`
    (``lui serve`` runs it after the server answers, so the first turn does not wait for it)."""
    check_secret(settings)
    register_secrets(settings.llm_api_key, settings.qdrant_api_key, settings.secret_key)  # never logged
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with _step("database"):
        # a server database keeps a connection for each database thread (and a few for the rest)
        server = {} if settings.db_url.startswith("sqlite") else {"pool_size": db_threads(settings) + 4}
        engine = make_engine(settings.db_url, **server)
        prepare_database(engine, settings.seed_demo)
    from assistant.nlu.router import build_router

    with _step("intent router (trained once, then loaded from the cache)"):
        router = build_router(settings)
        router.understand("warm up")  # the first call pays one-off start-up costs, not a user
    registry = build_registry()
    retriever = None
    if not lookup_later:
        with _step("service lookup"):
            retriever = build_retriever(settings, router.embedder, registry)
    return Assistant(settings, router, registry, Billing(engine, confirm_ttl_s=settings.confirm_ttl_s),
                     ConversationStore(engine, max_reply_chars=settings.store_max_reply_chars,
                                       max_tool_calls=settings.store_max_tool_calls,
                                       turn_log_flush_ms=settings.turn_log_flush_ms,
                                       turn_log_max_pending=settings.turn_log_max_pending), retriever=retriever,
                     translator=build_translator(settings), llm=build_llm(settings, registry))


def prepare_database(engine, seed: bool, attempts: int = 6) -> None:
    """Create the tables (and the demo rows); several workers starting at once on a fresh database
    race to create the same tables: the loser sees "already exists" and simply tries again."""
    from sqlalchemy.exc import DBAPIError

    for attempt in range(attempts):
        try:
            init_db(engine)
            if seed:
                seed_demo(engine)
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            log.info("start-up: another worker is creating the database; trying again")
            time.sleep(0.2 * (attempt + 1))


def attach_retriever(assistant: Assistant) -> None:
    """Build service lookup for an assistant built with ``lookup_later`` (blocking: run in a thread)."""
    with _step("service lookup (in the background; the server already answers)"):
        assistant.retriever = build_retriever(assistant.settings, assistant.router.embedder, assistant.registry)


def build_retriever(settings: Settings, embedder, registry):
    """The service retriever, with the catalogue ingested; ``None`` (and a warning) if unavailable."""
    try:
        from knowledge.retrieval import open_retriever
        from tools.services import lookup_service
    except ImportError:
        return None
    try:
        retriever = open_retriever(settings, embedder)
    except Exception as exc:  # the assistant still runs; lookups answer "unavailable"
        log.warning("service lookup unavailable: %s", exc)
        return None
    registry.register(lookup_service, timeout_s=5.0, pool="embed")
    return retriever
