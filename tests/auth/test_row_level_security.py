"""Row-level security: whatever SQL runs as ``bizgraph_app``, it sees and writes only
the organization its transaction names, and nothing when none is named."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
from psycopg import errors

from app.config import Settings
from app.db import Database
from app.errors import ConfigError
from app.models import metadata
from resolvers.organizations import first_organization_id
from tests.support.db import conninfo
from tests.support.graphql import sql

ACME, GLOBEX = 1, 2
APP_ROLE = "bizgraph_app"
DEFINER_FUNCTIONS = {
    "bizgraph_login_candidates",
    "bizgraph_oauth_client",
    "bizgraph_organization",
    "bizgraph_organizations",
    "bizgraph_token_user",  # alembic 0006: the token check reads a user before its organization is known
}


@contextlib.contextmanager
def as_app(url, org_id: int | None) -> Iterator[psycopg.Connection]:
    """A transaction as the application role, with ``org_id`` set (or nothing)."""
    with psycopg.connect(conninfo(url)) as conn:
        conn.execute(f"SET ROLE {APP_ROLE}")
        if org_id is not None:
            conn.execute("SELECT set_config('bizgraph.org_id', %s, true)", (str(org_id),))
        yield conn
        conn.rollback()


def _org_owned_tables(url) -> list[str]:
    rows = sql(
        url,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    return [row[0] for row in rows]


def _rows_per_org(url, table: str) -> dict[int, int]:
    return dict(sql(url, f"SELECT org_id, count(*) FROM {table} GROUP BY org_id"))


def test_the_catalog_query_finds_every_modelled_organization_owned_table(seeded_url):
    modelled = {name for name, table in metadata.tables.items() if "org_id" in table.columns}
    assert set(_org_owned_tables(seeded_url)) == modelled and "customers" in modelled


def test_every_organization_owned_table_is_forced_under_a_tenant_policy(seeded_url):
    tables = [*_org_owned_tables(seeded_url), "organizations"]
    rows = sql(
        seeded_url,
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
        " array_agg(p.polcmd::text || ':' || coalesce(pg_get_expr(p.polqual, p.polrelid), '')"
        "           || ':' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')) FILTER (WHERE p.oid IS NOT NULL)"
        " FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid"
        " WHERE c.relname = ANY(%s) AND c.relnamespace = 'public'::regnamespace GROUP BY 1, 2, 3",
        tables,
    )
    assert sorted(row[0] for row in rows) == sorted(tables)
    for table, enabled, forced, policies in rows:
        assert enabled and forced, table
        assert policies and all("bizgraph_current_org()" in policy for policy in policies), (table, policies)
        if table != "organizations":  # read-only for the application: no WITH CHECK needed
            assert any(p.startswith("*:") and p.count("bizgraph_current_org()") == 2 for p in policies), (
                table,
                policies,
            )


def test_with_an_organization_set_every_table_shows_exactly_its_rows(seeded_url):
    crossing = []
    with as_app(seeded_url, ACME) as conn:
        for table in _org_owned_tables(seeded_url):
            seen = dict(conn.execute(f"SELECT org_id, count(*) FROM {table} GROUP BY org_id").fetchall())
            owned = _rows_per_org(seeded_url, table)
            expected = {ACME: owned[ACME]} if ACME in owned else {}
            assert seen == expected, table
            if GLOBEX in owned:
                crossing.append(table)
        assert conn.execute("SELECT array_agg(id) FROM organizations").fetchone()[0] == [ACME]
    assert len(crossing) >= 10, crossing  # the other organization really has rows to hide


def test_with_no_organization_set_nothing_is_visible(seeded_url):
    with as_app(seeded_url, None) as conn:
        for table in [*_org_owned_tables(seeded_url), "organizations"]:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_rows_of_another_organization_cannot_be_written(seeded_url):
    acme_customer = sql(seeded_url, "SELECT min(id) FROM customers WHERE org_id = %s", ACME)[0][0]
    globex_customer = sql(seeded_url, "SELECT min(id) FROM customers WHERE org_id = %s", GLOBEX)[0][0]
    with as_app(seeded_url, ACME) as conn, pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        conn.execute(
            "INSERT INTO audit_log (org_id, actor, action, entity_type, entity_id) VALUES (%s, 'x', 'x', 'x', 1)",
            (GLOBEX,),
        )
    with as_app(seeded_url, ACME) as conn, pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        conn.execute("UPDATE customers SET org_id = %s WHERE id = %s", (GLOBEX, acme_customer))
    with as_app(seeded_url, ACME) as conn:
        assert conn.execute("UPDATE customers SET name = 'taken' WHERE id = %s", (globex_customer,)).rowcount == 0
        assert conn.execute("DELETE FROM payments WHERE org_id = %s", (GLOBEX,)).rowcount == 0
        inserted = conn.execute(
            "INSERT INTO audit_log (org_id, actor, action, entity_type, entity_id) VALUES (%s, 'x', 'x', 'x', 1)",
            (ACME,),
        )
        assert inserted.rowcount == 1  # its own organization's rows are writable (rolled back)


def test_the_definer_functions_are_the_only_ways_across_organizations(seeded_url):
    rows = sql(
        seeded_url,
        "SELECT p.proname, p.proconfig, EXISTS (SELECT FROM aclexplode(p.proacl) WHERE grantee = 0)"
        " FROM pg_proc p WHERE p.prosecdef AND p.pronamespace = 'public'::regnamespace"
        " AND has_function_privilege(%s, p.oid, 'EXECUTE')",
        APP_ROLE,
    )
    assert {row[0] for row in rows} == DEFINER_FUNCTIONS
    for name, config, public_may_execute in rows:
        assert not public_may_execute, name
        assert "search_path=pg_catalog, public, pg_temp" in config, (name, config)
    with as_app(seeded_url, None) as conn:
        organizations = conn.execute("SELECT id, slug FROM bizgraph_organizations()").fetchall()
        assert organizations == [(ACME, "acme"), (GLOBEX, "globex")]
        assert conn.execute("SELECT id FROM bizgraph_organization('globex')").fetchall() == [(GLOBEX,)]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM alembic_version",
        "ALTER TABLE customers DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE customers NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON customers",
        "CREATE POLICY everything ON customers USING (true)",
        # Off means "fail rather than filter" for a role that row-level security binds.
        "SET row_security = off; SELECT count(*) FROM customers",
        "UPDATE organizations SET name = 'taken'",
    ],
)
def test_the_application_role_cannot_step_around_the_policies(seeded_url, statement):
    with as_app(seeded_url, ACME) as conn:
        *preparations, attempt = statement.split("; ")
        for preparation in preparations:
            conn.execute(preparation)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(attempt)


async def test_the_server_connects_as_a_role_bound_by_row_level_security(app):
    async with app.state.database.engine.connect() as connection:
        result = await connection.exec_driver_sql(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        assert result.one() == (APP_ROLE, False, False)
    await app.state.database.verify_isolation()


@pytest.mark.parametrize(
    "role, refusal",
    [("", "'postgres' is a superuser"), ("bizgraph_nobody", "BIZGRAPH_DB_ROLE=bizgraph_nobody")],
)
async def test_start_up_refuses_a_role_that_is_not_bound(seeded_url, role, refusal):
    database = Database(replace(Settings.from_env({}), database_url=seeded_url, db_role=role))
    try:
        with pytest.raises(ConfigError, match=refusal):
            await database.verify_isolation()
    finally:
        await database.dispose()


async def test_start_up_finds_the_demo_organization_through_its_definer_function(seeded_url):
    database = Database(replace(Settings.from_env({}), database_url=seeded_url))
    try:
        assert await first_organization_id(database) == ACME
    finally:
        await database.dispose()


@pytest.mark.parametrize(
    "env, role",
    [({}, APP_ROLE), ({"BIZGRAPH_DB_ROLE": ""}, ""), ({"BIZGRAPH_DB_ROLE": " api_reader "}, "api_reader")],
)
def test_the_database_role_setting(env, role):
    assert Settings.from_env(env).db_role == role


def test_a_database_role_that_would_break_the_startup_options_is_refused():
    with pytest.raises(ConfigError, match="BIZGRAPH_DB_ROLE"):
        Settings.from_env({"BIZGRAPH_DB_ROLE": "app -c role=postgres"})
