"""CPU per request of the lean path alone, in process: ``bash bench/peers/run.sh lean-cpu [QN] [N] [ROUNDS]``.

Builds bizgraph's app from this checkout on the bench database (as ``cprofile`` does), then calls the
lean path's ``take`` and ``answer`` (``app/http/lean_queries.py``) for the workload's body with the
admin token, from 16 tasks at once on uvloop, N requests a round, and prints the process's CPU per
request (``time.process_time``) of each round: no socket, no HTTP parsing, no profiler. Twice: with
the database, and with the reads' exchange stubbed (its last answer handed back at once), which
leaves the request's own framework: token check, kept plan, admission, scope, fast path, record,
encoding. The difference is what the exchange costs the process (its round trip included).

Run it pinned away from PostgreSQL (``run.sh`` pins it to the load core) and compare rounds of one
run, or two checkouts run back to back (``BIZGRAPH_ROOT``); never with wrk's figures.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Any

from bench.peers.common import TOKENS, body_file

TASKS = 16
WARMUP = 300


async def measure(workload: str, n: int, rounds: int) -> None:
    import resolvers.transaction as transaction
    from app.config import Settings
    from app.server import create_app

    app: Any = create_app(Settings.from_env())
    body = body_file("bizgraph", workload).read_bytes()
    token = (TOKENS / "admin.jwt").read_text().strip()
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", b"Bearer " + token.encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def deliver(status: int, _: list[tuple[bytes, bytes]], payload: bytes) -> None:
        if status != 200 or b'"errors"' in payload:
            sys.exit(f"lean-cpu: {workload} answered {status}: {payload[:300]!r}")

    async with app.router.lifespan_context(app):
        lean = app.state.lean_path

        async def one() -> None:
            scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": list(headers), "state": {}}
            scope["app"] = app
            eligible = lean.eligible(scope)
            taken = await lean.take(scope, body, eligible)
            if eligible is None or taken is None:
                sys.exit(f"lean-cpu: the lean path does not take {workload}")
            await lean.answer(scope, eligible, taken, deliver)

        async def rounds_of(label: str) -> None:
            for _ in range(WARMUP):
                await one()
            each = []
            for _ in range(rounds):
                started = time.process_time()
                await asyncio.gather(*(_many(one, n // TASKS) for _ in range(TASKS)))
                each.append(1e6 * (time.process_time() - started) / (n // TASKS * TASKS))
            shown = " ".join(f"{value:.1f}" for value in sorted(each))
            print(f"{workload} {label:28s} CPU us per request: {shown}  (median {statistics.median(each):.1f})")

        await rounds_of("with the database")
        real = transaction.exchange
        answers: list[Any] = []

        async def remembered(*args: Any, **kwargs: Any) -> Any:
            answers.append(await real(*args, **kwargs))
            return answers[-1]

        setattr(transaction, "exchange", remembered)  # noqa: B010 - swapped for the measurement
        await one()

        async def stubbed(*_: Any, **__: Any) -> Any:
            return answers[-1]

        setattr(transaction, "exchange", stubbed)  # noqa: B010
        try:
            await rounds_of("the exchange stubbed")
        finally:
            setattr(transaction, "exchange", real)  # noqa: B010


async def _many(one: Any, count: int) -> None:
    for _ in range(count):
        await one()


def main() -> None:
    args = sys.argv[1:]
    workload = (args[0] if args else "q1").lower()
    n = int(args[1]) if len(args) > 1 else 4800
    rounds = int(args[2]) if len(args) > 2 else 5
    if workload not in ("q1", "q2", "q3", "q4") or n < TASKS or rounds < 1 or len(args) > 3:
        sys.exit("usage: run.sh lean-cpu [q1|q2|q3|q4] [N] [ROUNDS]")
    import uvloop

    uvloop.run(measure(workload, n, rounds))


if __name__ == "__main__":
    main()
