"""``lui ingest``: index the service catalogue into the store the settings name.

:mod:`knowledge.ingest` takes its store, embedder and catalogue folder as arguments; this module
builds them from :class:`~assistant.settings.Settings` (the local Qdrant folder, or
``LUI_QDRANT_URL``). ``python -m assistant.ingest`` runs the same command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.errors import LuiError
from assistant.settings import Settings
from knowledge.catalogue import DEFAULT_CATALOGUE_DIR
from knowledge.embedders import Embedder, make_embedder
from knowledge.ingest import IngestReport, Progress, ingest
from knowledge.store import ServiceStore


def ingest_with_settings(settings: Settings, embedder: Embedder | None = None, *,
                         catalogue_dir: str | Path | None = None, progress: Progress | None = None,
                         rebuild: bool = False) -> IngestReport:
    """Ingest into the store the settings name (local folder, or ``LUI_QDRANT_URL``)."""
    embedder = embedder or make_embedder(settings.embedder)
    store = ServiceStore.from_settings(settings, lock_wait_s=60.0)  # a worker may be copying it
    try:
        return ingest(embedder, store, catalogue_dir or DEFAULT_CATALOGUE_DIR, progress=progress, rebuild=rebuild)
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lui ingest", description="Index the service catalogue in Qdrant.")
    parser.add_argument("--catalogue", type=Path, default=DEFAULT_CATALOGUE_DIR, help="folder of service YAML files")
    parser.add_argument("--rebuild", action="store_true", help="drop the collection and index everything again")
    args = parser.parse_args(argv)
    settings = Settings()
    target = settings.qdrant_url or settings.qdrant_path

    def progress(done: int, total: int) -> None:
        print(f"  embedded {done}/{total} documents", flush=True)

    print(f"ingesting {args.catalogue} into {target} ...", flush=True)
    try:
        report = ingest_with_settings(settings, catalogue_dir=args.catalogue, progress=progress, rebuild=args.rebuild)
    except LuiError as exc:
        print(f"error [{exc.code}]: {exc.message}", file=sys.stderr)
        return 2
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
