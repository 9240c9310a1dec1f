"""Real worker processes for multi-worker tests: ``lui serve`` in a subprocess on a free port.

Each :class:`Worker` is its own Python process (what ``lui serve --workers N`` forks), started with
an environment of ``LUI_`` settings and waited for until ``/readyz`` answers 200. ``kill()`` is a
kill -9; ``stop()`` a clean SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from assistant.api.server import LocalServer, free_port

REPO = Path(__file__).resolve().parent.parent


def worker_env(**settings: object) -> dict[str, str]:
    """The test process's environment plus ``LUI_<NAME>`` for each setting given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUI_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["LUI_TTS_WARMUP_S"] = "0"  # no spoken-reply warm-up behind the tests (a setting given overrides it)
    env |= {f"LUI_{k.upper()}": str(v) for k, v in settings.items() if v is not None}
    return env


class Worker(LocalServer):
    """``python -m assistant serve`` on 127.0.0.1:<free port>; a context manager."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, log_path: Path | None = None):
        self.port = free_port()
        self.env = env
        self.workers = workers
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        cmd = [sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--log-level", "warning"]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                     start_new_session=True)
        return self

    def wait_ready(self, timeout_s: float = 180) -> Worker:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                ready = httpx.get(f"{self.http}/readyz", timeout=2)
                if ready.status_code == 200 and ready.json()["status"] == "ready":  # service lookup loaded too
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready within {timeout_s} s: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path and self.log_path.exists() else ""

    def kill(self) -> None:
        """kill -9 of the worker (and, with ``--workers``, its whole process group)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Worker:
        self.start()
        try:
            return self.wait_ready()
        except BaseException:  # never leave a server running (and training a router) behind a failed start
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def start_all(workers: list[Worker], timeout_s: float = 240) -> list[Worker]:
    """Start several workers at once (they load in parallel) and wait for each."""
    for w in workers:
        w.start()
    try:
        for w in workers:
            w.wait_ready(timeout_s)
    except BaseException:
        for w in workers:
            w.stop()
        raise
    return workers
