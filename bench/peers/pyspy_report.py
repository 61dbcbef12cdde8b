"""What a py-spy profile of bizgraph says: ``python -m bench.peers.pyspy_report prof/q1.raw``.

Reads py-spy's raw (collapsed) stacks and prints three views: each sample attributed once to the
innermost bizgraph-relevant layer on its stack; self time by the package of the leaf frame and the
top leaf functions; and the inclusive share of stacks through selected frames. ``profile.sh`` runs it.
The layer needles are path fragments; a layer that moved shows up under "other", never twice.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

# Checked leaf-first: the first needle found on the stack, scanning from the leaf upward, names the layer.
LAYERS = [
    ("orjson.loads of PostgreSQL's JSON (app/db.py)", "_orjson_loads"),
    ("orjson.dumps of the response", "encode_json"),
    ("psycopg driver (pipeline, cursor, adapters, waiting)", "psycopg/"),
    ("SQLAlchemy (pool checkout/return, events, greenlet bridge)", "sqlalchemy/"),
    ("planner: SQL compile (resolvers/planner)", "resolvers/planner"),
    ("selection reading / access (schema/selection)", "schema/selection"),
    ("bizgraph reads/transaction glue (resolvers/)", "resolvers/"),
    ("graphql-core (variables coercion, cached parse/validate)", "graphql/"),
    ("fast path glue (schema/fastpath.py)", "fastpath.py"),
    ("bizgraph schema/context (schema/)", "schema/"),
    ("bizgraph HTTP layer (app/http/)", "app/http/"),
    ("auth (app/auth/)", "app/auth/"),
    ("strawberry HTTP view", "strawberry/"),
    ("starlette routing/responses", "starlette/"),
    ("uvicorn (protocols, ASGI glue)", "uvicorn/"),
    ("h11 (HTTP/1.1 parser)", "h11/"),
    ("asyncio event loop / transports", "asyncio/"),
]
INCLUSIVE = {
    "uvicorn HTTP protocol (parse/write)": "uvicorn/protocols",
    "h11 library": "h11/",
    "starlette": "starlette/",
    "bizgraph HTTP layer (app/http/)": "app/http/",
    "strawberry": "strawberry/",
    "  fast path (schema/fastpath.py)": "fastpath.py",
    "    planner (resolvers/planner)": "resolvers/planner",
    "    psycopg (driver)": "psycopg/",
    "    sqlalchemy": "sqlalchemy/",
    "    orjson.loads of PostgreSQL's JSON": "_orjson_loads",
    "  orjson.dumps of the response": "encode_json",
    "graphql-core": "graphql/",
    "asyncio event loop (base_events)": "asyncio/base_events",
}
Stacks = list[tuple[list[str], int]]


def read(path: str) -> Stacks:
    stacks = []
    with open(path) as f:
        for line in f:
            if line := line.rstrip("\n"):
                frames, n = line.rsplit(" ", 1)
                stacks.append((frames.split(";"), int(n)))
    return stacks


def package(frame: str) -> str:
    m = re.search(r"\((.*?)(?::\d+)?\)$", frame)
    path = m.group(1) if m else frame
    if "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0].replace(".py", "")
    if m := re.search(r"/lib/python3\.\d+/(.*)", path):
        return "stdlib:" + m.group(1).split("/")[0].replace(".py", "")
    return path  # py-spy usually prints paths relative to sys.path already (e.g. psycopg/waiting.py)


def share(n: int, total: int) -> str:
    return f"{100 * n / total:5.1f}%"


def report(stacks: Stacks) -> None:
    total = sum(n for _, n in stacks) or 1
    layers: Counter[str] = Counter()
    for frames, n in stacks:
        label = next(
            (lab for f in reversed(frames) for lab, needle in LAYERS if needle in f), "other (stdlib, selectors, ...)"
        )
        layers[label] += n
    print(f"{total} samples\n\ninnermost layer:")
    for label, n in layers.most_common():
        print(f"  {share(n, total)}  {label}")
    by_package: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    for frames, n in stacks:
        by_package[package(frames[-1])] += n
        by_function[re.sub(r":\d+\)$", ")", frames[-1])] += n
    print("\nself time by package of the leaf frame:")
    for name, n in by_package.most_common(25):
        print(f"  {share(n, total)}  {name}")
    print("\ntop leaf functions:")
    for name, n in by_function.most_common(25):
        print(f"  {share(n, total)}  {name}")
    print("\ninclusive share of stacks containing:")
    for label, needle in INCLUSIVE.items():
        print(f"  {share(sum(n for frames, n in stacks if any(needle in f for f in frames)), total)}  {label}")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.peers.pyspy_report PROFILE.raw")
    report(read(sys.argv[1]))


if __name__ == "__main__":
    main()
