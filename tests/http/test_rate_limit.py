"""Per-principal rate limiting in cost units: a token bucket of BIZGRAPH_RATE_LIMIT_COST_PER_MINUTE
units (the burst) refilled over a minute, answered with 429, Retry-After and RATE_LIMITED when it
cannot pay. Buckets live in memory, or in Redis (the real one at 127.0.0.1:6379) shared by every
process; an unreachable Redis lets operations through with a warning. The clock is injected."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

import pytest

from app.ratelimit.buckets import MemoryBuckets
from tests.support.auth import bearer, token_for
from tests.support.graphql import count_statements, error_codes, running_app

REDIS_URL = "redis://127.0.0.1:6379/0"
# Costs 11: one connection of ten customers.
TEN = "{ customers(first: 10) { nodes { id } } }"
BUDGET = 40  # a minute's budget: three operations of 11, not four


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def limited(settings, **changes):
    return replace(settings, max_cost=BUDGET, rate_limit_cost_per_minute=BUDGET, **changes)


def principal(app, subject: int | None = None) -> dict[str, str]:
    """A sales user's headers; each test's own user id keeps shared Redis buckets apart."""
    user_id = subject or uuid.uuid4().int % 1_000_000_000
    return bearer(token_for(app, org_id=1, roles={"sales"}, user_id=user_id))


async def ask(http, headers, query: str = TEN):
    return await http.post("/graphql", json={"query": query}, headers=headers)


async def test_off_by_default(client):
    for _ in range(5):
        body = (await ask(client, {}, TEN)).json()
        assert "remaining" not in body["extensions"]["cost"]


async def test_a_principal_spends_its_budget_then_waits(demo_settings):
    clock = Clock()
    async with running_app(limited(demo_settings), clock=clock) as (app, http):
        alice = principal(app)
        remaining = [(await ask(http, alice)).json()["extensions"]["cost"]["remaining"] for _ in range(3)]
        assert remaining == [29, 18, 7]
        with count_statements(app) as statements:
            refused = await ask(http, alice)
        assert statements == []
        assert refused.status_code == 429
        body = refused.json()
        assert body["data"] is None
        assert error_codes(body) == ["RATE_LIMITED"]
        assert body["extensions"]["cost"] == {"requested": 11, "maximum": BUDGET, "remaining": 7}
        # 4 units missing at 40 a minute: 6 seconds.
        assert refused.headers["retry-after"] == "6"
        assert "retry in 6 s" in body["errors"][0]["message"]
        # Under the new media type too: 429, not the 4xx of a malformed request.
        strict = await http.post(
            "/graphql", json={"query": TEN}, headers={**alice, "accept": "application/graphql-response+json"}
        )
        assert strict.status_code == 429
        # Another principal has a budget of its own.
        assert (await ask(http, principal(app))).status_code == 200
        clock.now += 6
        again = await ask(http, alice)
        assert again.status_code == 200
        assert again.json()["extensions"]["cost"]["remaining"] == 0


async def test_refusals_cost_nothing(demo_settings):
    clock = Clock()
    async with running_app(limited(demo_settings), clock=clock) as (app, http):
        alice = principal(app)
        too_costly = await ask(http, alice, "{ customers(first: 50) { nodes { id } } }")
        assert error_codes(too_costly.json()) == ["COST_EXCEEDED"]
        invalid = await ask(http, alice, "{ customers { nope } }")
        assert "extensions" not in invalid.json() or "cost" not in invalid.json()["extensions"]
        assert (await ask(http, alice)).json()["extensions"]["cost"]["remaining"] == BUDGET - 11


async def test_the_fast_path_and_the_standard_way_pay_alike(demo_settings):
    bodies = []
    for fast_path in (True, False):
        async with running_app(limited(demo_settings, fast_path=fast_path), clock=Clock()) as (app, http):
            headers = principal(app, subject=4242)
            bodies.append([(await ask(http, headers)).content for _ in range(4)])
    assert bodies[0] == bodies[1]


async def test_redis_shares_the_budget_between_processes(demo_settings):
    clock = Clock()
    settings = limited(demo_settings, redis_url=REDIS_URL)
    async with running_app(settings, clock=clock) as (first, one), running_app(settings, clock=clock) as (_, two):
        alice = principal(first)
        assert (await ask(http := one, alice)).json()["extensions"]["cost"]["remaining"] == 29
        assert (await ask(two, alice)).json()["extensions"]["cost"]["remaining"] == 18
        assert (await ask(http, alice)).json()["extensions"]["cost"]["remaining"] == 7
        refused = await ask(two, alice)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "6"
        clock.now += 60
        assert (await ask(two, alice)).json()["extensions"]["cost"]["remaining"] == 29


async def test_an_unreachable_redis_lets_operations_through_with_a_warning(demo_settings, caplog):
    # Nothing listens on port 1.
    settings = limited(demo_settings, redis_url="redis://127.0.0.1:1/0")
    async with running_app(settings, clock=Clock()) as (app, http):
        alice = principal(app)
        with caplog.at_level(logging.WARNING, logger="bizgraph.ratelimit"):
            for _ in range(5):  # more than the budget would allow
                response = await ask(http, alice)
                assert response.status_code == 200
                assert response.json()["extensions"]["cost"] == {"requested": 11, "maximum": BUDGET}
    warnings = [r for r in caplog.records if r.name == "bizgraph.ratelimit"]
    assert len(warnings) == 1  # once per outage, not once per request
    assert "Redis cannot be reached" in warnings[0].getMessage()


@pytest.mark.parametrize("max_buckets", [2, 100])
async def test_idle_buckets_are_dropped_and_their_number_bounded(max_buckets):
    clock = Clock()
    buckets = MemoryBuckets(60, clock=clock, max_buckets=max_buckets)
    for key in ("a", "b", "c"):
        assert (await buckets.charge(key, 60)).paid
    assert len(buckets) == min(3, max_buckets)
    # A bucket idle for a minute is full again: dropping it forgets nothing.
    clock.now += 60
    charge = await buckets.charge("d", 1)
    assert charge.paid and charge.remaining == 59
    assert len(buckets) == 1
    again = await buckets.charge("a", 60)
    assert again.paid and again.remaining == 0
