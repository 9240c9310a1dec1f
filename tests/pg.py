"""A throwaway PostgreSQL server for the test session (Debian's postgresql package).

``LUI_TEST_DATABASE_URL`` wins when set. Otherwise a cluster is created with initdb in a temporary
folder and started on a free 127.0.0.1 port (as the ``postgres`` user when running as root, since
PostgreSQL refuses to run as root), and stopped at the end of the session.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from assistant.api.server import free_port

INSTALL = "apt-get install -y postgresql (scripts/setup.sh does)"


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    url = os.environ.get("LUI_TEST_DATABASE_URL")
    if url:
        yield url
        return
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError(f"PostgreSQL server binaries not found: {INSTALL}")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    home = tempfile.mkdtemp(prefix="lui-pg-")
    data = os.path.join(home, "data")
    if as_root:
        shutil.chown(home, "postgres", "postgres")
    port = free_port()
    subprocess.run([*prefix, initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True)
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run([*prefix, pg_ctl, "-D", data, "-o", options, "-l", os.path.join(home, "log"), "-w", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
