"""The ``lui`` command: serve, chat, token, ingest, prepare, seed."""

from __future__ import annotations

import argparse
import logging
import os
import sys

log = logging.getLogger("lui")


def _settings():
    from assistant.settings import Settings

    return Settings()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from assistant.api.app import create_app
    from assistant.api.server import server_options

    settings = _settings()
    host, port = args.host or settings.host, args.port or settings.port
    workers = getattr(args, "workers", None) or settings.workers
    options = server_options(settings)  # header deadline, keep-alive, header size, frame size (api/server.py)
    if workers > 1:
        if not settings.redis_url:
            log.warning("serve: %d workers without LUI_REDIS_URL: rate limits and live-session caps hold per "
                        "worker, and a session's turns are not serialised across workers", workers)
        if settings.database_url is None:
            log.warning("serve: %d workers on SQLite: fine on one machine, but PostgreSQL (LUI_DATABASE_URL) "
                        "is the multi-worker default", workers)
        # each worker process builds its own app from the environment (uvicorn spawns them)
        options["http"] = "assistant.api.server:HeaderDeadlineProtocol"
        uvicorn.run("assistant.cli:worker_app", factory=True, host=host, port=port, workers=workers,
                    log_level=args.log_level, **options)
        return 0
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=args.log_level, **options)
    return 0


def worker_app():
    """The app of one ``lui serve --workers N`` worker process (a uvicorn factory)."""
    from assistant.api.app import create_app
    from assistant.api.server import HeaderDeadlineProtocol
    from assistant.logs import setup_logging

    settings = _settings()
    setup_logging(logging.INFO, settings.log_format)
    HeaderDeadlineProtocol.header_timeout_s = settings.http_header_timeout_s  # this process's protocol class
    return create_app(settings)


def cmd_token(args: argparse.Namespace) -> int:
    from assistant.auth import check_secret, issue_token

    settings = _settings()
    check_secret(settings.model_copy(update={"auth": "on"}))
    print(issue_token(args.user, settings, ttl_s=args.ttl))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    import asyncio

    from assistant.chat import chat

    return asyncio.run(chat(args.url, lang=args.lang, mode=args.mode, token=args.token, user=args.user))


def cmd_ingest(args: argparse.Namespace) -> int:
    from assistant.ingest import main as ingest_main

    return ingest_main(args.rest)


def cmd_prepare(args: argparse.Namespace) -> int:
    from assistant.prepare import prepare

    return prepare(_settings())


def cmd_seed(args: argparse.Namespace) -> int:
    from assistant.store.db import init_db, make_engine
    from assistant.store.seed import seed_demo

    engine = make_engine(_settings().db_url)
    init_db(engine)
    print(f"inserted {seed_demo(engine)} demo rows")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from assistant.store.db import make_engine
    from assistant.store.migrate import current, upgrade

    engine = make_engine(_settings().db_url)
    before = current(engine)
    upgrade(engine, args.revision)
    print(f"database at revision {current(engine)} (was {before or 'not under migrations'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="lui", description="lui: a bilingual conversational assistant backend")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the assistant (FastAPI + websocket) on uvicorn")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--log-level", default="info")
    p.add_argument("--workers", type=int, help="worker processes behind the one port (default LUI_WORKERS or 1); "
                   "share state through LUI_DATABASE_URL (PostgreSQL) and LUI_REDIS_URL")
    p.set_defaults(fn=cmd_serve)
    p = sub.add_parser("chat", help="talk to a running assistant from the terminal")
    p.add_argument("--url", default="ws://127.0.0.1:8000/ws")
    p.add_argument("--lang", default="auto", choices=["zh", "en", "auto"])
    p.add_argument("--mode", default="standard", choices=["standard", "elder"])
    p.add_argument("--token", default=os.environ.get("LUI_TOKEN"))
    p.add_argument("--user", help="demo user when auth is off (u_li, u_wang, u_amy)")
    p.set_defaults(fn=cmd_chat)
    p = sub.add_parser("token", help="issue a signed token for a user (needs LUI_SECRET_KEY)")
    p.add_argument("user")
    p.add_argument("--ttl", type=int, help="lifetime in seconds")
    p.set_defaults(fn=cmd_token)
    p = sub.add_parser("ingest", help="index the service catalogue into Qdrant")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_ingest)
    p = sub.add_parser("prepare", help="train and cache the router, index the catalogue, assemble models "
                       "(once, with progress; scripts/setup.sh runs it)")
    p.set_defaults(fn=cmd_prepare)
    p = sub.add_parser("seed", help="create the database and the demo users and bills")
    p.set_defaults(fn=cmd_seed)
    p = sub.add_parser("migrate", help="upgrade the database schema (serve and seed also do this)")
    p.add_argument("--revision", default="head")
    p.set_defaults(fn=cmd_migrate)
    args = parser.parse_args(argv)
    from assistant.logs import setup_logging
    from assistant.settings import Settings

    setup_logging(logging.INFO, Settings().log_format)
    try:
        return args.fn(args)
    except Exception as exc:  # a clear one-line message for configuration problems
        from assistant.errors import LuiError

        if isinstance(exc, LuiError):
            print(f"lui: {exc.code}: {exc.message}", file=sys.stderr)
            return 2
        raise
