"""Organization look-ups the server needs before serving."""

from __future__ import annotations

from app.db import Database


async def first_organization_id(database: Database) -> int | None:
    """The demo organization: the first one created.

    No organization is set at start-up, so row-level security hides every row
    of ``organizations``; the definer function ``bizgraph_organizations()``
    (alembic 0003) answers just this: which organizations exist, by id and slug.
    """
    async with database.read() as connection:
        result = await connection.exec_driver_sql("SELECT id FROM bizgraph_organizations() ORDER BY id LIMIT 1")
        row = result.first()
    return None if row is None else row[0]
