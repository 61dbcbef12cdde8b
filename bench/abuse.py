"""Abuse replay: what an attacker with an ordinary token does to everyone else.

Against one running server, each case sends its attack (a deep `first: 1` chain, thousands
of root aliases, a 100k-token document, a 50 MB body, distinct 5 MB documents, guessed
passwords) while a probe user runs a small query every 200 ms. It reports, per case, the
probe's latency (p50 / p99 / max) during the attack, the probe's failures, the attacker's
answers (HTTP status and error code, counted) and how long the attacker's requests took,
and the server's resident memory before and after when its process can be found.

Targets (issue "safe at the edge"): the probe's p99 under 100 ms while any single attacker
runs, under 250 ms with twelve at once; every attacker answer a coded refusal, never a 500.

    .venv/bin/python -m bench.abuse --url http://127.0.0.1:8765/graphql [--cases deep,aliases] [--seconds 10]

The server must be a demo (or have the demo users): the probe signs in as the admin, the
attackers as the sales user of the same organization. Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from bench import auth, machine
from bench.load import check_loopback
from bench.run import code_version

PROBE_QUERY = "{ customers(first: 5) { nodes { id name } } }"
PROBE_EVERY = 0.2


@dataclass
class Attack:
    """One kind of abusive request: how many attackers send it, and how to send one."""

    name: str
    description: str
    attackers: int
    send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@dataclass
class CaseResult:
    attack: Attack
    probe_ms: list[float] = field(default_factory=list)
    probe_failures: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    attack_ms: list[float] = field(default_factory=list)
    rss_before: int | None = None
    rss_after: int | None = None


def chain(depth: int) -> str:
    """customer → orders → customer → … ``depth`` relations deep, ``first: 1`` and ``hasNextPage``
    at every list (the shape whose estimated cost used to double per level)."""
    inner = "id"
    for level in reversed(range(depth)):
        # Level 0 hangs off the root customer, so even levels are orders and odd ones customers.
        inner = (
            f"orders(first: 1) {{ pageInfo {{ hasNextPage }} nodes {{ id {inner} }} }}"
            if level % 2 == 0
            else f"customer {{ id {inner} }}"
        )
    return f"{{ customers(first: 1) {{ nodes {{ id {inner} }} }} }}"


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: customers(first: 100) {{ nodes {{ id }} }}" for i in range(count)) + " }"


def many_tokens(count: int, n: int) -> str:
    # Each `__typename` is one token, the document stays valid GraphQL, and ``n`` makes every
    # document new, so no cache of parsed documents answers it.
    return f"query Flood{n} {{ " + " ".join("__typename" for _ in range(count)) + " }"


def answer_label(response: httpx.Response) -> str:
    """The status and the first error code, as a client would branch on them."""
    code = "-"
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} not-json"
    if isinstance(body, dict):
        errors = body.get("errors") or []
        if errors and isinstance(errors[0], dict):
            code = str((errors[0].get("extensions") or {}).get("code", "no-code"))
        elif "error" in body:  # OAuth 2 errors
            code = str(body["error"])
        elif body.get("data") is not None:
            code = "ok"
    return f"{response.status_code} {code}"


def post_json(url: str, document: str) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
    payload = json.dumps({"query": document}).encode()

    def send(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return client.post(url, content=payload, headers={"content-type": "application/json"})

    return send


def attacks(url: str, token_url: str, sales_email: str) -> dict[str, Attack]:
    big_body = b'{"query": "{ __typename }", "pad": "' + b"x" * (50 * 1024 * 1024) + b'"}'
    distinct = iter(range(10**9))

    def large_distinct(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        # A different 5 MB document each time: a cache keyed by text would keep them all.
        n = next(distinct)
        document = "{ __typename }" + f"# {n} " + "x" * (5 * 1024 * 1024)
        return client.post(url, json={"query": document})

    def token_flood(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return client.post(url, json={"query": many_tokens(100_000, next(distinct))})

    def huge_body(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return client.post(url, content=big_body, headers={"content-type": "application/json"})

    def wrong_password(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        form = {"grant_type": "password", "client_id": "bizgraph-dev", "username": sales_email, "password": "guess"}
        return client.post(token_url, data=form, headers={"authorization": ""})

    cases = [
        Attack("deep17", "customer→orders chain, 17 levels, first: 1", 1, post_json(url, chain(17))),
        Attack("deep50", "the same chain, 50 levels", 1, post_json(url, chain(50))),
        Attack("deep17x12", "the 17-level chain from twelve attackers at once", 12, post_json(url, chain(17))),
        Attack("aliases", "10,000 root aliases of customers(first: 100)", 1, post_json(url, aliases(10_000))),
        Attack("tokens", "distinct 100,000-token documents", 1, token_flood),
        Attack("body50mb", "a 50 MB request body", 1, huge_body),
        Attack("docs5mb", "distinct 5 MB documents, one after another", 1, large_distinct),
        Attack("passwords", "wrong passwords for one user at /oauth/token", 1, wrong_password),
    ]
    return {case.name: case for case in cases}


async def probe(client: httpx.AsyncClient, url: str, stop: asyncio.Event, result: CaseResult) -> None:
    payload = {"query": PROBE_QUERY}
    while not stop.is_set():
        started = time.perf_counter()
        try:
            response = await client.post(url, json=payload)
            label = answer_label(response)
            if label != "200 ok":
                result.probe_failures[label] += 1
        except httpx.HTTPError as error:
            result.probe_failures[type(error).__name__] += 1
        result.probe_ms.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(max(0.0, PROBE_EVERY - (time.perf_counter() - started)))


async def attacker(client: httpx.AsyncClient, attack: Attack, stop: asyncio.Event, result: CaseResult) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            response = await attack.send(client)
            result.answers[answer_label(response)] += 1
        except httpx.HTTPError as error:
            result.answers[type(error).__name__] += 1
        result.attack_ms.append((time.perf_counter() - started) * 1000)


def server_rss(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


async def run_case(url: str, attack: Attack, admin: str, sales: str, seconds: float, pid: int | None) -> CaseResult:
    result = CaseResult(attack, rss_before=server_rss(pid))
    stop = asyncio.Event()
    timeout = httpx.Timeout(120.0)
    limits = httpx.Limits(max_connections=attack.attackers + 2)
    async with (
        httpx.AsyncClient(headers={"authorization": f"Bearer {admin}"}, timeout=timeout) as probe_client,
        httpx.AsyncClient(
            headers={"authorization": f"Bearer {sales}"}, timeout=timeout, limits=limits
        ) as attack_client,
    ):
        tasks = [asyncio.create_task(probe(probe_client, url, stop, result))]
        tasks += [asyncio.create_task(attacker(attack_client, attack, stop, result)) for _ in range(attack.attackers)]
        await asyncio.sleep(seconds)
        stop.set()
        # Attackers finish the request they are in; the probe keeps measuring until they do.
        await asyncio.gather(*tasks)
    result.rss_after = server_rss(pid)
    return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(results: list[CaseResult], args: argparse.Namespace) -> str:
    lines = [
        "# bizgraph under abuse",
        "",
        f"- machine: {machine.describe()}",
        f"- code: {code_version()}",
        f"- command: `python -m bench.abuse --url {args.url} --seconds {args.seconds} --cases {','.join(args.cases)}`",
        f"- probe: admin, `{PROBE_QUERY}` every {int(PROBE_EVERY * 1000)} ms; attackers: the sales user",
        "",
        "| case | attackers | probe p50 / p99 / max ms | probe failures | attacker answers | attacker ms p50 / max"
        " | server RSS before → after |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        probe = f"{percentile(r.probe_ms, 0.5):.0f} / {percentile(r.probe_ms, 0.99):.0f} / {max(r.probe_ms):.0f}"
        failures = ", ".join(f"{k} ×{v}" for k, v in r.probe_failures.most_common()) or "0"
        answers = ", ".join(f"{k} ×{v}" for k, v in r.answers.most_common())
        attack_ms = f"{statistics.median(r.attack_ms):.0f} / {max(r.attack_ms):.0f}" if r.attack_ms else "-"
        rss = (
            f"{r.rss_before / 2**20:.0f} → {r.rss_after / 2**20:.0f} MB"
            if r.rss_before is not None and r.rss_after is not None
            else "-"
        )
        lines.append(
            f"| {r.attack.name}: {r.attack.description} | {r.attack.attackers} | {probe} | {failures} | {answers}"
            f" | {attack_ms} | {rss} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.abuse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--org", default="acme", help="the demo organization's slug")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each attack runs")
    parser.add_argument("--cases", default="all", help="comma-separated case names, or all")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    _, port, _ = check_loopback(args.url)
    parts = urlsplit(args.url)
    token_url = f"{parts.scheme}://{parts.netloc}/oauth/token"
    admin = auth.demo_token(args.url, auth.demo_email("admin", args.org))
    sales_email = auth.demo_email("sales", args.org)
    sales = auth.demo_token(args.url, sales_email)
    known = attacks(args.url, token_url, sales_email)
    names = list(known) if args.cases == "all" else args.cases.split(",")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"bench.abuse: unknown cases {unknown}; known: {', '.join(known)}")
    args.cases = names
    pid = machine.listening_pid(port)
    results = []
    for name in names:
        print(f"bench.abuse: {name} ...", file=sys.stderr, flush=True)
        results.append(await run_case(args.url, known[name], admin, sales, args.seconds, pid))
        await asyncio.sleep(2)  # let the server settle between cases
    print(report(results, args), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
