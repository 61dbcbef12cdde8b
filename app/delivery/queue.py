"""How far behind webhook delivery is: deliveries not yet done, and the age of the oldest.

Read at a metrics scrape (app/http/metrics.py), across organizations: the one definer function
that lists them (alembic 0003), then each organization's open deliveries in the same read-only
transaction, its rows shown by row-level security. The partial index on open deliveries
(``ix_webhook_deliveries_due``) keeps each count to the rows still open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import SET_ORGANIZATION, Database

_OPEN = """
SELECT count(*) AS depth, min(created_at) AS oldest
FROM webhook_deliveries
WHERE status IN ('pending', 'delivering')
"""


@dataclass(frozen=True)
class QueueDepth:
    depth: int
    # Seconds since the oldest open delivery was made (0 when none is open).
    oldest_age_seconds: float


async def webhook_queue(database: Database) -> QueueDepth:
    async def read(connection: AsyncConnection) -> QueueDepth:
        organizations = await connection.exec_driver_sql("SELECT id FROM bizgraph_organizations()")
        depth = 0
        oldest: dt.datetime | None = None
        for (org_id,) in organizations.all():
            await connection.exec_driver_sql(SET_ORGANIZATION, (str(org_id),))
            found = (await connection.exec_driver_sql(_OPEN)).one()
            depth += int(found.depth)
            if found.oldest is not None and (oldest is None or found.oldest < oldest):
                oldest = found.oldest
        age = (dt.datetime.now(dt.UTC) - oldest).total_seconds() if oldest is not None else 0.0
        return QueueDepth(depth, max(age, 0.0))

    return await database.reading(read)
