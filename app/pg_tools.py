"""PostgreSQL's own client programs (pg_dump, pg_restore) of the server's major version.

pg_dump refuses a server newer than itself, and pg_restore may not read an archive written by a
newer pg_dump; an older server may reject what a newer pg_dump writes. So bizgraph uses the
programs of exactly the server's major version: ``BIZGRAPH_PG_BINDIR`` when set, else
``pg_config --bindir``, Debian's ``/usr/lib/postgresql/<major>/bin``, the PATH, and the
embedded server's (pgserver's) own.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

from app.errors import BizgraphError

BINDIR_VARIABLE = "BIZGRAPH_PG_BINDIR"


def _candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    explicit = os.environ.get(BINDIR_VARIABLE, "").strip()
    if explicit:
        return [Path(explicit)]
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if found:
            dirs.append(Path(found))
    dirs += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).resolve().parent)
    # The embedded server's own (the demo's PostgreSQL 16), when pgserver is installed.
    embedded = importlib.util.find_spec("pgserver")
    if embedded is not None and embedded.origin:
        dirs.append(Path(embedded.origin).parent / "pginstall" / "bin")
    return dirs


def major_version(program: Path) -> int | None:
    """16 for ``pg_dump (PostgreSQL) 16.4``; None when it does not run."""
    try:
        out = subprocess.run([str(program), "--version"], capture_output=True, text=True, check=False, timeout=10)
    except OSError:
        return None
    match = re.search(r"\(PostgreSQL\) (\d+)", out.stdout)
    return int(match.group(1)) if match else None


def client_program(name: str, server_major: int) -> Path:
    """``name`` (pg_dump, pg_restore) of the server's major version, or a refusal saying what to install."""
    seen: list[str] = []
    for bindir in _candidate_dirs():
        program = bindir / name
        if not program.is_file():
            continue
        major = major_version(program)
        if major == server_major:
            return program
        seen.append(f"{program} is {major}")
    found = f" (found: {'; '.join(seen)})" if seen else ""
    raise BizgraphError(
        f"no {name} of PostgreSQL {server_major}, the server's version{found}: install its client programs"
        f" (Debian: apt-get install postgresql-client-{server_major}) or set {BINDIR_VARIABLE} to their directory"
    )
