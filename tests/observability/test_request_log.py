"""One structured log line per GraphQL request, through real HTTP round trips: its fields,
nothing personal in it, the slow-query line with its SQL, and text on a terminal."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import replace

import orjson
import pytest

from app.logs import JsonFormatter, TextFormatter, configure_logging
from tests.support.graphql import running_app

SECRET = "needle-4711-private"
QUERY = "query LoggedCustomers($q: String) { customers(first: 2, filter: {name: {neq: $q}}) { totalCount } }"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What bizgraph's request and slow-query loggers write, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger("bizgraph.request"), logging.getLogger("bizgraph.slow_query")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def lines(stream: io.StringIO) -> list[dict]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


async def test_one_json_line_per_request_with_its_fields_and_nothing_personal(demo_settings, admin_headers, json_lines):
    async with running_app(replace(demo_settings, slow_query_ms=0), admin_headers) as (_, client):
        response = await client.post("/graphql", json={"query": QUERY, "variables": {"q": SECRET}})
        assert response.status_code == 200 and "errors" not in response.json()
        refused = await client.post("/graphql", json={"query": "{ nope }", "variables": {"q": SECRET}})
    request_id = response.headers["x-request-id"]
    written = lines(json_lines)
    assert [line["logger"] for line in written] == ["bizgraph.request", "bizgraph.request"]
    ok, bad = written
    assert ok["request_id"] == request_id
    assert ok["operation_name"] == "LoggedCustomers" and ok["operation_type"] == "query"
    assert ok["outcome"] == "ok" and ok["status"] == 200
    assert ok["subject"] and "admin" in ok["roles"]
    assert ok["statements"] >= 1 and ok["duration_ms"] > 0
    assert ok["cost"] == response.json()["extensions"]["cost"]["requested"]
    assert bad["outcome"] == "refused" and bad["error_codes"] and bad["request_id"] == refused.headers["x-request-id"]
    # No variables, no token: neither the value sent nor the bearer appears anywhere.
    text = json_lines.getvalue()
    assert "variables" not in ok
    assert SECRET not in text
    assert admin_headers["Authorization"].removeprefix("Bearer ") not in text


async def test_the_debug_setting_logs_variables(demo_settings, admin_headers, json_lines):
    async with running_app(replace(demo_settings, log_variables=True), admin_headers) as (_, client):
        await client.post("/graphql", json={"query": QUERY, "variables": {"q": SECRET}})
    (line,) = lines(json_lines)
    assert line["variables"] == {"q": SECRET}
    assert "Bearer" not in json_lines.getvalue()


async def test_a_slow_operation_is_logged_with_its_sql(demo_settings, admin_headers, json_lines):
    async with running_app(replace(demo_settings, slow_query_ms=1), admin_headers) as (_, client):
        # Two root fields: two statements, in one snapshot.
        query = "query TwoRoots { a: customers(first: 1) { totalCount } b: products(first: 1) { totalCount } }"
        response = await client.post("/graphql", json={"query": query})
        assert response.status_code == 200 and "errors" not in response.json()
    written = lines(json_lines)
    slow = [line for line in written if line["logger"] == "bizgraph.slow_query"]
    assert len(slow) == 1
    (line,) = slow
    assert line["level"] == "warning" and line["operation_name"] == "TwoRoots"
    assert line["duration_ms"] >= 1
    assert any("customers" in sql for sql in line["sql"]) and any("products" in sql for sql in line["sql"])


async def test_a_fast_operation_under_the_threshold_is_not_slow(demo_settings, admin_headers, json_lines):
    async with running_app(replace(demo_settings, slow_query_ms=60_000), admin_headers) as (_, client):
        await client.post("/graphql", json={"query": "{ customers(first: 1) { totalCount } }"})
    assert [line["logger"] for line in lines(json_lines)] == ["bizgraph.request"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_on_a_terminal_and_json_elsewhere() -> None:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    try:
        configure_logging("INFO", "auto", _Terminal(), force=True)
        assert isinstance(root.handlers[-1].formatter, TextFormatter)
        configure_logging("INFO", "auto", io.StringIO(), force=True)
        assert isinstance(root.handlers[-1].formatter, JsonFormatter)
        configure_logging("INFO", "text", io.StringIO(), force=True)
        assert isinstance(root.handlers[-1].formatter, TextFormatter)
        # Handlers already there (here, the last one) stay unless forced, as with basicConfig.
        configure_logging("INFO", "json", io.StringIO())
        assert isinstance(root.handlers[-1].formatter, TextFormatter)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(level)
    record = logging.LogRecord("bizgraph.request", logging.INFO, "", 0, "graphql request", None, None)
    record.fields = {"request_id": "r1", "roles": ["admin", "sales"], "statements": 2}
    assert TextFormatter().format(record).endswith("graphql request request_id=r1 roles=admin,sales statements=2")


async def test_slow_lines_are_capped_per_second_and_the_next_says_how_many_were_left_out(
    demo_settings, admin_headers, json_lines
):
    """Under overload every operation is slow: at most 20 slow lines a second, every request
    still has its request line, and the first slow line of the next second counts the rest."""
    async with running_app(replace(demo_settings, slow_query_ms=1), admin_headers) as (app, client):
        clock = iter([1000.0] * 25 + [1001.5] * 2)
        observer = next(route.endpoint for route in app.routes if getattr(route, "path", "") == "/graphql").observer
        observer.slow_lines.clock = lambda: next(clock)
        start = observer.start

        def overloaded(*args, **kwargs):
            record = start(*args, **kwargs)
            record.started -= 2.0  # as if it had waited two seconds for the loop: slow
            return record

        observer.start = overloaded
        for _ in range(27):
            response = await client.post("/graphql", json={"query": "{ customers(first: 1) { totalCount } }"})
            assert response.status_code == 200
    written = lines(json_lines)
    assert sum(line["logger"] == "bizgraph.request" for line in written) == 27
    slow = [line for line in written if line["logger"] == "bizgraph.slow_query"]
    assert len(slow) == 22
    assert all("slow_lines_left_out" not in line for line in slow[:20] + slow[21:])
    assert slow[20]["slow_lines_left_out"] == 5
