"""A throwaway local PostgreSQL for the checkpoint benchmarks, when the machine has one.

    with local_postgres() as dsn:   # None when no PostgreSQL binaries are installed
        ...

Uses ANIMAGENT_BENCH_POSTGRES when it holds a DSN. Otherwise, if ``initdb`` and ``pg_ctl``
are installed (Debian: apt-get install postgresql), it creates a cluster in a temporary
folder, starts it on a free loopback port (as the ``postgres`` user when run as root, since
PostgreSQL refuses root), yields its DSN, and stops it by its data folder afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _bin(name: str) -> str | None:
    """A PostgreSQL program: on PATH, or in Debian's versioned folder."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available() -> str:
    """Why a local PostgreSQL can or cannot be started here ('' when it can)."""
    if not (_bin("initdb") and _bin("pg_ctl")):
        return "PostgreSQL is not installed (apt-get install postgresql) and no DSN is set"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser: PostgreSQL refuses to run as root"
    return ""


@contextlib.contextmanager
def local_postgres() -> Iterator[str | None]:
    """A DSN for a PostgreSQL that lives as long as the block, or None."""
    dsn = os.environ.get("ANIMAGENT_BENCH_POSTGRES")
    if dsn:
        yield dsn
        return
    if available():
        yield None
        return
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    assert initdb and pg_ctl
    folder = Path(tempfile.mkdtemp(prefix="animagent-pg-"))
    data = folder / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    port = _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "check": True}
    try:
        subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "bench"], **quiet)  # type: ignore[call-overload]
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=on"
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"),
             "-w", "start"], **quiet
        )  # type: ignore[call-overload]  # fmt: skip
        try:
            yield f"postgresql://bench@127.0.0.1:{port}/postgres?sslmode=disable"
        finally:
            subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], **quiet)  # type: ignore[call-overload]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
