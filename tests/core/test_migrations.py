"""Given an empty database, when alembic upgrades to head, then the schema equals the models."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db import sync_engine
from app.migrations import downgrade, upgrade
from app.models import metadata
from tests.support.db import conninfo


def _table_names(url) -> set[str]:
    with psycopg.connect(conninfo(url)) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}


def test_upgrade_head_matches_the_models(fresh_database):
    url = fresh_database()
    upgrade(url)
    engine = sync_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == []
    assert set(metadata.tables) <= _table_names(url)


def test_downgrade_base_removes_everything_and_upgrade_again_works(fresh_database):
    url = fresh_database()
    upgrade(url)
    downgrade(url, "base")
    assert _table_names(url) == {"alembic_version"}
    upgrade(url)
    assert set(metadata.tables) <= _table_names(url)
