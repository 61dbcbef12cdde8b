"""cProfile of ``createOrder`` (5 lines) in process: ``python -m bench.write_profile [N]``.

Builds the app from this checkout (``create_app``, settings from the environment: the same
``DATABASE_URL`` and ``BIZGRAPH_SIGNING_KEYS`` as a running server of it, which hands out the admin's
token at ``--token-url``), sends N writes (default 500) through ``httpx.ASGITransport`` after 30
unprofiled ones, and prints the functions by cumulative and by own time, and the process CPU per
write without the profiler (a second, unprofiled pass). No socket and no uvicorn: bizgraph's own
path, from the ASGI call to the response body (the client's share is in the CPU figure).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import time
from typing import Any

import httpx

from bench.auth import demo_email, demo_token
from bench.write_cpu import body, sample


async def run(n: int, token: str, profiler: cProfile.Profile | None) -> float:
    """CPU seconds of this process per write (the ASGI client included)."""
    from app.config import Settings
    from app.server import create_app

    settings = Settings.from_env()
    customers, products = sample(os.environ["DATABASE_URL"], "acme")
    rng = random.Random(7)
    app: Any = create_app(settings)
    headers = {"authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers) as client:

            async def one() -> None:
                response = await client.post("/graphql", json=body(rng, customers, products))
                answer = response.json()
                if "errors" in answer or answer["data"]["createOrder"]["errors"]:
                    raise SystemExit(f"write_profile: {response.text[:300]}")

            for _ in range(30):
                await one()
            started = time.process_time()
            if profiler is not None:
                profiler.enable()
            for _ in range(n):
                await one()
            if profiler is not None:
                profiler.disable()
            return (time.process_time() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", nargs="?", type=int, default=500)
    parser.add_argument("--token-url", default="http://127.0.0.1:8790/graphql")
    parser.add_argument("--out", default=os.environ.get("TMPDIR", "/tmp") + "/create_order.cprofile")
    parser.add_argument("--lines", type=int, default=35, help="rows of each listing")
    args = parser.parse_args()
    token = demo_token(args.token_url, demo_email("admin", "acme"))
    plain = asyncio.run(run(args.n, token, None))
    profiler = cProfile.Profile()
    asyncio.run(run(args.n, token, profiler))
    profiler.dump_stats(args.out)
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(args.lines)
        print(f"== by {order} ==\n{text.getvalue()}")
    print(f"process CPU without the profiler: {1000 * plain:.3f} ms/write (ASGI client included); raw: {args.out}")


if __name__ == "__main__":
    main()
