"""One command's transaction, and the writes every command makes beside its own.

A command changes its rows, then ``record``s what it did: one audit row (who,
what, which entity, the before and after of each changed field) and the
integration events it announces, in one statement (which the command runner sends
with the payload's read and COMMIT: ``defer_records``). The outbox trigger (alembic
0004) NOTIFYs each event, and PostgreSQL delivers a NOTIFY only when its
transaction commits: a listener never hears of a change that did not happen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.principal import Principal
from app.events import Announcement
from resolvers.catalog import CATALOG
from resolvers.planner.access import Access
from resolvers.planner.sqltext import SqlParams
from resolvers.writes.statements import DriverStatements

Row = Mapping[str, Any]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(value: Any) -> str:
    return orjson.dumps(value, default=_json_default).decode()


def changes(before: Row | None, after: Row, fields: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """``{field: {"before": …, "after": …}}`` for the fields whose value differs."""
    names = fields if fields is not None else after.keys()
    diff = {}
    for name in names:
        old = None if before is None else before.get(name)
        new = after.get(name)
        if before is None or old != new:
            diff[name] = {"before": old, "after": new}
    return diff


# One statement for any number of audit rows and events: the entries travel as
# JSON arrays, expanded in order (WITH ORDINALITY), so events keep the order a
# command announced them in.
_RECORD = (
    "WITH audit AS ("
    "INSERT INTO audit_log (org_id, actor_user_id, actor, action, entity_type, entity_id, changes, request_id)"
    " SELECT %(org)s, (SELECT u.id FROM users u WHERE u.id = %(actor_user)s), %(actor)s, a.doc->>'action',"
    " a.doc->>'entity_type', (a.doc->>'entity_id')::bigint, a.doc->'changes', %(request_id)s"
    " FROM jsonb_array_elements(%(audits)s::jsonb) WITH ORDINALITY AS a(doc, n) ORDER BY a.n)"
    " INSERT INTO outbox (org_id, event_type, entity_type, entity_id, payload)"
    " SELECT %(org)s, e.doc->>'type', e.doc->>'entity_type', (e.doc->>'entity_id')::bigint, e.doc->'payload'"
    " FROM jsonb_array_elements(%(events)s::jsonb) WITH ORDINALITY AS e(doc, n) ORDER BY e.n"
)


@dataclass(frozen=True)
class Entry:
    """One audited change: what was done to which entity, the before and after of
    its changed fields, and the events (type, payload) it announces."""

    action: str
    entity_type: str
    entity_id: int
    changes: Mapping[str, Any]
    events: Iterable[Announcement] = ()


def _event_json(announced: Announcement, entry: Entry) -> dict[str, Any]:
    return {
        "type": announced.event.name,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "payload": announced.payload,
    }


class WriteSession:
    """The connection of one command's transaction, bound to its principal.

    Statements take psycopg's ``%(name)s`` parameters; ``%(org)s`` is always bound."""

    def __init__(
        self, connection: AsyncConnection, principal: Principal, request_id: str, *, defer_records: bool = False
    ) -> None:
        self.connection = connection
        # Statements go through the psycopg connection underneath (``statements.py``).
        self._statements = DriverStatements(connection)
        # Whoever ends the transaction sends the records with its last statement (``finish``),
        # or on their own (``flush``) before COMMIT; without it, each is sent when recorded.
        self._defer_records = defer_records
        self.principal = principal
        self.access = Access(principal)
        self.org_id = principal.org_id
        self.request_id = request_id

    def _bind(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        bound = dict(params or {})
        bound.setdefault("org", self.org_id)
        return bound

    async def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        cursor = await self._statements.execute(sql, self._bind(params))
        return await cursor.fetchall()

    async def row(self, sql: str, params: Mapping[str, Any] | None = None) -> Row | None:
        cursor = await self._statements.execute(sql, self._bind(params))
        return await cursor.fetchone()

    async def value(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        cursor = await self._statements.execute(sql, self._bind(params), by_name=False)
        row = await cursor.fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        cursor = await self._statements.execute(sql, self._bind(params))
        return cursor.rowcount

    def scope(self, type_name: str, alias: str, roles: frozenset[str] | None = None) -> tuple[str, dict[str, Any]]:
        """SQL for the rows of ``type_name`` (aliased ``alias``) the principal sees,
        or, with ``roles``, may act on in one of those roles; and its parameters."""
        params = SqlParams()
        entity = CATALOG[type_name]
        if roles is None:
            sql = self.access.rows(entity, alias, params)
        else:
            sql = self.access.acting_rows(entity, roles, alias, params)
        return sql, params.values

    @property
    def actor(self) -> str:
        principal = self.principal
        return principal.email or principal.client_id or principal.subject

    async def record(
        self,
        action: str,
        entity_type: str,
        entity_id: int,
        changed: Mapping[str, Any],
        events: Iterable[Announcement] = (),
    ) -> None:
        """The audit row of this change and the events it announces."""
        await self.record_all([Entry(action, entity_type, entity_id, changed, events)])

    async def record_all(self, entries: Iterable[Entry]) -> None:
        """One audit row per entry and all their events, in one statement however
        many entries there are (a payment and the invoice it settles; a sweep)."""
        audits: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for entry in entries:
            audits.append(
                {
                    "action": entry.action,
                    "entity_type": entry.entity_type,
                    "entity_id": entry.entity_id,
                    "changes": entry.changes,
                }
            )
            events.extend(_event_json(announced, entry) for announced in entry.events)
        if not audits:
            return
        params = {
            "actor_user": self.principal.user_id,
            "actor": self.actor,
            "request_id": self.request_id[:64],
            "audits": to_json(audits),
            "events": to_json(events),
        }
        if self._defer_records:
            self._statements.defer(_RECORD, self._bind(params))
        else:
            await self.execute(_RECORD, params)

    async def flush(self) -> None:
        """Sends the deferred records, if any."""
        await self._statements.flush()

    async def finish(self, sql: str, params: Mapping[str, Any], exchanged: Callable[[], None]) -> Any:
        """The deferred records, ``sql`` and COMMIT in one round trip; ``sql``'s first value
        (as ``value``). The transaction is committed when this returns."""
        return await self._statements.finish(sql, self._bind(params), exchanged)

    async def update(self, table: str, pk: int, columns: Mapping[str, Any], *, stamps: Iterable[str] = ()) -> Row:
        """Set ``columns`` (and the timestamp columns ``stamps`` to now) on the row
        ``pk`` of ``table``, at a new version; the row as it is afterwards. Column
        names come from the services, never from a request."""
        sets = "".join(f"{column} = %({column})s, " for column in columns)
        sets += "".join(f"{stamp} = now(), " for stamp in stamps)
        row = await self.row(
            f"UPDATE {table} SET {sets}version = version + 1, updated_at = now() WHERE id = %(pk)s RETURNING *",
            {**columns, "pk": pk},
        )
        if row is None:
            raise LookupError(f"{table} {pk} vanished under its lock")
        return row

    async def sequence_number(self, sequence: str) -> int:
        """The next number of a sequence (alembic 0004): unique and increasing, with
        gaps (a rolled-back transaction does not give it back), and no lock held."""
        number: int = await self.value(f"SELECT nextval('{sequence}')")
        return number

    async def next_number(self, counter: str, start_after_sql: str, params: Mapping[str, Any] | None = None) -> int:
        """The next value of a per-organization counter.

        The counter's row stays locked until this transaction ends, so numbers are
        handed out one transaction at a time and a rolled-back transaction gives
        its number back: no gaps, no duplicates. A counter used for the first time
        starts after ``start_after_sql`` (the highest number already in use)."""
        bound = {"counter": counter, **(params or {})}
        number: int = await self.value(
            "INSERT INTO counters AS c (org_id, name, value)"
            f" VALUES (%(org)s, %(counter)s, COALESCE(({start_after_sql}), 0) + 1)"
            " ON CONFLICT (org_id, name) DO UPDATE SET value = c.value + 1"
            " RETURNING c.value",
            bound,
        )
        return number
