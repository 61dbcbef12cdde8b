"""Time buckets in any organization's zone: a bucketed aggregate runs with the transaction's
TimeZone set to the organization's (``Plan.zoned_sql``), and answers exactly what reading each
row in the zone by name (``AT TIME ZONE``) answers, for zones with half- and quarter-hour
offsets, daylight-saving changes at midnight and of half an hour, and instants around every
change; and everything else the same request answers still renders its instants in UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from app.auth.principal import Principal
from app.config import Settings
from app.live.changes import Change
from tests.conftest import _seeded_copy
from tests.live.test_live_engine import next_message, subscribe
from tests.support.auth import token_for_user
from tests.support.graphql import data, running_app, sql

ZONES = [
    "Asia/Kolkata",  # +5:30
    "Asia/Kathmandu",  # +5:45
    "Australia/Lord_Howe",  # a daylight-saving change of half an hour
    "America/Santiago",  # changes at midnight
    "America/Havana",  # changes at midnight
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/St_Johns",  # -3:30 / -2:30
    "Europe/Berlin",
]


@pytest.fixture(scope="module")
def zones_settings(pg_server, demo_settings: Settings) -> Iterator[Settings]:
    """A database of its own whose first organization's orders are spread over March and April
    2026 every 37 minutes 13 seconds (every change of these zones in spring falls in it), with
    a few at local midnights and on either side of a change."""
    for settings in _seeded_copy(pg_server, demo_settings, "bizgraph_aggregate_zones"):
        url = settings.database_url
        sql(
            url,
            """UPDATE orders o SET placed_at = TIMESTAMPTZ '2026-03-01 00:00:00+00'
                                    + (n.k * INTERVAL '37 minutes 13 seconds')
               FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM orders
                     WHERE org_id = (SELECT min(id) FROM organizations)) n
               WHERE o.id = n.id AND o.placed_at IS NOT NULL RETURNING 1""",
        )
        yield settings


def _expected(url, org_id: int, zone: str, unit: str) -> list[tuple[date, int, Decimal]]:
    return [
        (day, count, total)
        for day, count, total in sql(
            url,
            f"""SELECT (date_trunc('{unit}', placed_at AT TIME ZONE %s))::date, count(*), sum(total)
                FROM orders WHERE org_id = %s AND placed_at IS NOT NULL GROUP BY 1 ORDER BY 1""",
            zone,
            org_id,
        )
    ]


@pytest.mark.parametrize("zone", ZONES)
async def test_buckets_in_the_organizations_zone_are_what_reading_each_row_in_it_gives(zones_settings, zone):
    url = zones_settings.database_url
    [(org_id, slug)] = sql(url, "SELECT id, slug FROM organizations ORDER BY id LIMIT 1")
    sql(url, "UPDATE organizations SET time_zone = %s WHERE id = %s RETURNING 1", zone, org_id)
    # Instants exactly at this zone's local midnights and a second either side of them.
    sql(
        url,
        """UPDATE orders o SET placed_at = (DATE '2026-03-20' + (n.k / 3)::int)::timestamp AT TIME ZONE %s
                                           + (n.k %% 3 - 1) * INTERVAL '1 second'
           FROM (SELECT id, row_number() OVER (ORDER BY id DESC) AS k FROM orders
                 WHERE org_id = %s AND placed_at IS NOT NULL) n
           WHERE o.id = n.id AND n.k <= 90 RETURNING 1""",
        zone,
        org_id,
    )
    token = token_for_user(zones_settings, f"admin@{slug}.example")
    async with running_app(zones_settings) as (_, http):
        for bucket in ("DAY", "WEEK", "MONTH"):
            # Alone (its own implicit transaction) and beside another root field (a shared
            # snapshot, whose later statement renders instants in UTC again).
            result = await data(
                http,
                f"""{{ a: ordersAggregate(filter: {{placedAt: {{isNull: false}}}}, groupBy: {{bucket: {bucket}}}) {{
                         bucket count sum {{ total }} }} }}""",
                token=token,
            )
            both = await data(
                http,
                f"""{{ a: ordersAggregate(filter: {{placedAt: {{isNull: false}}}}, groupBy: {{bucket: {bucket}}}) {{
                         bucket count sum {{ total }} }}
                      orders(first: 1, filter: {{placedAt: {{isNull: false}}}}) {{ nodes {{ placedAt }} }} }}""",
                token=token,
            )
            expected = _expected(url, org_id, zone, bucket.lower())
            for answer in (result, both):
                got = [(date.fromisoformat(g["bucket"]), g["count"], Decimal(g["sum"]["total"])) for g in answer["a"]]
                assert got == expected, (zone, bucket)
            [placed] = both["orders"]["nodes"]
            assert placed["placedAt"].endswith("+00:00"), placed


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "America/Santiago"])
async def test_a_live_querys_buckets_are_the_same_in_the_organizations_zone(zones_settings, zone):
    # Live re-runs run in batches (resolvers/live/batch.py), alone or multiplexed: with the zone set
    # there too, their buckets are the query's.
    url = zones_settings.database_url
    [(org_id, slug)] = sql(url, "SELECT id, slug FROM organizations ORDER BY id LIMIT 1")
    sql(url, "UPDATE organizations SET time_zone = %s WHERE id = %s RETURNING 1", zone, org_id)
    token = token_for_user(zones_settings, f"admin@{slug}.example")
    documents = [
        f'{{ ordersAggregate(filter: {{placedAt: {{gte: "{since}"}}}}, groupBy: {{bucket: DAY}}) {{ bucket count }} }}'
        for since in ("2026-03-01T00:00:00Z", "2026-03-15T00:00:00Z")
    ]
    async with running_app(zones_settings) as (app, http):
        principal = Principal(org_id=org_id, subject="zones", roles=frozenset({"admin"}))
        feeds = [await subscribe(app, principal, "subscription " + document) for document in documents]
        try:
            for document, feed in zip(documents, feeds, strict=True):
                expected = await data(http, document, token=token)
                assert (await next_message(feed))["data"] == expected
                assert len(expected["ordersAggregate"]) > 20
            # A change re-runs both together (one statement, multiplexed): the same answers, so no message.
            app.state.live.changed(Change(org_id, frozenset({"orders"})))
            await app.state.live.engine.settled()
            for feed in feeds:
                with pytest.raises(TimeoutError):
                    await next_message(feed, within=0.05)
        finally:
            for feed in feeds:
                await feed.aclose()
