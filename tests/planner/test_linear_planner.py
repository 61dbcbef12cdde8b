"""The planner's SQL costs PostgreSQL work linear in the selection.

A chain ``customers → orders → customer → orders …`` with ``first: 1`` at every
level once cost twice as much per level: each connection read one row more
than its page (to answer ``hasNextPage``) and built that row's nested selection
too, in PostgreSQL's plan if not always in its execution. The plan's estimated
cost doubled per level, and with it everything that follows the estimate (JIT
compilation alone took seconds from about ten levels on).

The work is read from PostgreSQL itself, never from a clock: ``EXPLAIN`` of the
very statement the planner sent for the request, with its parameters.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import fields, replace
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from app.config import Settings
from tests.support.db import conninfo
from tests.support.graphql import data, running_app

# Each level selects everything a connection can answer (nodes, edges, cursors,
# pageInfo), so every part of the connection SQL is measured.
FULL_LEVEL = (
    "orders(first: 1) {{ pageInfo {{ hasNextPage hasPreviousPage endCursor }}"
    " edges {{ cursor node {{ number customer {{ {inner} }} }} }} nodes {{ number }} }}"
)
# The chain as an attacker writes it, shallow enough per level to parse 50 deep.
LEAN_LEVEL = "orders(first: 1) {{ pageInfo {{ hasNextPage }} nodes {{ customer {{ {inner} }} }} }}"


def chain(depth: int, level: str) -> str:
    inner = "id name"
    for _ in range(depth):
        inner = level.format(inner=inner)
    return f"{{ customers(first: 1) {{ pageInfo {{ hasNextPage }} nodes {{ {inner} }} }} }}"


# Deep documents are what this module is about: a depth limit, where the build has
# one, is raised so that the chains reach the planner.
DEEP_ENOUGH = {"max_depth": 1000}


@pytest.fixture(scope="module")
async def deep(demo_settings, admin_headers):
    """An app (and its client) that accepts documents as deep as the chains here."""
    known = {setting.name for setting in fields(Settings)}
    settings = replace(demo_settings, **{name: value for name, value in DEEP_ENOUGH.items() if name in known})
    async with running_app(settings, admin_headers) as pair:
        yield pair


@contextlib.contextmanager
def sent_statements(app) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the app sends while the block runs, with its parameters."""
    engine = app.state.database.engine.sync_engine
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def rows_touched(plan: dict[str, Any]) -> float:
    """Rows every node of an executed plan produced, over all its loops."""
    return sum(node["Actual Rows"] * node["Actual Loops"] for node in _nodes(plan))


async def explained(deep, demo_settings, depth: int, level: str = FULL_LEVEL) -> dict[str, Any]:
    """PostgreSQL's executed plan of the one statement that answers the chain."""
    app, client = deep
    with sent_statements(app) as statements:
        result = await data(client, chain(depth, level))
    assert len(result["customers"]["nodes"]) == 1
    [(statement, parameters)] = statements
    with psycopg.connect(conninfo(demo_settings.database_url)) as conn:
        # JIT changes timings, never the plan's cost or rows; off, the test stays quick.
        conn.execute("SET jit = off")
        row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).fetchone()
    assert row is not None
    document = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return document[0]["Plan"]


DEPTHS = (1, 2, 4, 8, 16)


async def test_nested_first_one_chain_costs_linear_in_its_depth(deep, demo_settings):
    plans = {depth: await explained(deep, demo_settings, depth) for depth in DEPTHS}
    estimated = {depth: plan["Total Cost"] for depth, plan in plans.items()}
    touched = {depth: rows_touched(plan) for depth, plan in plans.items()}
    for depth in DEPTHS[:-1]:
        # Twice the levels, about twice the work, not twice the work per level. (The
        # rows executed were linear before too; the estimate, and JIT with it, were not.)
        assert estimated[2 * depth] <= 2.2 * estimated[depth], estimated
        assert touched[2 * depth] <= 2.2 * touched[depth] + 10, touched


async def test_fifty_levels_cost_about_fifty_times_one(deep, demo_settings):
    one, two, fifty = [await explained(deep, demo_settings, depth, LEAN_LEVEL) for depth in (1, 2, 50)]
    per_level = two["Total Cost"] - one["Total Cost"]
    assert per_level > 0
    assert fifty["Total Cost"] <= one["Total Cost"] + 49 * per_level * 1.1


@pytest.mark.parametrize(
    "selection",
    ["pageInfo { hasNextPage hasPreviousPage }", "pageInfo { hasNextPage hasPreviousPage endCursor } nodes { number }"],
)
async def test_more_rows_are_known_without_reading_them(client, selection):
    """``hasNextPage`` (and, paging backwards, ``hasPreviousPage``) is true exactly when
    rows remain beyond the page, at the boundary and below it, with or without the page's rows."""
    counted = await data(client, "{ customers(first: 3) { nodes { id orders { totalCount } } } }")
    for customer in counted["customers"]["nodes"]:
        total = customer["orders"]["totalCount"]
        for size in sorted({0, 1, total - 1, total, total + 1} - {-1}):
            query = (
                "query($id: ID!, $n: Int!) { customer(id: $id) {"
                f" forward: orders(first: $n) {{ {selection} }} backward: orders(last: $n) {{ {selection} }} }} }}"
            )
            answer = (await data(client, query, {"id": customer["id"], "n": size}))["customer"]
            assert answer["forward"]["pageInfo"]["hasNextPage"] is (total > size)
            assert answer["forward"]["pageInfo"]["hasPreviousPage"] is False
            assert answer["backward"]["pageInfo"]["hasPreviousPage"] is (total > size)
            assert answer["backward"]["pageInfo"]["hasNextPage"] is False
