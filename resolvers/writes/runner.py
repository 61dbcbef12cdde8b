"""Runs a command: one transaction per mutation field.

Inside one READ COMMITTED transaction scoped to the principal's organization:
the command checks its input and rules, changes rows and records its audit row
and events; then the payload's entity is read with the planner on the same
connection, so it shows exactly what the command left, under the read policy.
Any refusal rolls everything back, audit row and events included, and becomes
the payload's ``errors``. Deadlocks and serialization failures between
concurrent commands are retried.

Round trips are what a write costs the server most (each a send, a wake-up and a
read), so the transaction's BEGIN and organization go out with the command's first
statement, and its audit row and events with the payload's read and COMMIT
(``resolvers/writes/statements.py``): a command of n statements takes n − 1 round
trips with the payload's read, where each of them and BEGIN and COMMIT took one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError

from app.auth.principal import Principal
from app.db import Database, Written
from app.errors import BizgraphError, Rejected
from resolvers.planner.pagination import PageLimits
from resolvers.planner.selection import FieldSelection
from resolvers.reads import ReadService
from resolvers.writes.refusals import refusal, worth_retrying
from resolvers.writes.session import WriteSession

ATTEMPTS = 3


@dataclass(frozen=True)
class Outcome:
    """What a command produced: the entity the payload shows, and plain payload values."""

    type_name: str | None = None
    pk: int | None = None
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class CommandResult:
    entities: dict[str, Any] = field(default_factory=dict)  # response key → planner JSON (None: not visible)
    values: Mapping[str, Any] = field(default_factory=dict)
    errors: list[BizgraphError] = field(default_factory=list)
    withheld: bool = False


Command = Callable[[WriteSession], Awaitable[Outcome]]


class _SessionReads:
    """The planner's statements, run inside the command's own transaction. Told ``last``, the
    next statement also commits it, in the same round trip (``WriteSession.finish``)."""

    def __init__(self, session: WriteSession) -> None:
        self._session = session
        self.last = False

    async def fetch_value(self, sql: str, params: dict[str, Any]) -> Any:
        if self.last:
            self.last = False
            return await self._session.finish(sql, params)
        return await self._session.value(sql, params)


class _FoundDead(Exception):
    """The command's first exchange found its pooled connection dead: nothing was done."""

    def __init__(self, error: DBAPIError) -> None:
        super().__init__(str(error))
        self.error = error


class CommandService:
    def __init__(
        self,
        database: Database,
        principal: Principal,
        limits: PageLimits,
        request_id: str = "-",
        *,
        written: Written | None = None,
    ) -> None:
        self.database = database
        self.principal = principal
        self.limits = limits
        self.request_id = request_id
        self.written = written

    async def run(self, command: Command, selections: Mapping[str, FieldSelection]) -> CommandResult:
        attempt, dead = 1, 0
        while True:
            try:
                return await self._attempt(command, selections)
            except _FoundDead as found:
                # After a database restart every pooled connection is dead (no ping per
                # checkout): each is found out by a command's first exchange, before it did
                # anything, and discarded; another is taken, at most the pool's worth.
                dead += 1
                if dead > self.database.pool_size:
                    raise found.error from None
            except Rejected as rejected:
                return CommandResult(errors=list(rejected.errors))
            except BizgraphError as error:
                return CommandResult(errors=[error])
            except DBAPIError as error:
                cause = error.orig or error  # the driver's error (never missing for a failed statement)
                if worth_retrying(cause) and attempt < ATTEMPTS:
                    attempt += 1
                    continue
                known = refusal(cause)
                if known is None:
                    raise
                return CommandResult(errors=[known])

    async def _attempt(self, command: Command, selections: Mapping[str, FieldSelection]) -> CommandResult:
        org_id = self.principal.org_id
        # The transaction begins with the command's first statement, in the same round trip.
        async with self.database.unit_of_work(org_id, self.written, begin=False) as connection:
            session = WriteSession(
                connection,
                self.principal,
                self.request_id,
                defer_records=True,
                opening=self.database.opening(org_id),
                exchanged=self.database.exchanged,
            )
            try:
                return await self._run(session, command, selections)
            except DBAPIError as error:
                if error.connection_invalidated and not session.opened:
                    raise _FoundDead(error) from error
                raise

    async def _run(
        self, session: WriteSession, command: Command, selections: Mapping[str, FieldSelection]
    ) -> CommandResult:
        outcome = await command(session)
        statements = _SessionReads(session)
        reads = ReadService(statements, session.access, self.limits)
        entities: dict[str, Any] = {}
        withheld = False
        if outcome.type_name is not None and outcome.pk is not None:
            last = len(selections) - 1
            for i, (key, selection) in enumerate(selections.items()):
                # A read by key is one statement: the last one also sends the command's
                # deferred records first and COMMIT after it.
                statements.last = i == last
                read = await reads.read_by_pk(outcome.type_name, outcome.pk, selection)
                entities[key] = read.value
                withheld = withheld or read.withheld
        await session.flush()  # records no read took along (nothing selected)
        return CommandResult(entities=entities, values=outcome.values, withheld=withheld)
