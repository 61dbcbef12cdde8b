"""cProfile of one request path, in process: ``bash bench/peers/run.sh cprofile [QN] [N]``.

Builds bizgraph's ASGI app from this checkout (``create_app``, the bench database, the bench's signing
key and issuer: ``run.sh`` passes the same environment as the server's), sends the workload's request
body (default q1) with the admin token N times (default 2000) through ``httpx.ASGITransport`` after 50
unprofiled warm-up requests, and prints the functions by cumulative and by own time. The raw profile
goes to ``$PEERS_SCRATCH/prof/QN.cprofile`` (``python -m pstats`` or snakeviz read it).

No socket, no uvicorn: what remains is bizgraph's own path, from the ASGI call to the response body
(middleware, token check, context, parse/validate caches, planning, pool, driver, encoding). The py-spy
profile (``run.sh profile``) is the one that sees the HTTP server; the two together split the time.
cProfile's own overhead inflates many small calls more than few large ones: compare shares between runs
of this recipe, not with wall-clock timings.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import sys
import time
from typing import Any

import httpx

from bench.peers.common import SCRATCH, TOKENS, body_file

WARMUP = 50


async def profile(workload: str, n: int) -> cProfile.Profile:
    from app.config import Settings
    from app.server import create_app

    app: Any = create_app(Settings.from_env())
    body = body_file("bizgraph", workload).read_bytes()
    headers = {
        "content-type": "application/json",
        "authorization": "Bearer " + (TOKENS / "admin.jwt").read_text().strip(),
    }
    profiler = cProfile.Profile()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:

            async def one() -> None:
                response = await client.post("/graphql", content=body, headers=headers)
                if response.status_code != 200 or b'"errors"' in response.content:
                    sys.exit(f"cprofile: {workload} answered HTTP {response.status_code}: {response.content[:300]!r}")

            for _ in range(WARMUP):
                await one()
            started = time.perf_counter()
            profiler.enable()
            for _ in range(n):
                await one()
            profiler.disable()
            elapsed = time.perf_counter() - started
    print(f"{workload}: {n} requests in {elapsed:.2f} s under cProfile ({1000 * elapsed / n:.3f} ms each)\n")
    return profiler


def main() -> None:
    args = sys.argv[1:]
    workload = (args[0] if args else "q1").lower()
    n = int(args[1]) if len(args) > 1 else 2000
    if workload not in ("q1", "q2", "q3", "q4") or n < 1 or len(args) > 2:
        sys.exit("usage: run.sh cprofile [q1|q2|q3|q4] [N]")
    profiler = asyncio.run(profile(workload, n))
    out = SCRATCH / "prof"
    out.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(out / f"{workload}.cprofile")
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(30)
        print(f"== by {order} ==\n{text.getvalue()}")
    print(f"raw profile: {out / f'{workload}.cprofile'}")


if __name__ == "__main__":
    main()
