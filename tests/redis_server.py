"""A throwaway Redis server for the test session (Debian's redis-server package).

``LUI_TEST_REDIS_URL`` wins when set. Otherwise ``redis-server`` is started on a free 127.0.0.1
port with no persistence, and stopped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from assistant.api.server import free_port

INSTALL = "apt-get install -y redis-server (scripts/setup.sh does)"


@contextmanager
def throwaway_redis() -> Iterator[str]:
    url = os.environ.get("LUI_TEST_REDIS_URL")
    if url:
        yield url
        return
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server")
                                              else None)
    if binary is None:
        raise RuntimeError(f"redis-server not found: {INSTALL}")
    port = free_port()
    home = tempfile.mkdtemp(prefix="lui-redis-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", home, "--daemonize", "no", "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(home, ignore_errors=True)
