"""Shared fixtures: settings on temporary folders, the real router (trained once), a real server."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from assistant.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One cache for the whole run, so the router is trained once."""
    return tmp_path_factory.mktemp("lui-cache")


@pytest.fixture
def settings(tmp_path, shared_cache) -> Settings:
    return Settings(data_dir=tmp_path / "data", cache_path=shared_cache, _env_file=None)


@pytest.fixture(scope="session")
def use_embedder():
    from knowledge.embedders import make_embedder

    return make_embedder("use")


@pytest.fixture(scope="session")
def router(shared_cache, use_embedder):
    from assistant.nlu.data import load_examples
    from assistant.nlu.router import IntentRouter

    examples = load_examples(REPO / "evals" / "data" / "intent_train.jsonl")
    return IntentRouter.load_or_train(examples, use_embedder, shared_cache)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app, ws_max_size: int = 16 * 1024 * 1024):
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                ws_max_size=ws_max_size, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 60
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
