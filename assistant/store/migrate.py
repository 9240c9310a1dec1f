"""Database migrations (Alembic): every start-up brings the schema to the newest revision.

The revisions live in ``assistant/store/migrations/versions``; ``0001`` is the schema as the first
release created it with ``create_all``. A database made by that release (tables, no
``alembic_version``) is stamped at ``0001`` and then upgraded in place, keeping its rows. On
PostgreSQL the upgrade holds an advisory lock, so workers starting together migrate once.

A new schema change: edit the models, then write the next revision next to the others (or let
``alembic revision --autogenerate`` draft it against a database at head) and add a test that
upgrades a database holding rows.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

BASELINE = "0001"
_LOCK_ID = 7_305_113  # pg_advisory_xact_lock key of lui's migrations
_HERE = Path(__file__).parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or BASELINE


def current(engine: sa.Engine) -> str | None:
    """The revision the database is at (None: not under migrations yet)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; a database of the first release is adopted at ``0001``."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
        config = alembic_config(conn)
        tables = set(sa.inspect(conn).get_table_names())
        if "alembic_version" not in tables and "users" in tables:  # made by create_all before migrations
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)
