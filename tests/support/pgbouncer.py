"""A PgBouncer of a test's own in transaction mode, in front of a PostgreSQL server: Debian's
``pgbouncer`` (``.ci/run`` installs it when missing).

Its pool is small on purpose (``pool_size`` server connections per database), so that the
clients' transactions really take turns on the same server sessions: a setting that leaked out
of a transaction would be seen by the next one."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL

SERVER_USER = "postgres"  # PgBouncer refuses to run as root; as root it runs as this user


def find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if Path(path).is_file()), None
    )


def missing_reason() -> str | None:
    """Why PgBouncer cannot run here, or None."""
    if find_pgbouncer() is None:
        return "pgbouncer is not installed (.ci/run installs it: apt-get install pgbouncer)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} user to run pgbouncer as"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def pgbouncer(server: URL, *, pool_size: int = 2) -> Iterator[URL]:
    """PgBouncer in transaction mode in front of ``server`` (any of its databases, logging in as
    its user); yields the URL of ``server``'s database through it (change ``database`` for another)."""
    binary = find_pgbouncer()
    assert binary is not None, missing_reason()
    root = Path(tempfile.mkdtemp(prefix="bizgraph-pgbouncer-"))
    port = _free_port()
    host = server.query.get("host") or server.host or "127.0.0.1"
    target = f"host={host} port={server.port or 5432} user={server.username}"
    if server.password:
        target += f" password={server.password}"
    (root / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = {target}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        # Clients are not asked for a password: the [databases] line logs in for them.
        "auth_type = any\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "max_client_conn = 200\n"
        f"logfile = {root / 'pgbouncer.log'}\n"
    )
    as_root = os.geteuid() == 0
    if as_root:
        account = pwd.getpwnam(SERVER_USER)
        for path in (root, root / "pgbouncer.ini"):
            os.chown(path, account.pw_uid, account.pw_gid)
    process = subprocess.Popen(
        [binary, str(root / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=SERVER_USER if as_root else None,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                log = root / "pgbouncer.log"
                raise RuntimeError(f"pgbouncer exited: {log.read_text() if log.exists() else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield server.set(host="127.0.0.1", port=port, password=None).difference_update_query(["host"])
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
