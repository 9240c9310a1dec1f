"""The FastAPI application: ``/ws`` (the protocol), ``/v1/turns`` (one text turn over REST), ``/healthz``.

The only module that knows about HTTP: it builds the assistant once at start-up and translates.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Header, HTTPException, WebSocket
from pydantic import BaseModel, Field

from assistant.api.limits import UserLimits
from assistant.api.web import mount_web
from assistant.api.ws import Connection
from assistant.auth import AuthError, verify_token
from assistant.errors import LuiError
from assistant.settings import Settings
from assistant.turns import Assistant

log = logging.getLogger(__name__)


class TurnRequest(BaseModel):
    text: str = Field(max_length=10_000)
    session_id: str | None = None
    lang: Literal["zh", "en", "auto"] = "auto"
    mode: Literal["standard", "elder"] = "standard"
    user: str | None = Field(default=None, max_length=64)  # only when auth is off
    id: str | None = Field(default=None, max_length=128)


class TurnResponse(BaseModel):
    session_id: str
    events: list[dict[str, Any]]
    reply: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def create_app(settings: Settings | None = None, assistant: Assistant | None = None, voice=None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        built = app.state.assistant is None
        if built:
            from assistant.runtime import build_assistant

            app.state.assistant = await asyncio.to_thread(build_assistant, settings)
            app.state.voice = await asyncio.to_thread(_build_voice, settings, app.state.assistant)
        yield
        if built:
            app.state.assistant.pools.close()

    app = FastAPI(title="lui", version="0.1.0", lifespan=lifespan)
    app.state.assistant = assistant
    app.state.voice = voice
    app.state.settings = settings
    app.state.limits = UserLimits(settings.user_turns_per_minute, settings.max_sessions_per_user)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness (always 200) with the load: "degraded" and the saturated pools when work waits."""
        a: Assistant | None = app.state.assistant
        pools, saturated = pool_loads(a, app.state.voice)
        return {
            "status": "starting" if a is None else ("degraded" if saturated else "ok"),
            "saturated": saturated,
            "pools": pools,
            "router": a.router.embedder.name if a is not None else None,
            "llm": settings.llm_model,
            "service_lookup": bool(a and a.retriever is not None),
            "voice": app.state.voice is not None,
            "auth": settings.auth,
        }

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await Connection(websocket, app.state.assistant, app.state.voice, app.state.limits).run()

    @app.post("/v1/turns", response_model=TurnResponse)
    async def turns(body: TurnRequest, authorization: str | None = Header(default=None)) -> TurnResponse:
        a: Assistant = app.state.assistant
        token = authorization.removeprefix("Bearer ").strip() if authorization else None
        try:
            if settings.auth == "on":
                user = verify_token(token, settings)
            else:
                user = body.user or (verify_token(token, settings) if token else "u_li")
            session, _ = await asyncio.to_thread(a.open_session, user, body.lang, body.mode, body.session_id)
            if not app.state.limits.allow_turn(user):
                raise HTTPException(status_code=429, detail={"code": "rate-limited", "message": "too many requests"})
        except AuthError as exc:
            raise HTTPException(status_code=401, detail={"code": exc.code, "message": exc.message}) from exc
        except LuiError as exc:
            raise HTTPException(status_code=403 if exc.code == "forbidden" else 400,
                                detail={"code": exc.code, "message": exc.message}) from exc
        events: list[dict[str, Any]] = []

        async def collect(event: BaseModel) -> None:
            events.append(event.wire())  # type: ignore[attr-defined]

        await a.text_turn(session, body.text, collect, body.id)
        final = events[-1] if events else None
        return TurnResponse(
            session_id=session.id, events=events,
            reply=final if final and final["type"] == "reply" else None,
            error=final if final and final["type"] == "error" else None,
        )

    mount_web(app)
    return app


def pool_loads(assistant: Assistant | None, voice) -> tuple[dict[str, Any], list[str]]:
    """How busy each worker pool is, and which are saturated (all threads busy, work waiting;
    for speech-to-text: its queue is full)."""
    pools: dict[str, Any] = {}
    saturated: list[str] = []
    if assistant is not None:
        for load in assistant.pools.loads():
            pools[load.name] = load.as_dict()
            if load.saturated:
                saturated.append(load.name)
    stt = getattr(getattr(voice, "pool", None), "stats", None)
    if stt is not None:
        stats = stt()
        full = stats.queued >= stats.max_queue and stats.running >= stats.workers
        pools["stt"] = {"workers": stats.workers, "busy": stats.running, "waiting": stats.queued,
                        "completed": stats.completed, "saturated": full}
        if full:
            saturated.append("stt")
    return pools, saturated


def _build_voice(settings: Settings, assistant: Assistant):
    """The speech-to-text gateway, or None when the voice extra is not installed."""
    try:
        from assistant.api.audio import VoiceGateway
    except ImportError:
        return None
    try:
        return VoiceGateway.create(settings, assistant)
    except LuiError as exc:
        log.warning("voice unavailable: %s", exc.message)
        return None
