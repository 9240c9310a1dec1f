"""The FastAPI application: ``/ws`` (the protocol), ``/v1/turns`` (one text turn over REST), ``/healthz``
(liveness and load), ``/readyz`` (readiness by part) and ``/metrics`` (Prometheus).

The only module that knows about HTTP: it builds the assistant once at start-up and translates.
``/v1/turns`` checks, in this order and before writing anything: the bearer token (before the body
is read), the body's size and arrival time, its JSON, the request, the user, the rate limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from assistant.api.limits import ConnectionLimits
from assistant.api.web import mount_web
from assistant.api.ws import Connection
from assistant.auth import AuthError, bearer_token, verify_token
from assistant.errors import LuiError
from assistant.logs import install_masking
from assistant.metrics import CONTENT_TYPE as METRICS_TYPE
from assistant.protocol import ErrorEvent, decode_json
from assistant.settings import Settings
from assistant.shared import build_shared_state
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


def _refuse(status: int, code: str, message: str, *, close: bool = False, retryable: bool = False) -> HTTPException:
    """An HTTP error with the stable code in its body; ``close`` when the body was left unread."""
    detail: dict[str, Any] = {"code": code, "message": message}
    if retryable:
        detail["retryable"] = True
    return HTTPException(status_code=status, detail=detail, headers={"Connection": "close"} if close else None)


async def _read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The request body, refused as soon as it is known to be too large or too slow."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _refuse(413, "message-too-large", f"the body may be at most {limit} bytes", close=True)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:  # a chunked body, or one longer than it said
                    raise _refuse(413, "message-too-large", f"the body may be at most {limit} bytes", close=True)
                chunks.append(chunk)
    except TimeoutError as exc:
        raise _refuse(408, "request-timeout", f"the body did not arrive within {timeout_s:g} s", close=True) from exc
    return b"".join(chunks)


def create_app(settings: Settings | None = None, assistant: Assistant | None = None, voice=None,
               speech=None) -> FastAPI:
    settings = settings or Settings()
    install_masking()  # however the app is served, uvicorn's and litellm's logs are masked too

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        built = app.state.assistant is None
        if built:
            from assistant.runtime import attach_retriever, build_assistant

            app.state.assistant = await asyncio.to_thread(build_assistant, settings, lookup_later=True)
            # service lookup loads while the server already answers (/readyz: "vector_store": "starting")
            app.state.lookup_task = asyncio.create_task(asyncio.to_thread(attach_retriever, app.state.assistant))
            app.state.voice = await asyncio.to_thread(_build_voice, settings, app.state.assistant)
            app.state.speech = await asyncio.to_thread(_build_speech, settings)
            app.state.speech_wanted = settings.tts != "off"  # set up but failed to load: /readyz says down
        app.state.assistant.shared = app.state.limits  # session ownership: this process, or Redis
        if app.state.speech is not None:  # the reply openings, in the background: the server answers now
            app.state.speech.start_warm_up(settings.tts_warmup_s)
        yield
        if app.state.lookup_task is not None:
            with contextlib.suppress(BaseException):
                await app.state.lookup_task
        # the turn log still queued is written before the process ends
        conversations = app.state.assistant.conversations
        await asyncio.to_thread(conversations.close if built else conversations.flush)
        await app.state.limits.aclose()
        if built:
            app.state.assistant.pools.close()
            if app.state.speech is not None:
                app.state.speech.close()

    app = FastAPI(title="lui", version="0.1.0", lifespan=lifespan)
    app.state.assistant = assistant
    app.state.lookup_task = None  # service lookup still loading (see lifespan)
    app.state.voice = voice
    app.state.speech = speech
    app.state.speech_wanted = speech is not None
    app.state.settings = settings
    app.state.limits = build_shared_state(settings)  # per-user limits: in memory, or Redis (LUI_REDIS_URL)
    app.state.connections = ConnectionLimits(settings.max_connections_per_ip, settings.max_connections)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness (always 200) with the load: "degraded" and the saturated pools when work waits."""
        a: Assistant | None = app.state.assistant
        pools, saturated = pool_loads(a, app.state.voice, app.state.speech)
        return {
            "status": "starting" if a is None else ("degraded" if saturated else "ok"),
            "saturated": saturated,
            "pools": pools,
            "router": a.router.embedder.name if a is not None else None,
            "llm": settings.llm_model,
            "service_lookup": bool(a and a.retriever is not None),
            "voice": app.state.voice is not None,
            "speech": app.state.speech is not None,
            "auth": settings.auth,
            "worker": os.getpid(),  # which worker answered, behind one port
        }

    @app.get("/readyz")
    async def readyz() -> Response:
        """Readiness: 503 until the assistant is built or while the database does not answer; 200
        with "degraded" and the parts that are down when service lookup, voice or a pool is not right."""
        a: Assistant | None = app.state.assistant
        if a is None:
            return JSONResponse({"status": "starting", "parts": {}}, status_code=503)
        parts: dict[str, str] = {}
        try:
            await asyncio.wait_for(a.pools.run("db", a.conversations.ping), timeout=2)
            parts["database"] = "ok"
        except Exception as exc:  # any failure: not ready, and why (no secrets: the class name)
            parts["database"] = f"down ({type(exc).__name__})"
        if app.state.limits.distributed:
            try:
                await asyncio.wait_for(app.state.limits.ping(), timeout=2)
                parts["redis"] = "ok"
            except Exception as exc:  # limits let requests through meanwhile: degraded, not down
                parts["redis"] = f"down ({type(exc).__name__})"
        parts["router"] = "ok" if a.router is not None else "down"
        loading = app.state.lookup_task is not None and not app.state.lookup_task.done()
        parts["vector_store"] = "ok" if a.retriever is not None else ("starting" if loading else "down")
        parts["voice"] = "ok" if app.state.voice is not None else "off"
        parts["speech"] = (app.state.speech.health() if app.state.speech is not None
                           else "down (unavailable)" if app.state.speech_wanted else "off")
        parts["llm"] = "configured" if a.llm is not None else "off"
        _, saturated = pool_loads(a, app.state.voice, app.state.speech)
        for name in saturated:
            parts[f"pool:{name}"] = "saturated"
        ready = parts["database"] == "ok" and parts["router"] == "ok"
        degraded = [k for k, v in parts.items() if v in ("saturated", "starting") or v.startswith("down")]
        status = "ready" if ready and not degraded else ("degraded" if ready else "not-ready")
        return JSONResponse({"status": status, "degraded": degraded, "parts": parts},
                            status_code=200 if ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus text format: turns, stage latencies, payments, errors, pools, live sessions."""
        a: Assistant | None = app.state.assistant
        if a is None:
            return Response("", media_type=METRICS_TYPE, status_code=503)
        a.metrics.watch(lambda: a.live_sessions,
                        lambda: [{"name": k, **v} for k, v in pool_loads(a, app.state.voice, app.state.speech)[0].items()])
        return Response(a.metrics.render(), media_type=METRICS_TYPE)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await Connection(websocket, app.state.assistant, app.state.voice, app.state.limits,
                         app.state.connections, speech=app.state.speech).run()

    turn_body = {"requestBody": {"required": True,
                                 "content": {"application/json": {"schema": TurnRequest.model_json_schema()}}}}

    @app.post("/v1/turns", response_model=TurnResponse, openapi_extra=turn_body)
    async def turns(request: Request) -> TurnResponse:
        a: Assistant = app.state.assistant
        token = bearer_token(request.headers.get("authorization"))
        try:
            # the token is checked before a byte of the body is read: anonymous bodies cost nothing
            user = verify_token(token, settings) if settings.auth == "on" else None
        except AuthError as exc:
            raise _refuse(401, exc.code, exc.message, close=True) from exc
        data = decode_json(await _read_body(request, settings.max_message_bytes, settings.http_header_timeout_s))
        if isinstance(data, ErrorEvent):
            raise _refuse(400, data.code, data.message)
        try:
            body = TurnRequest.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise _refuse(422, "invalid-message", f"{where}: {first['msg']}") from exc
        text = body.text.strip()
        if not text:
            raise _refuse(400, "empty-text", "the text is empty")
        if len(text) > settings.max_text_chars:
            raise _refuse(400, "text-too-long", f"text longer than {settings.max_text_chars} characters")
        try:
            if user is None:
                user = body.user or (verify_token(token, settings) if token else "u_li")
            if not await a.pools.run("db", a.conversations.user_exists, user):
                if settings.auth == "on":
                    raise AuthError("the token names no known user")
                raise AuthError(f"no user {user[:64]!r}", code="unknown-user")
        except AuthError as exc:
            raise _refuse(400 if exc.code == "unknown-user" else 401, exc.code, exc.message) from exc
        if not await app.state.limits.allow_turn(user):  # before anything is written
            a.metrics.error("rate-limited")
            raise _refuse(429, "rate-limited", "too many requests; try again in a minute", retryable=True)
        try:
            session, _ = await a.pools.run("db", a.open_session, user, body.lang, body.mode, body.session_id)
        except LuiError as exc:
            raise _refuse(403 if exc.code == "forbidden" else 400, exc.code, exc.message) from exc
        events: list[dict[str, Any]] = []

        async def collect(event: BaseModel) -> None:
            events.append(event.wire())  # type: ignore[attr-defined]
            if isinstance(event, ErrorEvent):
                a.metrics.error(event.code)

        await a.text_turn(session, body.text, collect, body.id)
        final = events[-1] if events else None
        return TurnResponse(
            session_id=session.id, events=events,
            reply=final if final and final["type"] == "reply" else None,
            error=final if final and final["type"] == "error" else None,
        )

    mount_web(app)
    return app


def pool_loads(assistant: Assistant | None, voice, speech=None) -> tuple[dict[str, Any], list[str]]:
    """How busy each worker pool is, and which are saturated (all threads busy, work waiting;
    for speech-to-text: its queue is full). ``tts``: the spoken-reply pool, when replies are spoken."""
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
    tts = getattr(getattr(speech, "pool", None), "load", None)
    if tts is not None:
        load = tts()
        pools["tts"] = load.as_dict()
        if load.saturated:
            saturated.append("tts")
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


def _build_speech(settings: Settings):
    """The spoken-reply gateway, or None when text-to-speech is off or not set up."""
    try:
        from assistant.api.speech import SpeechGateway
    except ImportError:
        return None
    return SpeechGateway.create(settings)
