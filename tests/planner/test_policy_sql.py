"""Each layer holds on its own: the planner's SQL, run past row-level security,
still returns only the principal's organization and rows, and never fetches a
value the principal may not read (the schema's FORBIDDEN errors are not what
keeps it secret)."""

from __future__ import annotations

import base64

import psycopg
import pytest
from psycopg.rows import tuple_row

from app.auth.principal import Principal
from resolvers.catalog import CATALOG
from resolvers.planner.access import Access
from resolvers.planner.compile import Planner
from resolvers.planner.pagination import PageLimits
from resolvers.planner.selection import FieldSelection
from schema.fastpath import PLANNED_ROOTS
from tests.support.db import conninfo
from tests.support.graphql import sql
from tests.support.webhook_rows import webhooks_of_both_organizations

LIMITS = PageLimits(default=100, maximum=100)


@pytest.fixture(scope="module", autouse=True)
def webhook_rows(seeded_url):
    with webhooks_of_both_organizations(seeded_url):
        yield


def _field(name: str, *children: FieldSelection, **args) -> FieldSelection:
    return FieldSelection(key=name, name=name, args=args, selections=children)


def _run_as_owner(url, plan) -> object:
    """The planner's statement as the owner (a superuser here): no row-level security."""
    with psycopg.connect(conninfo(url), row_factory=tuple_row) as conn:
        assert conn.execute("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        return conn.execute(plan.sql, plan.params).fetchone()[0]


@pytest.mark.parametrize("org_id", [1, 2])
@pytest.mark.parametrize("root", sorted(r for r, (kind, _) in PLANNED_ROOTS.items() if kind == "connection"))
def test_the_planner_alone_keeps_organizations_apart(seeded_url, org_id, root):
    type_name = PLANNED_ROOTS[root][1]
    access = Access(Principal(org_id=org_id, subject="t", roles=frozenset({"admin"})))
    plan = Planner(CATALOG, access, LIMITS).connection(
        type_name, _field(root, _field("nodes", _field("id")), first=100)
    )
    nodes = _run_as_owner(seeded_url, plan)["nodes"]
    pks = [int(base64.b64decode(n["id"]).decode().split(":")[1]) for n in nodes]
    table = CATALOG[type_name].table
    owners = dict(sql(seeded_url, f"SELECT id, org_id FROM {table}"))
    assert pks and {owners[pk] for pk in pks} == {org_id}
    assert len(set(owners.values())) == 2  # the other organization has rows to leak


def test_withheld_values_never_leave_postgresql(seeded_url):
    """An employee's colleagues' salaries are NULL in the statement's own result."""
    me = sql(seeded_url, "SELECT id FROM employees WHERE org_id = 1 ORDER BY id DESC LIMIT 1")[0][0]
    access = Access(Principal(org_id=1, subject="t", roles=frozenset({"employee"}), employee_id=me))
    selection = _field("employees", _field("nodes", _field("id"), _field("salary"), _field("nationalId")), first=100)
    plan = Planner(CATALOG, access, LIMITS).connection("Employee", selection)
    assert plan.restricted
    nodes = _run_as_owner(seeded_url, plan)["nodes"]
    salaries = dict(sql(seeded_url, "SELECT id, salary::text FROM employees WHERE org_id = 1"))
    assert len(nodes) > 10
    for node in nodes:
        pk = int(base64.b64decode(node["id"]).decode().split(":")[1])
        if pk == me:
            assert node["salary"] == salaries[pk] and node["salary!"] is False
        else:
            assert node["salary"] is None and node["nationalId"] is None and node["salary!"] is True


def test_fields_denied_everywhere_are_not_even_in_the_sql(seeded_url):
    access = Access(Principal(org_id=1, subject="t", roles=frozenset({"analyst"})))
    selection = _field("employees", _field("nodes", _field("salary"), _field("email")), first=5)
    plan = Planner(CATALOG, access, LIMITS).connection("Employee", selection)
    assert ".salary" not in plan.sql and ".email" not in plan.sql
