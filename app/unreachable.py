"""A database the CLI cannot reach, said in one line: which database, where, and what to do.

psycopg's own text spans several lines ("connection failed: connection to server at …
failed: FATAL: …") and SQLAlchemy adds a link; a person starting bizgraph wants to know
whether the database is missing, the server is down, or the login is wrong.
"""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from app.config import libpq_conninfo
from app.errors import BizgraphError

PROBE_TIMEOUT_SECONDS = 5


def where(url: URL) -> str:
    """``127.0.0.1:5432``, or the socket directory of a local server."""
    if url.host:
        return f"{url.host}:{url.port or 5432}"
    socket_dir = url.query.get("host")
    if isinstance(socket_dir, tuple):
        socket_dir = socket_dir[0] if socket_dir else None
    return f"the Unix socket in {socket_dir}" if socket_dir else "the local Unix socket"


def connection_failure(error: BaseException, url: URL | None, *, hint: str | None = None) -> BizgraphError | None:
    """The one line for a failed connection to ``url``, or None when ``error`` is something else."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    if not isinstance(cause, psycopg.OperationalError) or url is None:
        return None
    text = str(cause)
    database, place = url.database or "?", where(url)
    if f'database "{database}" does not exist' in text:
        message = (
            f'the database "{database}" does not exist on {place}: create it (e.g. `createdb {database}`)'
            " or set DATABASE_URL to one that does"
        )
    elif "password authentication failed" in text or "no pg_hba.conf entry" in text or 'role "' in text:
        message = f"PostgreSQL on {place} refused the login of {url.username!r} to {database!r}: check DATABASE_URL"
    elif "Connection refused" in text or "No such file or directory" in text or "could not translate" in text:
        message = f'cannot reach PostgreSQL on {place} (for the database "{database}"): is it running? see DATABASE_URL'
    elif "connection" in text.lower():
        detail = text.strip().splitlines()[-1].strip()
        message = f'cannot connect to the database "{database}" on {place}: {detail}'
    else:
        return None
    return BizgraphError(f"{message}; {hint}" if hint else message)


def require_reachable(url: URL) -> None:
    """Connects once (``SELECT 1``) and raises the one line of ``connection_failure`` when that
    fails: before a server starts, rather than as a traceback from its start-up."""
    try:
        with psycopg.connect(libpq_conninfo(url), connect_timeout=PROBE_TIMEOUT_SECONDS) as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as error:
        failure = connection_failure(error, url)
        if failure is None:
            raise
        raise failure from None
