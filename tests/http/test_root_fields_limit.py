"""An operation selects at most ``BIZGRAPH_MAX_ROOT_FIELDS`` root fields (default 20).

Each root field is a statement (or a command) of its own: ten thousand root
aliases of ``customers`` once ran ten thousand statements in one request. Over
the limit, the document is refused while it is validated, before any SQL, on
the fast path and the standard way alike.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.config import Settings
from app.errors import ConfigError
from tests.support.graphql import count_statements, data, error_codes, gql, running_app

DEFAULT = Settings().max_root_fields


def aliased(count: int, field: str = "customers(first: 1) { nodes { id } }", start: int = 0) -> str:
    return " ".join(f"r{i}: {field}" for i in range(start, start + count))


async def refused(app, client, query: str, variables: dict | None = None) -> dict:
    """The response to ``query``, which must be refused for its root fields before any SQL."""
    with count_statements(app) as statements:
        body = await gql(client, query, variables)
    assert error_codes(body) == ["TOO_MANY_ROOT_FIELDS"], body
    assert not body.get("data")
    assert statements == []
    return body


async def test_the_default_allows_twenty_root_fields_and_refuses_the_twenty_first(app, client):
    assert DEFAULT == 20
    answered = await data(client, f"{{ {aliased(DEFAULT)} }}")
    assert len(answered) == DEFAULT
    body = await refused(app, client, f"{{ {aliased(DEFAULT + 1)} }}")
    message = body["errors"][0]["message"]
    assert "20" in message and "BIZGRAPH_MAX_ROOT_FIELDS" in message


async def test_ten_thousand_aliases_run_no_statement(app, client):
    await refused(app, client, f"{{ {aliased(10_000)} }}")


async def test_fields_that_are_not_planned_count_too(app, client):
    """``me`` is answered the standard way, field by field: the same limit applies."""
    me = "me { organization { name } }"
    assert len(await data(client, f"{{ {aliased(DEFAULT, me)} }}")) == DEFAULT
    await refused(app, client, f"{{ {aliased(DEFAULT + 1, me)} }}")


async def test_fragments_count_where_they_are_spread(app, client):
    fragment = f"fragment Reads on Query {{ {aliased(11, start=100)} }}"
    inline = f"... on Query {{ {aliased(5, start=200)} }}"
    await refused(app, client, f"{{ {aliased(5)} ...Reads {inline} }} {fragment}")
    # The same fragment spread twice selects the same response keys: it counts once.
    assert len(await data(client, f"{{ {aliased(4)} ...Reads ...Reads {inline} }} {fragment}")) == 20


async def test_one_response_key_selected_twice_is_one_field(client):
    query = "{ " + " ".join(["customers(first: 1) { nodes { id } } customers(first: 1) { nodes { name } }"] * 15) + " }"
    assert list(await data(client, query)) == ["customers"]


async def test_a_literal_skip_or_include_leaves_fields_out_of_the_count(app, client):
    left_out = (
        "s: customers(first: 1) @skip(if: true) { nodes { id } }"
        " i: orders(first: 1) @include(if: false) { nodes { id } }"
    )
    assert len(await data(client, f"{{ {aliased(DEFAULT)} {left_out} }}")) == DEFAULT
    kept = "s: customers(first: 1) @skip(if: false) { nodes { id } }"
    await refused(app, client, f"{{ {aliased(DEFAULT)} {kept} }}")


@pytest.mark.parametrize("include", [True, False])
async def test_a_field_whose_inclusion_depends_on_a_variable_counts(app, client, include):
    """Validation runs before the variables are known (and is cached for every set of
    them): a field that may run counts, whatever this request's values."""
    query = (
        f"query($on: Boolean!) {{ {aliased(DEFAULT)} extra: orders(first: 1) @include(if: $on) {{ nodes {{ id }} }} }}"
    )
    await refused(app, client, query, {"on": include})


async def test_the_limit_is_configurable(demo_settings, admin_headers):
    async with running_app(replace(demo_settings, max_root_fields=2), admin_headers) as (app, http):
        assert len(await data(http, f"{{ {aliased(2)} }}")) == 2
        body = await refused(app, http, f"{{ {aliased(3)} }}")
    assert "more than 2 root fields" in body["errors"][0]["message"]


def test_the_setting_is_read_from_the_environment():
    assert Settings.from_env({"BIZGRAPH_MAX_ROOT_FIELDS": "5"}).max_root_fields == 5
    with pytest.raises(ConfigError, match="BIZGRAPH_MAX_ROOT_FIELDS"):
        Settings.from_env({"BIZGRAPH_MAX_ROOT_FIELDS": "0"})
