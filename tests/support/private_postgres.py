"""A PostgreSQL cluster of a test's own, which the test may restart: initdb and pg_ctl
from the machine's PostgreSQL installation; and a streaming replica of one, made with
PostgreSQL's own ``pg_basebackup`` over loopback.

PostgreSQL refuses to run as root; as root the cluster runs as the ``postgres``
system user (the one the distribution's package made), in a directory of its own."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL

from app.config import parse_database_url

SERVER_USER = "postgres"


def find_bindir() -> Path | None:
    """The directory of initdb and pg_ctl: ``pg_config --bindir``, else the newest
    ``/usr/lib/postgresql/<version>/bin`` (Debian keeps them off the PATH)."""
    candidates = []
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        candidates.append(Path(found))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    candidates += [Path(p) for p in versions]
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def missing_reason() -> str | None:
    """Why a private cluster cannot run here, or None."""
    if find_bindir() is None:
        return "no initdb/pg_ctl on this machine"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateCluster:
    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.data_dir = root / "data"
        self.log_file = root / "server.log"
        self.port = _free_port()
        self._as_root = os.geteuid() == 0

    @property
    def url(self) -> URL:
        return parse_database_url(f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/postgres", "private cluster")

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        subprocess.run(command, check=True, capture_output=True, user=SERVER_USER if self._as_root else None)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data_dir), "-U", SERVER_USER, "-A", "trust", "--no-sync", "-E", "UTF8")
        settings = (
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
            "fsync = off\nshared_buffers = '16MB'\nmax_connections = 20\n"
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(settings)

    def make_standby_of(self, primary: PrivateCluster, *, log_statements: bool = False) -> None:
        """This cluster's data directory as a streaming replica of ``primary``: a base backup
        that streams its WAL (``-X stream``) and writes the standby's settings (``-R``: the
        ``standby.signal`` file and ``primary_conninfo``). The copied configuration keeps every
        setting of the primary's but the port; ``log_statements`` logs what is run on it."""
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            SERVER_USER,
            "-D",
            str(self.data_dir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.port}\n")
            if log_statements:
                conf.write("log_statement = 'all'\n")

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-D", str(self.data_dir), "-l", str(self.log_file))

    def restart(self) -> None:
        self._run("pg_ctl", "restart", "-w", "-m", "fast", "-D", str(self.data_dir), "-l", str(self.log_file))

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data_dir))

    @property
    def running(self) -> bool:
        command = [str(self.bindir / "pg_ctl"), "status", "-D", str(self.data_dir)]
        user = SERVER_USER if self._as_root else None
        return subprocess.run(command, capture_output=True, check=False, user=user).returncode == 0


@contextmanager
def private_cluster(
    *, standby_of: PrivateCluster | None = None, log_statements: bool = False
) -> Iterator[PrivateCluster]:
    """A started cluster, stopped and deleted afterwards; with ``standby_of``, a streaming
    replica of that one (which must be running)."""
    bindir = find_bindir()
    assert bindir is not None, missing_reason()
    root = Path(tempfile.mkdtemp(prefix="bizgraph-private-pg-"))
    try:
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_USER)
            os.chown(root, account.pw_uid, account.pw_gid)
        cluster = PrivateCluster(bindir, root)
        if standby_of is None:
            cluster.init()
        else:
            cluster.make_standby_of(standby_of, log_statements=log_statements)
        cluster.start()
        try:
            yield cluster
        finally:
            if cluster.running:
                cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
