"""Event streams: committed business events, one message each, in commit order; replayed
from a cursor and then live, without loss or repetition; filtered by the read policy and the
organization; ended with STREAM_OVERFLOW rather than let a slow client's queue grow."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from app.auth.principal import Principal
from app.errors import StreamOverflow
from app.live.changes import Change
from schema.live.service import LiveData
from tests.live.test_live_engine import ACME, acme, create_order, customer_ids, next_message, subscribe
from tests.support.graphql import count_statements, sql
from tests.support.workflow import gid

STREAM = """subscription($after: String) {
  events(after: $after, types: ["order.created"]) { cursor node { type entityType entityId } }
}"""

OUTBOX = frozenset({"outbox"})


async def drain(feed: Any, within: float = 0.3) -> list[dict[str, Any]]:
    messages = []
    while True:
        try:
            messages.append(await next_message(feed, within=within))
        except (TimeoutError, StopAsyncIteration):
            return messages


async def created(client: Any, settings: Any, app: Any, customer_id: int, count: int) -> list[str]:
    """Places ``count`` draft orders (their events reach the engine through the change
    listener); the global IDs of their customer."""
    for _ in range(count):
        await create_order(client, settings, customer_id)
    return [gid("Customer", customer_id)] * count


async def test_a_stream_without_a_cursor_starts_now_and_goes_on_live(writes_app, writes_client, writes_settings):
    feed = await subscribe(writes_app, acme("admin"), STREAM)
    try:
        await writes_app.state.live.engine.settled()
        assert await drain(feed) == []
        buyer = customer_ids(writes_settings.database_url, 1)[0]
        await created(writes_client, writes_settings, writes_app, buyer, 2)
        messages = await drain(feed, within=2)
        assert [m["data"]["events"]["node"]["type"] for m in messages] == ["order.created"] * 2
        assert all("errors" not in m for m in messages)
    finally:
        await feed.aclose()


async def test_resuming_from_a_cursor_replays_in_commit_order_without_gaps_or_repeats(
    writes_app, writes_client, writes_settings
):
    buyer = customer_ids(writes_settings.database_url, 4)[3]
    first = await subscribe(writes_app, acme("admin"), STREAM)
    try:
        await writes_app.state.live.engine.settled()
        await created(writes_client, writes_settings, writes_app, buyer, 3)
        received = await drain(first, within=2)
        assert len(received) == 3
    finally:
        await first.aclose()
    # The client went away after the first event; meanwhile two more orders were placed.
    resume_after = received[0]["data"]["events"]["cursor"]
    await created(writes_client, writes_settings, writes_app, buyer, 2)
    again = await subscribe(writes_app, acme("admin"), STREAM, {"after": resume_after})
    try:
        replayed = await drain(again, within=2)
        cursors = [m["data"]["events"]["cursor"] for m in replayed]
        assert cursors[:2] == [m["data"]["events"]["cursor"] for m in received[1:]]
        assert len(cursors) == 4 and len(set(cursors)) == 4
        # ... and it goes on live.
        await created(writes_client, writes_settings, writes_app, buyer, 1)
        assert len(await drain(again, within=2)) == 1
    finally:
        await again.aclose()


@pytest.mark.parametrize(
    "principal",
    [
        pytest.param(acme("hr"), id="hr sees no sales-ledger events"),
        pytest.param(Principal(org_id=2, subject="globex-admin", roles=frozenset({"admin"})), id="another org"),
    ],
)
async def test_events_the_principal_may_not_read_never_arrive(writes_app, writes_client, writes_settings, principal):
    feed = await subscribe(writes_app, principal, STREAM)
    watcher = await subscribe(writes_app, acme("admin"), STREAM)
    try:
        await writes_app.state.live.engine.settled()
        buyer = customer_ids(writes_settings.database_url, 5)[4]
        await created(writes_client, writes_settings, writes_app, buyer, 1)
        # Another organization's outbox changing concerns acme's streams not at all.
        writes_app.state.live.changed(Change(2, OUTBOX))
        assert len(await drain(watcher, within=2)) == 1
        assert await drain(feed) == []
    finally:
        await feed.aclose()
        await watcher.aclose()


async def test_a_client_that_never_reads_is_ended_with_stream_overflow(writes_app, writes_client, writes_settings):
    state = writes_app.state
    live = LiveData(state.live.schema, state.database, state.page_limits, stream_queue=10)
    try:
        prepared_feed = await _subscribe_with(live, STREAM)
        await live.engine.settled()
        buyer = customer_ids(writes_settings.database_url, 6)[5]
        for _ in range(12):
            await create_order(writes_client, writes_settings, buyer)
            live.changed(Change(ACME, OUTBOX))
            await live.engine.settled()
        with pytest.raises(StreamOverflow):
            await asyncio.wait_for(anext(aiter(prepared_feed)), 2)
    finally:
        await live.close()


async def test_a_malformed_cursor_is_the_streams_one_message(writes_app):
    feed = await subscribe(writes_app, acme("admin"), STREAM, {"after": "not-a-cursor"})
    try:
        message = await next_message(feed)
        assert message["data"] is None
        assert [e["extensions"]["code"] for e in message["errors"]] == ["INVALID_CURSOR"]
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(aiter(feed)), 2)
    finally:
        await feed.aclose()


async def _subscribe_with(live: LiveData, document: str) -> Any:
    from schema.prepared import prepare_operation

    prepared = prepare_operation(live.schema._schema, document, None, None)
    assert prepared is not None
    return await live.subscribe(acme("admin"), prepared, "test")


def page_reads(statements: list[str]) -> list[str]:
    """The statements that read a page of events (the others read the newest event: the head)."""
    return [s for s in statements if "(t2.position, t2.id) >" in s]


async def test_caught_up_streams_share_each_read(writes_app, writes_client, writes_settings, deaf_live):
    """Fifty integrations on one stream document: a change costs one page read and one read
    of the head (where caught-up streams read on from next time), and every stream receives
    the event."""
    feeds = [await subscribe(deaf_live, acme("admin"), STREAM) for _ in range(50)]
    try:
        await deaf_live.engine.settled()
        buyer = customer_ids(writes_settings.database_url, 7)[6]
        await create_order(writes_client, writes_settings, buyer)
        with count_statements(writes_app) as seen:
            deaf_live.changed(Change(ACME, OUTBOX))
            await deaf_live.engine.settled()
        assert len(seen) == 2 and len(page_reads(seen)) == 1, seen
        for feed in feeds:
            message = await next_message(feed)
            assert message["data"]["events"]["node"]["type"] == "order.created"
    finally:
        for feed in feeds:
            await feed.aclose()


async def test_a_stream_whose_filter_matches_nothing_yet_reads_only_what_comes_after_now(
    writes_app, writes_client, writes_settings, deaf_live
):
    """No event of the type exists yet: the stream still starts at the newest event (of any
    type), so each change reads what follows it, never the organization's whole history."""
    document = 'subscription { events(types: ["invoice.voided"]) { node { type } } }'
    feed = await subscribe(deaf_live, acme("admin"), document)
    try:
        await deaf_live.engine.settled()
        buyer = customer_ids(writes_settings.database_url, 9)[8]
        await create_order(writes_client, writes_settings, buyer)
        with count_statements(writes_app) as seen:
            deaf_live.changed(Change(ACME, OUTBOX))
            await deaf_live.engine.settled()
        assert len(page_reads(seen)) == 1, seen
        assert await drain(feed) == []
    finally:
        await feed.aclose()


def newest_event(url: Any) -> tuple[int, int]:
    query = "SELECT position, id FROM outbox WHERE org_id = %s AND position IS NOT NULL ORDER BY position DESC LIMIT 1"
    [(position, event_id)] = sql(url, query, ACME)
    return position, event_id


def position_of(cursor: str) -> tuple[int, int]:
    _, position, event_id = json.loads(base64.b64decode(cursor))
    return int(position), int(event_id)


async def orders_with_a_round_each(
    client: Any, settings: Any, live: Any, buyer: int, count: int
) -> list[tuple[int, int]]:
    """Places ``count`` orders, each followed by its re-run round; the newest event after each."""
    newest = []
    for _ in range(count):
        await create_order(client, settings, buyer)
        newest.append(newest_event(settings.database_url))
        live.changed(Change(ACME, OUTBOX))
        await live.engine.settled()
    return newest


async def test_a_caught_up_stream_reads_on_from_the_newest_event_not_from_its_last_match(
    writes_app, writes_client, writes_settings, deaf_live
):
    """Events its filter does not take are not read again at every change: once a round
    found nothing more for it, a stream's next read starts at the newest event as the round
    before saw it (read earlier, so everything up to it had committed), not at the last event
    it received or the one it started at."""
    document = 'subscription { events(types: ["invoice.voided"]) { node { type } } }'
    feed = await subscribe(deaf_live, acme("admin"), document)
    try:
        await deaf_live.engine.settled()
        started_at = newest_event(writes_settings.database_url)
        assert position_of(feed.position) == started_at
        buyer = customer_ids(writes_settings.database_url, 10)[9]
        heads = await orders_with_a_round_each(writes_client, writes_settings, deaf_live, buyer, 3)
        # Round 1 read the head (the first order's event); round 2 read on from its start and
        # then moved to that head; round 3 read from there and moved to the second one's.
        assert position_of(feed.position) == heads[1]
        assert await drain(feed) == []
    finally:
        await feed.aclose()


async def test_a_stream_that_moved_on_still_receives_the_next_event_once(
    writes_app, writes_client, writes_settings, deaf_live
):
    """Moving a caught-up stream's reads forward loses nothing: orders written while it moves
    on each arrive exactly once, in commit order."""
    feed = await subscribe(deaf_live, acme("admin"), STREAM)
    try:
        await deaf_live.engine.settled()
        buyer = customer_ids(writes_settings.database_url, 11)[10]
        written = await orders_with_a_round_each(writes_client, writes_settings, deaf_live, buyer, 4)
        cursors = [m["data"]["events"]["cursor"] for m in await drain(feed)]
        assert [position_of(c) for c in cursors] == written
    finally:
        await feed.aclose()


async def test_a_replay_taken_in_bursts_goes_on_to_its_end_in_commit_order(writes_app, writes_client, writes_settings):
    """An edge takes what a stream has ready all at once (``take_ready``): a replay whose queue
    holds one page at a time reads its next page once the taken page made room, to the end,
    without gaps or repeats."""
    from schema.prepared import prepare_operation

    state = writes_app.state
    live = LiveData(state.live.schema, state.database, state.page_limits, stream_queue=2)

    async def stream(variables: dict[str, Any] | None) -> Any:
        prepared = prepare_operation(live.schema._schema, STREAM, variables, None)
        assert prepared is not None
        return await live.subscribe(acme("admin"), prepared, "test")

    async def take(feed: Any, count: int) -> list[list[bytes]]:
        bursts: list[list[bytes]] = []
        async with asyncio.timeout(5):
            while sum(map(len, bursts)) < count:
                await live.engine.settled()
                burst = feed.take_ready()
                if burst:
                    bursts.append(burst)
                else:
                    await asyncio.sleep(0.02)
        return bursts

    try:
        first = await stream(None)
        await live.engine.settled()
        buyer = customer_ids(writes_settings.database_url, 8)[7]
        for _ in range(5):
            await create_order(writes_client, writes_settings, buyer)
        live.changed(Change(ACME, OUTBOX))
        cursors = [orjson_cursor(m) for burst in await take(first, 5) for m in burst]
        again = await stream({"after": cursors[0]})
        bursts = await take(again, 4)
        assert [orjson_cursor(m) for burst in bursts for m in burst] == cursors[1:]
        assert max(map(len, bursts)) == 2  # a whole page at once
        assert again.take_ready() == []
    finally:
        await live.close()


def orjson_cursor(message: bytes) -> str:
    import orjson

    cursor: str = orjson.loads(message)["data"]["events"]["cursor"]
    return cursor
