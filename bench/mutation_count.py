"""SQL statements and round trips of one mutation, counted in-process (``bench.statements``'s machinery).

PostgreSQL here has no ``pg_stat_statements`` loaded, and loading it needs a
restart, so the counts come from an in-process copy of the app on the same
database: SQLAlchemy's ``before_cursor_execute`` sees every statement the
command runs, and the wire proxy of ``bench.statements`` sees every wait for
PostgreSQL, BEGIN and COMMIT included (the COMMIT is where the deferred outbox
trigger takes the organization's lock). The requests are real mutations: they
write to the bench database like the measured ones, outside any cell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event

from bench.statements import in_process_app, user_token

REPEAT = 3  # counted requests per mutation, after one uncounted (it opens the pooled connection)


@dataclass
class MutationCount:
    statements: float = 0.0
    round_trips: float | None = None
    sql: list[str] = field(default_factory=list)  # the last request's statements
    wire: list[str] = field(default_factory=list)  # the last request's round trips
    error: str | None = None


@dataclass(frozen=True)
class Probe:
    key: str
    field_name: str  # the mutation field, whose payload must have no errors
    query: str
    # (request number from 0, the payloads so far by probe key) → the request's variables
    variables: Callable[[int, dict[str, list[dict[str, Any]]]], dict[str, Any]]


async def count(database_url: str, email: str, probes: list[Probe]) -> dict[str, MutationCount]:
    counts: dict[str, MutationCount] = {}
    async with in_process_app(database_url) as (app, proxy):
        headers = {"Authorization": f"Bearer {await user_token(app, email)}"}
        engine = app.state.database.engine.sync_engine
        seen: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench.local", headers=headers
            ) as client:
                payloads: dict[str, list[dict[str, Any]]] = {}
                for probe in probes:
                    done = payloads.setdefault(probe.key, [])
                    result = MutationCount()
                    statements = trips = 0
                    for i in range(REPEAT + 1):
                        seen.clear()
                        if proxy is not None:
                            proxy.log.round_trips.clear()
                        body = {"query": probe.query, "variables": probe.variables(i, payloads)}
                        answer = (await client.post("/graphql", json=body)).json()
                        payload = (answer.get("data") or {}).get(probe.field_name)
                        if answer.get("errors") or payload is None or payload.get("errors"):
                            result.error = str(answer.get("errors") or (payload or {}).get("errors"))[:300]
                            break
                        done.append(payload)
                        if i == 0:
                            continue
                        statements += len(seen)
                        result.sql = list(seen)
                        if proxy is not None:
                            trips += len(proxy.log.round_trips)
                            result.wire = list(proxy.log.round_trips)
                    else:
                        result.statements = statements / REPEAT
                        result.round_trips = trips / REPEAT if proxy is not None else None
                    counts[probe.key] = result
        finally:
            event.remove(engine, "before_cursor_execute", record)
    return counts
