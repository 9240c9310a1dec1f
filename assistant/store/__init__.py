"""Durable state (sqlmodel): users, wallets, bills, payments, conversations, turns, audit log.

SQLite file by default, PostgreSQL by URL; the same code runs on both::

    engine = make_engine(settings.db_url)
    init_db(engine)
    if settings.seed_demo:
        seed_demo(engine)
    conversations = ConversationStore(engine)

The payment ledger that moves money over these tables is :class:`tools.billing.Billing`.
"""

from assistant.store.conversations import AuditEntry, ConversationStore, SessionRecord, TurnRecord
from assistant.store.db import StoreError, init_db, make_engine, session_scope
from assistant.store.seed import seed_demo

__all__ = [
    "AuditEntry",
    "ConversationStore",
    "SessionRecord",
    "StoreError",
    "TurnRecord",
    "init_db",
    "make_engine",
    "seed_demo",
    "session_scope",
]
