"""The unit of work for writes: one READ COMMITTED transaction scoped to one organization,
committed when its block ends and rolled back when the block raises."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from psycopg import errors
from sqlalchemy.exc import DBAPIError

from app.config import Settings
from app.db import Database
from tests.support.graphql import sql

ACME, GLOBEX = 1, 2
INSERT_AUDIT = (
    "INSERT INTO audit_log (org_id, actor, action, entity_type, entity_id)"
    " VALUES (%(org)s, 'test', %(action)s, 'test', 1)"
)


@pytest.fixture
async def database(seeded_url):
    database = Database(replace(Settings.from_env({}), database_url=seeded_url))
    yield database
    await database.dispose()


@pytest.fixture
def action(seeded_url):
    """A marker for the audit rows one test writes; they are removed afterwards."""
    marker = f"uow-{uuid.uuid4().hex}"
    yield marker
    sql(seeded_url, "DELETE FROM audit_log WHERE action = %s RETURNING id", marker)


def _written(url, action: str) -> list[tuple]:
    return sql(url, "SELECT org_id FROM audit_log WHERE action = %s", action)


async def test_a_block_that_ends_commits(database, seeded_url, action):
    async with database.unit_of_work(ACME) as connection:
        await connection.exec_driver_sql(INSERT_AUDIT, {"org": ACME, "action": action})
        isolation = (await connection.exec_driver_sql("SHOW transaction_isolation")).scalar()
    assert isolation == "read committed"
    assert _written(seeded_url, action) == [(ACME,)]


async def test_a_block_that_raises_rolls_back(database, seeded_url, action):
    with pytest.raises(RuntimeError):
        async with database.unit_of_work(ACME) as connection:
            await connection.exec_driver_sql(INSERT_AUDIT, {"org": ACME, "action": action})
            raise RuntimeError("the service refused")
    assert _written(seeded_url, action) == []


async def test_it_reads_and_writes_only_its_organization(database, seeded_url, action):
    async with database.unit_of_work(GLOBEX) as connection:
        orgs = (await connection.exec_driver_sql("SELECT array_agg(DISTINCT org_id) FROM customers")).scalar()
    assert orgs == [GLOBEX]
    with pytest.raises(DBAPIError) as refused:
        async with database.unit_of_work(GLOBEX) as connection:
            await connection.exec_driver_sql(INSERT_AUDIT, {"org": ACME, "action": action})
    assert isinstance(refused.value.orig, errors.InsufficientPrivilege)
    assert _written(seeded_url, action) == []


async def test_the_organization_does_not_outlive_the_unit_of_work(seeded_url):
    database = Database(replace(Settings.from_env({}), database_url=seeded_url, pool_size=1))
    try:
        async with database.unit_of_work(ACME):
            pass
        async with database.engine.connect() as connection:  # the pool's only connection
            leftover = (await connection.exec_driver_sql("SELECT current_setting('bizgraph.org_id', true)")).scalar()
        assert leftover in (None, "")
    finally:
        await database.dispose()
