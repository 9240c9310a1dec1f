"""The browser clients: ``/`` (the chat widget) and ``/elder`` (the elder-mode voice page).

Plain HTML, CSS and JavaScript from ``assistant/web`` (no build step, nothing loaded from elsewhere);
both pages speak the websocket protocol through ``/static/lui.js``.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STATIC_DIR = WEB_DIR / "static"
_ASSET = re.compile(r"^[A-Za-z0-9_-]+\.(js|css|svg|png|ico)$")
_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "svg": "image/svg+xml",
          "png": "image/png", "ico": "image/x-icon"}
_NO_CACHE = {"Cache-Control": "no-cache"}  # revalidate (ETag) so a new deploy is picked up at once


def mount_web(app: FastAPI) -> None:
    """Serve the chat widget at ``/``, the elder page at ``/elder`` and their assets at ``/static/``."""

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        return _page("index.html")

    @app.get("/elder", include_in_schema=False)
    def elder_page() -> FileResponse:
        return _page("elder.html")

    @app.get("/static/{name}", include_in_schema=False)
    def asset(name: str) -> FileResponse:
        match = _ASSET.match(name)
        path = STATIC_DIR / name
        if match is None or not path.is_file():
            raise HTTPException(status_code=404, detail="not found")
        return FileResponse(path, media_type=_TYPES[match.group(1)], headers=_NO_CACHE)


def _page(name: str) -> FileResponse:
    return FileResponse(WEB_DIR / name, media_type="text/html; charset=utf-8", headers=_NO_CACHE)
