"""Before measuring: is the workload answered without errors, and does the floor return the same data?"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import orjson

from bench import floor, load
from bench.report import WorkloadResult, progress


def first_difference(a: Any, b: Any, path: str = "data") -> str | None:
    """Where two JSON values first differ, for a readable 'not the same data' message."""
    if type(a) is not type(b):
        return f"{path}: {str(a)[:60]!r} vs {str(b)[:60]!r}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} vs {list(b)}"
        for k in a:
            if found := first_difference(a[k], b[k], f"{path}.{k}"):
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if found := first_difference(x, y, f"{path}[{i}]"):
                return found
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def cap_hint(errors: list[dict]) -> str | None:
    for error in errors:
        if (error.get("extensions") or {}).get("code") == "PAGE_SIZE_EXCEEDED":
            return (
                f"{error.get('message')} — the server caps page sizes; restart it with "
                "BIZGRAPH_MAX_PAGE_SIZE=1000 to run this workload"
            )
    return None


def error_summary(errors: list[dict]) -> str:
    """``FORBIDDEN ×4 (customer.email, customer.phone, …)``: what a principal's answer carried."""
    by_code: dict[str, list[str]] = {}
    for error in errors:
        code = str((error.get("extensions") or {}).get("code") or "no code")
        path = ".".join(str(p) for p in error.get("path") or ()) or "–"
        by_code.setdefault(code, []).append(path)
    return "; ".join(
        f"{code} ×{len(paths)} ({', '.join(paths[:4])}{', …' if len(paths) > 4 else ''})"
        for code, paths in by_code.items()
    )


async def preflight(args: argparse.Namespace, dsn: str, result: WorkloadResult) -> None:
    """One request each way: skip the workload on GraphQL errors; check the floor returns the same data."""
    workload = result.workload
    try:
        status, size, body = await load.post_once(
            args.url, workload.query, workload.variables[0], args.token, args.timeout
        )
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
        raise SystemExit(f"bench: no answer from {args.url} ({error!r}); is the server running?") from None
    errors = body.get("errors") or ([] if status == 200 else [{"message": f"HTTP {status}"}])
    hint = cap_hint(errors)
    if hint or status != 200 or body.get("data") is None:
        # No data at all: nothing worth measuring. Errors next to data (a scoped
        # principal's FORBIDDEN fields) are what that principal gets: measured.
        result.skipped = hint or "GraphQL errors: " + "; ".join(str(e.get("message")) for e in errors)
        progress(f"{workload.key}: SKIPPED — {result.skipped}")
        progress(f"{workload.key}: full errors: {orjson.dumps(errors).decode()}")
        return
    if errors:
        result.answer_errors = error_summary(errors)
        progress(f"{workload.key}: answered with data and errors, measured as is: {result.answer_errors}")
    result.response_bytes = size
    floor_text = floor.fetch(dsn, workload.floor_sql, workload.floor_params[0])
    difference = first_difference(body.get("data"), orjson.loads(floor_text) if floor_text else None)
    result.same_data = "yes" if difference is None else f"NO ({difference})"
    if difference:
        progress(f"{workload.key}: the floor's JSON differs from bizgraph's: {difference}")
