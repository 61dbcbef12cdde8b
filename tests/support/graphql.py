"""Helpers for tests that speak GraphQL over HTTP and check answers with SQL."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
from sqlalchemy import event

from tests.support.db import conninfo

# ``token=`` left out: the client's own Authorization (the ``client`` fixture sends
# the acme admin's token).
CLIENT_TOKEN: Any = object()


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *, token: str | None = CLIENT_TOKEN
) -> dict[str, Any]:
    """POST a document; return the whole response body (data and errors).

    ``token`` replaces the client's bearer token for this request; ``None`` sends none."""
    request = client.build_request("POST", "/graphql", json={"query": query, "variables": variables or {}})
    if token is None:
        request.headers.pop("Authorization", None)
    elif token is not CLIENT_TOKEN:
        request.headers["Authorization"] = f"Bearer {token}"
    response = await client.send(request)
    assert response.status_code == 200, response.text
    return response.json()


async def data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *, token: str | None = CLIENT_TOKEN
) -> dict[str, Any]:
    """POST a document that must succeed; return its data."""
    body = await gql(client, query, variables, token=token)
    assert "errors" not in body, body["errors"]
    return body["data"]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def sql(url, query: str, *params: Any) -> list[tuple]:
    with psycopg.connect(conninfo(url)) as conn:
        return conn.execute(query, params).fetchall()


@contextlib.contextmanager
def count_statements(app) -> Iterator[list[str]]:
    """Every statement the app sends to PostgreSQL while the block runs."""
    engine = app.state.database.engine.sync_engine
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextlib.asynccontextmanager
async def running_app(settings, headers: dict[str, str] | None = None, **app_options: Any):
    """The ASGI app for ``settings`` with its lifespan running, and a client of it
    (sending ``headers`` with every request); ``app_options`` go to ``create_app`` (a clock)."""
    from app.server import create_app

    application = create_app(settings, **app_options)
    lifespan = application.router.lifespan_context(application)
    await lifespan.__aenter__()
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://bizgraph.test", headers=headers) as http:
            yield application, http
    finally:
        await _shut_down(lifespan)


# Longer than any shutdown step may take (the drain's grace, a pool's close): past it, the app's
# shutdown is stuck, and the tasks' stacks say where (a shutdown of the read-replica tests once
# waited until the suite's 300 s timeout, with nothing to show but the idle event loop).
SHUTDOWN_LIMIT_SECONDS = 60


async def _shut_down(lifespan: Any) -> None:
    try:
        async with asyncio.timeout(SHUTDOWN_LIMIT_SECONDS):
            await lifespan.__aexit__(None, None, None)
    except TimeoutError:
        for task in asyncio.all_tasks():
            print(f"--- {task.get_name()}", file=sys.stderr)
            task.print_stack(file=sys.stderr)
        raise
