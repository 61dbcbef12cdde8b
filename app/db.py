"""Engine and connection factories, and the unit of work for writes.

Nothing connects at import time: ``Database`` is built by the composition root
(``create_app``) or the CLI and disposed by them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import orjson
import psycopg
from psycopg import pq
from psycopg.generators import execute
from psycopg.types.json import set_json_loads
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.connection_pool import ConnectionPool
from app.errors import ConfigError
from app.replicas import ReplicaSet, parse_lsn

T = TypeVar("T")

# Row-level security shows a transaction only the rows of the organization named
# by this setting (alembic 0003). ``true`` makes it LOCAL: it ends with the
# transaction, so a pooled connection never carries one request's organization
# into the next.
SET_ORGANIZATION = "SELECT set_config('bizgraph.org_id', %s, true)"
# A write's transaction (``Database.unit_of_work``), as psycopg would begin it.
BEGIN_READ_COMMITTED = "BEGIN ISOLATION LEVEL READ COMMITTED"


def _connect_args(settings: Settings, *, role: str = "") -> dict[str, Any]:
    args: dict[str, Any] = {"application_name": "bizgraph"}
    if not settings.prepared_statements:
        # Behind a transaction pooler the next transaction may run on another server
        # session, which never saw the statement prepared: only unnamed statements.
        args["prepare_threshold"] = None
    if settings.transaction_pooler:
        # A pooler refuses startup options (and would share one session's settings among
        # clients): the same settings go into every transaction instead (``scoping``).
        return args
    # Session settings travel in the startup packet, so no request pays a
    # round trip for them. UTC makes timestamptz render with an explicit offset.
    options = f"-c TimeZone=UTC -c statement_timeout={settings.statement_timeout_ms}"
    if role:
        # Assumed at connect time, so every pooled connection is bound by
        # row-level security before its first statement, at no extra round trip.
        options += f" -c role={role}"
    args["options"] = options
    return args


def _transaction_settings(settings: Settings) -> list[str]:
    """What the startup options set for a session, as transaction-local ``set_config`` calls
    (behind a transaction pooler, where no session is bizgraph's own)."""
    calls = [
        "set_config('TimeZone', 'UTC', true)",
        f"set_config('statement_timeout', '{settings.statement_timeout_ms}', true)",
    ]
    if settings.db_role:
        # The role name was checked to be a plain identifier (config._role_name).
        calls.append(f"set_config('role', '{settings.db_role}', true)")
    return calls


def scoping_statements(settings: Settings) -> tuple[str, str | None]:
    """The statement that names a transaction's organization (one ``%s``), and the one that
    sets up a transaction naming none (None: nothing to set up). Behind a transaction pooler
    both also set, for the transaction only, what the startup options set for a session:
    in the same statement, so at no extra round trip where an organization is named."""
    if not settings.transaction_pooler:
        return SET_ORGANIZATION, None
    calls = _transaction_settings(settings)
    return SET_ORGANIZATION + ", " + ", ".join(calls), "SELECT " + ", ".join(calls)


async def driver_connection(connection: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under a SQLAlchemy one, for pipeline mode."""
    pooled = await connection.get_raw_connection()
    # SQLAlchemy types the driver's connection as Optional[Any]: it is None only
    # once the pooled connection was invalidated, never right after checkout, and
    # with the psycopg dialect it is a psycopg.AsyncConnection.
    return cast("psycopg.AsyncConnection[Any]", pooled.driver_connection)


class Written:
    """The WAL position an operation's writes reached on the primary (None: it wrote nothing)."""

    def __init__(self) -> None:
        self.position: int | None = None

    def reached(self, position: int | None) -> None:
        if position is not None and (self.position is None or position > self.position):
            self.position = position


def _orjson_loads(data: bytes | str) -> Any:
    return orjson.loads(data)


class Database:
    """The process's connection pool to PostgreSQL."""

    def __init__(self, settings: Settings) -> None:
        if settings.database_url is None:
            raise ValueError("Database needs settings.database_url")
        self.url: URL = settings.database_url
        engine_options: dict[str, Any] = {
            # A fixed pool: overflow connections are closed when returned, so under
            # load they churn (a new backend per burst); waiting for one is cheaper.
            "pool_size": settings.pool_size,
            "max_overflow": 0,
            # No ping per checkout: a dead connection is retried by the reader
            # (resolvers/transaction.py), which saves a round trip per request.
            "pool_pre_ping": False,
            "connect_args": _connect_args(settings, role=settings.db_role),
        }
        self.engine: AsyncEngine = create_async_engine(self.url, **engine_options)
        # Read replicas (app/replicas.py), each with a pool like the primary's; checked once
        # ``start_replicas`` runs. A replica that is down must not hold a read up for long.
        replica_options = {**engine_options, "connect_args": {**engine_options["connect_args"], "connect_timeout": 2}}
        self.replicas: ReplicaSet | None = (
            ReplicaSet(
                self.engine,
                settings.replica_urls,
                replica_options,
                max_lag_ms=settings.replica_max_lag_ms,
                check_ms=settings.replica_check_ms,
                pool_size=settings.pool_size,
            )
            if settings.replica_urls
            else None
        )
        self.role = settings.db_role
        # Read statements seen again are prepared on the server (resolvers/wire.py); never
        # behind a transaction pooler, where the next transaction may have another session.
        self.prepared_statements = settings.prepared_statements
        self.pool_size = settings.pool_size
        # Requests' read transactions (resolvers/transaction.py) take their connections from a
        # pool of their own, cheaper per checkout than the engine's and fair to its waiters
        # (app/connection_pool.py); writes and look-ups keep the engine's.
        self.requests = ConnectionPool.beside(self.engine, engine_options["connect_args"], size=settings.pool_size)
        # Told of each round trip a request's reads and writes make beyond the engine's own
        # statements (``exchanged``): the edge counts them per request.
        self.round_trip_listeners: list[Callable[[int], None]] = []
        # What opens a transaction scoped to an organization, and one scoped to none.
        self.organization_statement, self._unscoped_statement = scoping_statements(settings)
        # JSON built by PostgreSQL is parsed by orjson: the planner's results are
        # one large JSON value per root field.
        set_json_loads(_orjson_loads)

    def exchanged(self, count: int = 1) -> None:
        """``count`` round trips to PostgreSQL were made (for the request making them)."""
        for listener in self.round_trip_listeners:
            listener(count)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction for start-up and CLI look-ups (requests use
        ``resolvers.transaction.RequestTransaction``). It names no organization,
        so only the definer functions of alembic 0003 answer through it."""
        async with self.engine.connect() as connection:
            await connection.execution_options(postgresql_readonly=True, isolation_level="REPEATABLE READ")
            async with connection.begin():
                if self._unscoped_statement is not None:
                    await connection.exec_driver_sql(self._unscoped_statement)
                yield connection

    @asynccontextmanager
    async def read_as(self, org_id: int) -> AsyncIterator[AsyncConnection]:
        """A read-only snapshot of ``org_id``'s rows, for reads outside GraphQL (an
        invoice document, the email dispatcher's look-ups)."""
        async with self.engine.connect() as connection:
            await connection.execution_options(postgresql_readonly=True, isolation_level="REPEATABLE READ")
            async with connection.begin():
                await connection.exec_driver_sql(SET_ORGANIZATION, (str(org_id),))
                yield connection

    async def reading(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``work`` in a ``read()`` transaction, for look-ups a request makes.

        After a database restart every pooled connection is dead (no ping per checkout):
        the first one taken fails, and SQLAlchemy, recognising a disconnection, discards it
        and marks the rest to be replaced. ``work`` only reads, so it runs again on a
        fresh connection instead of failing the request."""
        for attempts_left in range(self.pool_size, -1, -1):
            try:
                async with self.read() as connection:
                    return await work(connection)
            except DBAPIError as error:
                if not error.connection_invalidated or attempts_left == 0:
                    raise
        raise AssertionError("unreachable")

    async def start_replicas(self) -> None:
        if self.replicas is not None:
            await self.replicas.start()

    @asynccontextmanager
    async def unit_of_work(self, org_id: int, written: Written | None = None) -> AsyncIterator[AsyncConnection]:
        """One READ COMMITTED transaction scoped to ``org_id`` for a write:
        committed when the block ends, rolled back when it raises. With read replicas,
        ``written`` learns the WAL position the commit reached (for reading one's own writes)."""
        connection = await self._connection_scoped_to(org_id)
        try:
            # SQLAlchemy's BEGIN sends nothing: the transaction the driver opened above is
            # the one committed (or rolled back) here.
            async with connection.begin():
                yield connection
            if written is not None and self.replicas is not None:
                # After the commit, the primary's WAL is written at least past its commit record.
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                position = (await connection.exec_driver_sql("SELECT pg_current_wal_lsn()::text")).scalar()
                if isinstance(position, str):
                    written.reached(parse_lsn(position))
        finally:
            await connection.close()

    async def _connection_scoped_to(self, org_id: int) -> AsyncConnection:
        """A pooled connection in a READ COMMITTED transaction scoped to ``org_id``.

        After a database restart every pooled connection is dead (no ping per checkout),
        and a write would fail on the first one taken. Its first exchange (BEGIN and the
        organization) finds a dead one out before the command did anything, so it is
        discarded and another taken: at most the pool's worth, as the reader does."""
        for attempts_left in range(self.pool_size, -1, -1):
            connection = await self.engine.connect()
            driver: psycopg.AsyncConnection[Any] | None = None
            try:
                await connection.execution_options(isolation_level="READ COMMITTED")
                # BEGIN and the organization go out together, set through the driver so
                # statement counts see only the caller's statements.
                driver = await driver_connection(connection)
                await _open_transaction(driver, self._opening(org_id))
                self.exchanged()
            except psycopg.OperationalError:
                dead = driver is not None and driver.broken
                await connection.invalidate()
                await connection.close()
                if dead and attempts_left > 0:
                    continue
                raise
            except BaseException:
                await connection.close()
                raise
            return connection
        raise AssertionError("unreachable")

    def _opening(self, org_id: int) -> bytes:
        """BEGIN and the organization's ``set_config`` as one simple-protocol query. The
        organization is a number, written into the text as a literal."""
        literal = f"'{int(org_id)}'"
        return f"{BEGIN_READ_COMMITTED}; {self.organization_statement.replace('%s', literal)}".encode()

    async def verify_isolation(self) -> None:
        """Refuse to serve through a role that row-level security does not bind:
        a superuser or a BYPASSRLS role would see every organization."""
        try:
            # In a transaction like the server's own (behind a pooler, the role is the transaction's).
            async with self.read() as connection:
                result = await connection.exec_driver_sql(
                    "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
                )
                # By name: exec_driver_sql's result is typed as one column of Any.
                row = result.mappings().one()
                user, superuser, bypasses = row["current_user"], row["rolsuper"], row["rolbypassrls"]
        except DBAPIError as error:
            if self.role and f'role "{self.role}"' in str(error.orig):
                raise ConfigError(
                    f"BIZGRAPH_DB_ROLE={self.role}: the database refused the role ({_last_line(error.orig)}); "
                    "run `bizgraph migrate` to create it, and grant it to the user of DATABASE_URL"
                ) from None
            raise
        if superuser or bypasses:
            why = "a superuser" if superuser else "allowed to bypass row-level security (BYPASSRLS)"
            raise ConfigError(
                f"the server's database role {user!r} is {why}, so organizations would not be isolated: "
                "set BIZGRAPH_DB_ROLE (default bizgraph_app) or let DATABASE_URL log in as a restricted role"
            )

    async def ping(self) -> None:
        """One round trip on a pooled connection; raises when PostgreSQL cannot answer."""
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        if self.replicas is not None:
            await self.replicas.stop()
        await self.requests.close()
        await self.engine.dispose()


async def _open_transaction(driver: psycopg.AsyncConnection[Any], opening: bytes) -> None:
    """Sends ``opening`` (a transaction's BEGIN and settings) in one message and reads its answers.

    The same BEGIN psycopg would send for the open transaction it owes (the isolation level set
    on the connection), but as one write and one read on the libpq handle, like the reads'
    exchanges (``resolvers/wire.py`` measures why): psycopg's pipeline mode also makes it one
    round trip, through generic command queues that cost more CPU. psycopg reads the
    transaction's status from libpq, so it sends no BEGIN of its own afterwards, and COMMIT or
    ROLLBACK as usual."""
    pgconn = driver.pgconn
    pgconn.send_query(opening)
    results = await driver.wait(execute(pgconn))
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise psycopg.errors.error_from_result(result, encoding=driver.info.encoding)


def _last_line(error: BaseException | None) -> str:
    lines = str(error).strip().splitlines()
    return lines[-1].strip() if lines else type(error).__name__


def sync_engine(url: URL, settings: Settings | None = None) -> Engine:
    """A synchronous, unpooled engine for the CLI, migrations and seeding. It
    runs as the connecting owner: migrations create what the role may use."""
    connect_args = _connect_args(settings or Settings())
    return create_engine(url, connect_args=connect_args, poolclass=NullPool)
