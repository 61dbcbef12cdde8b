"""The database work of one GraphQL operation: a query, a mutation, or one
tick of a subscription.

A scope owns the operation's read transaction (and how its statements are
wrapped), the reads that run in it, and the command runner. Reads share one
transaction, opened at the first statement; each command runs in a transaction
of its own (``resolvers/writes/runner.py``). Whoever runs an operation opens its
scope and closes it, once, whatever happens::

    async with OperationScope(database, principal, limits, request_id) as scope:
        ...  # execute the operation with ``scope`` in its context

The schema layer only asks: what shape the operation has (``declare_…``),
its reads (``reads``), and to run a command (``run_command``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Protocol

from app.auth.principal import Principal
from app.db import Database, Written
from resolvers.planner.access import Access
from resolvers.planner.pagination import PageLimits
from resolvers.planner.selection import FieldSelection
from resolvers.reads import ReadService, StatementRunner
from resolvers.transaction import Mode, RequestTransaction
from resolvers.writes.runner import Command, CommandResult, CommandService


class ReadStatements(StatementRunner, Protocol):
    """Where an operation's reads run: its own read transaction, or (a live query's re-run)
    a batch shared with other operations (``resolvers/live/batch.py``)."""

    def use(self, mode: Mode) -> None: ...

    async def close(self) -> None: ...


class OperationScope:
    def __init__(
        self,
        database: Database,
        principal: Principal,
        limits: PageLimits,
        request_id: str = "-",
        *,
        statements: ReadStatements | None = None,
        replica_reads: bool = False,
        read_after: int | None = None,
    ) -> None:
        # With read replicas, a query (``replica_reads``) reads from one that had replayed past
        # ``read_after`` (the client's own latest write), else from the primary; so does
        # everything else (a mutation's payload is read inside its own transaction anyway).
        replicas = database.replicas if replica_reads else None
        replica = replicas.choose(read_after) if replicas is not None else None
        self._transaction: ReadStatements = statements or RequestTransaction(
            database, principal.org_id, replica=replica
        )
        self._reads = ReadService(self._transaction, Access(principal), limits)
        # Where the operation's commits reached on the primary, for its answer to carry.
        self.written = Written()
        self._commands = CommandService(database, principal, limits, request_id, written=self.written)
        self._snapshot_held = False

    def hold_one_snapshot(self) -> None:
        """Every statement of the operation, and those that explain it afterwards, in one
        read-only snapshot (an explained operation is never a lone statement)."""
        self._transaction.use(Mode.SNAPSHOT)
        self._snapshot_held = True

    def declare_lone_root_field(self) -> None:
        """The operation is one planned root field, so one statement: it runs in an
        implicit transaction of its own, one round trip without BEGIN or COMMIT."""
        if not self._snapshot_held:
            self._transaction.use(Mode.LONE_STATEMENT)

    def declare_several_statements(self) -> None:
        """The operation may send more than one statement (several root fields, or a
        root field whose children read on their own): they share one read-only
        snapshot, so together they see one state of the data."""
        self._transaction.use(Mode.SNAPSHOT)

    @property
    def reads(self) -> ReadService:
        """Planned reads, inside the operation's read transaction."""
        return self._reads

    async def run_command(self, command: Command, selections: Mapping[str, FieldSelection]) -> CommandResult:
        """One mutation field: ``command`` in a transaction of its own, committed
        unless it refused; ``selections`` read the entity it leaves."""
        return await self._commands.run(command, selections)

    async def close(self) -> None:
        """Ends the read transaction: its connection goes back to the pool, or is
        discarded when it was cut off mid-exchange. No statement runs after this."""
        await self._transaction.close()

    async def __aenter__(self) -> OperationScope:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()
