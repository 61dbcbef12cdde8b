"""An operation selects at most ``BIZGRAPH_MAX_ROOT_FIELDS`` root fields (default 50).

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
LIMIT = 5  # the limit of the app most tests here run against
# Root fields are mostly aliases: the other document limits are raised there, so this one decides alone.
OTHER_LIMITS_RAISED = {"max_aliases": 100_000, "max_tokens": 1_000_000, "max_document_bytes": 1_000_000}


@pytest.fixture(scope="module")
async def limited(demo_settings, admin_headers):
    settings = replace(demo_settings, max_root_fields=LIMIT, **OTHER_LIMITS_RAISED)
    async with running_app(settings, admin_headers) as pair:
        yield pair


def aliased(count: int, field: str = "customers(first: 1) { nodes { id } }", start: int = 0) -> str:
    return " ".join(f"r{i}: {field}" for i in range(start, start + count))


async def answered(pair, query: str, variables: dict | None = None) -> dict:
    return await data(pair[1], query, variables)


async def refused(pair, query: str, variables: dict | None = None) -> dict:
    """The response to ``query``, which must be refused for its root fields before any SQL."""
    app, client = pair
    with count_statements(app) as statements:
        body = await gql(client, query, variables)
    assert error_codes(body) == ["TOO_MANY_ROOT_FIELDS"], body
    assert not body.get("data")
    assert statements == []
    return body


async def test_the_default_allows_a_page_of_root_fields_and_refuses_one_more(app, client):
    """50, the default page size: a page of objects looked up by ID fits in one document
    (its aliases are within their own limit, which is 50 too)."""
    assert DEFAULT == 50
    assert len(await data(client, f"{{ {aliased(DEFAULT)} }}")) == DEFAULT
    body = await refused((app, client), f"{{ customers(first: 1) {{ totalCount }} {aliased(DEFAULT)} }}")
    assert body["errors"][0]["message"] == (
        "The operation selects more than 50 root fields; the limit is 50 (BIZGRAPH_MAX_ROOT_FIELDS)."
    )


async def test_ten_thousand_aliases_run_no_statement(limited):
    body = await refused(limited, f"{{ {aliased(10_000)} }}")
    assert "more than 5 root fields; the limit is 5 (BIZGRAPH_MAX_ROOT_FIELDS)" in body["errors"][0]["message"]


async def test_planned_and_unplanned_fields_count_alike(limited):
    """``me`` is answered the standard way, field by field; ``customers`` the fast way."""
    for field in ("me { organization { name } }", "customers(first: 1) { nodes { id } }"):
        assert len(await answered(limited, f"{{ {aliased(LIMIT, field)} }}")) == LIMIT
        await refused(limited, f"{{ {aliased(LIMIT + 1, field)} }}")


async def test_fragments_count_where_they_are_spread(limited):
    fragment = f"fragment Reads on Query {{ {aliased(2, start=100)} }}"
    inline = f"... on Query {{ {aliased(2, start=200)} }}"
    await refused(limited, f"{{ {aliased(2)} ...Reads {inline} }} {fragment}")
    # The same fragment spread twice selects the same response keys: it counts once.
    assert len(await answered(limited, f"{{ {aliased(1)} ...Reads ...Reads {inline} }} {fragment}")) == LIMIT


async def test_one_response_key_selected_twice_is_one_field(limited):
    query = "{ " + " ".join(["customers(first: 1) { nodes { id } } customers(first: 1) { nodes { name } }"] * 4) + " }"
    assert list(await answered(limited, query)) == ["customers"]


async def test_a_literal_skip_or_include_leaves_fields_out_of_the_count(limited):
    left_out = (
        "s: customers(first: 1) @skip(if: true) { nodes { id } }"
        " i: orders(first: 1) @include(if: false) { nodes { id } }"
    )
    assert len(await answered(limited, f"{{ {aliased(LIMIT)} {left_out} }}")) == LIMIT
    kept = "s: customers(first: 1) @skip(if: false) { nodes { id } }"
    await refused(limited, f"{{ {aliased(LIMIT)} {kept} }}")


@pytest.mark.parametrize("include", [True, False])
async def test_a_field_whose_inclusion_depends_on_a_variable_counts(limited, include):
    """Validation runs before the variables are known (and is cached for every set of
    them): a field that may run counts, whatever this request's values."""
    query = (
        f"query($on: Boolean!) {{ {aliased(LIMIT)} extra: orders(first: 1) @include(if: $on) {{ nodes {{ id }} }} }}"
    )
    await refused(limited, query, {"on": include})


def test_the_setting_is_read_from_the_environment():
    assert Settings.from_env({"BIZGRAPH_MAX_ROOT_FIELDS": "5"}).max_root_fields == 5
    with pytest.raises(ConfigError, match="BIZGRAPH_MAX_ROOT_FIELDS"):
        Settings.from_env({"BIZGRAPH_MAX_ROOT_FIELDS": "0"})
