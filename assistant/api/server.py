"""How uvicorn serves the app: hardened HTTP options (``server_options``) used by ``lui serve``, and a
server in a background thread (``ServerThread``) for tests, benchmarks and the voice eval.

uvicorn closes idle keep-alive connections but has no deadline for a request's headers: a client
that sends a header byte every few seconds (slowloris), or nothing at all, holds its socket for
ever. :class:`HeaderDeadlineProtocol` closes a connection whose request line and headers have not
all arrived ``http_header_timeout_s`` after it opened or after its previous response.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEADER_BYTES = 16 * 1024  # request line + headers; h11 answers 400 beyond this


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers (see the module doc)."""

    header_timeout_s: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_timer()  # the next request on this keep-alive connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_deadline)

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.transport.get_protocol() is not self:  # upgraded to a websocket
            return
        if self.conn.their_state is h11.IDLE:  # the request's headers are still incomplete (or absent)
            self.transport.close()


def header_deadline_protocol(timeout_s: float) -> type[HeaderDeadlineProtocol]:
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout_s": timeout_s})


def server_options(settings: Any) -> dict[str, Any]:
    """uvicorn.Config keyword arguments that hold against slow and greedy clients.

    Websocket frames above ``ws_max_size`` close the connection (1009); the app's own connection
    caps answer first with an ``error`` event, ``limit_concurrency`` is uvicorn's hard backstop
    (HTTP 503) for everything, REST included.
    """
    return {
        "http": header_deadline_protocol(settings.http_header_timeout_s),
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": settings.http_keep_alive_s,
        "limit_concurrency": settings.max_connections + 256,
        "ws_max_size": settings.max_audio_bytes + 1024 * 1024,
        # frames are small JSON events and PCM audio: compressing them (zlib per frame, both ways)
        # cost more CPU than the bytes saved were worth in the turn profile
        "ws_per_message_deflate": False,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """A lui server listening on 127.0.0.1 at ``port``: its HTTP base and websocket addresses."""

    port: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


class ServerThread(LocalServer):
    """A real uvicorn server on 127.0.0.1, with the options of ``lui serve``; use as a context manager."""

    def __init__(self, app, ws_max_size: int = 16 * 1024 * 1024, **config):
        import uvicorn

        self.port = free_port()
        settings = getattr(getattr(app, "state", None), "settings", None)
        options = server_options(settings) if settings is not None else {}
        options |= {"ws_max_size": ws_max_size, "log_level": "warning"} | config
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, lifespan="on", **options))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.time() + 120
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
