"""The floor: ``POST /floor/{q1..q4}`` runs bizgraph's own floor statement for that workload and answers
``{"data": <its JSON>}``.

The statements are ``bench/workloads.py``'s (one hand-written SQL statement each, building inside
PostgreSQL exactly the JSON bizgraph puts under ``data``), with the first set of parameters, the same
rows ``bench/peers/bodies.py`` puts in bizgraph's request bodies: both are read from the same database
by the same ``load_context``. The request body is read and ignored. Starlette + a psycopg pool in
autocommit, no GraphQL layer: the least a Python server does for the same answer.

Started by ``bench/peers/run.sh up`` from the checkout's root, in the harness's own virtualenv
(``requirements.txt``: uvloop + httptools)::

    BENCH_DSN=... FLOOR_POOL=10 uvicorn bench.peers.floor.app:app --loop uvloop --http httptools
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import workloads

DSN = os.environ["BENCH_DSN"]
# 10 = bizgraph's pool and the peer's default pool: every target gets as many database connections.
POOL_SIZE = int(os.environ.get("FLOOR_POOL", "10"))


def statements() -> dict[str, tuple[str, dict[str, Any]]]:
    context = workloads.load_context(DSN, sample=1000)
    built = workloads.build(list(workloads.ALL), context)
    return {w.key.lower(): (w.floor_sql, w.floor_params[0]) for w in built}


SQL = statements()
# autocommit: a read is one round trip (no implicit BEGIN, no ROLLBACK when the pool takes it back)
pool = AsyncConnectionPool(DSN, min_size=POOL_SIZE, max_size=POOL_SIZE, open=False, kwargs={"autocommit": True})


async def floor(request: Request) -> Response:
    statement = SQL.get(request.path_params["workload"])
    if statement is None:
        return Response(b'{"errors":[{"message":"unknown workload"}]}', 404, media_type="application/json")
    await request.body()
    sql, params = statement
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        row = await cur.fetchone()
    assert row is not None  # every floor statement aggregates: exactly one row
    return Response(b'{"data":' + row[0].encode() + b"}", media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await pool.open(wait=True)
    yield
    await pool.close()


app = Starlette(routes=[Route("/floor/{workload}", floor, methods=["POST"])], lifespan=lifespan)
