"""Runs a command: one transaction per mutation field.

Inside one READ COMMITTED transaction scoped to the principal's organization:
the command checks its input and rules, changes rows and records its audit row
and events; then the payload's entity is read with the planner on the same
connection, so it shows exactly what the command left, under the read policy.
Any refusal rolls everything back, audit row and events included, and becomes
the payload's ``errors``. Deadlocks and serialization failures between
concurrent commands are retried.

Round trips are what a write costs the server most (each a send, a wake-up and a
read), so the audit row and events the command recorded go out with the payload's
read and COMMIT, in that order, in one exchange (``resolvers/writes/statements.py``).
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

    def __init__(self, session: WriteSession, exchanged: Callable[[], None]) -> None:
        self._session = session
        self._exchanged = exchanged
        self.last = False

    async def fetch_value(self, sql: str, params: dict[str, Any]) -> Any:
        if self.last:
            self.last = False
            return await self._session.finish(sql, params, self._exchanged)
        return await self._session.value(sql, params)


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
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self._attempt(command, selections)
            except Rejected as rejected:
                return CommandResult(errors=list(rejected.errors))
            except BizgraphError as error:
                return CommandResult(errors=[error])
            except DBAPIError as error:
                cause = error.orig or error  # the driver's error (never missing for a failed statement)
                if worth_retrying(cause) and attempt < ATTEMPTS:
                    continue
                known = refusal(cause)
                if known is None:
                    raise
                return CommandResult(errors=[known])
        raise AssertionError("unreachable")

    async def _attempt(self, command: Command, selections: Mapping[str, FieldSelection]) -> CommandResult:
        async with self.database.unit_of_work(self.principal.org_id, self.written) as connection:
            session = WriteSession(connection, self.principal, self.request_id, defer_records=True)
            outcome = await command(session)
            statements = _SessionReads(session, self.database.exchanged)
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
