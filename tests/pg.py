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


class PgServer:
    """A PostgreSQL cluster in a temporary folder on a free 127.0.0.1 port; can be stopped and started."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            raise RuntimeError(f"PostgreSQL server binaries not found: {INSTALL}")
        # PostgreSQL refuses to run as root
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.home = tempfile.mkdtemp(prefix="lui-pg-")
        self.data = os.path.join(self.home, "data")
        if self.prefix:
            shutil.chown(self.home, "postgres", "postgres")
        self.port = free_port()
        subprocess.run([*self.prefix, self.initdb, "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run([*self.prefix, self.pg_ctl, "-D", self.data, "-o", options, "-l",
                        os.path.join(self.home, "log"), "-w", "start"], check=True, capture_output=True)

    def stop(self, mode: str = "immediate") -> None:
        subprocess.run([*self.prefix, self.pg_ctl, "-D", self.data, "-m", mode, "-w", "stop"], capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    url = os.environ.get("LUI_TEST_DATABASE_URL")
    if url:
        yield url
        return
    server = PgServer()
    server.start()
    try:
        yield server.url
    finally:
        server.remove()
