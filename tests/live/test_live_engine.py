"""The live engine behind every subscription transport: a live query's messages are the
query's answers, byte for byte; groups share a run; groups that differ only in variables or
scope share each statement; what a change costs does not grow with the subscribers."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from app.auth.principal import Principal
from app.live.changes import Change
from schema.live.feed import LiveFeed
from schema.live.service import LiveData
from schema.prepared import prepare_operation
from tests.support.auth import bearer, token_for_user
from tests.support.changes import execute
from tests.support.graphql import count_statements, sql
from tests.support.workflow import gid

ACME = 1


def acme(*roles: str, employee_id: int | None = None, customer_id: int | None = None) -> Principal:
    return Principal(
        org_id=ACME,
        subject=f"test-{'-'.join(roles)}-{employee_id}-{customer_id}",
        roles=frozenset(roles),
        employee_id=employee_id,
        customer_id=customer_id,
    )


def live_of(target: Any) -> LiveData:
    """An app's live engine (which hears the change listener), or a ``LiveData`` of a test's own."""
    return target if isinstance(target, LiveData) else target.state.live


async def subscribe(
    target: Any, principal: Principal, document: str, variables: dict[str, Any] | None = None
) -> LiveFeed:
    live = live_of(target)
    prepared = prepare_operation(live.schema._schema, document, variables, None)
    assert prepared is not None, document
    return await live.subscribe(principal, prepared, "test")


async def next_message(feed: LiveFeed, within: float = 5.0) -> dict[str, Any]:
    message = await asyncio.wait_for(anext(aiter(feed)), within)
    return orjson.loads(message)


def as_http(body: dict[str, Any]) -> dict[str, Any]:
    """An HTTP answer as a subscription message carries it: without ``extensions``."""
    return {key: value for key, value in body.items() if key != "extensions"}


LIVE_QUERIES = [
    "{ customers(first: 3, orderBy: [{field: NAME, direction: ASC}]) { totalCount nodes { id name email } } }",
    "{ ordersAggregate(groupBy: {dimensions: [STATUS]}) { status count sum { total } } }",
    "{ me { roles organization { name } } }",
    "{ employees(first: 2) { nodes { fullName salary } } }",
    "{ a: customers(first: 1) { nodes { name } } }",
    # Lookups: found, found through node (another statement shape), and the one error a lookup gives.
    f'{{ customer(id: "{gid("Customer", 1)}") {{ name email creditLimit }} }}',
    f'{{ node(id: "{gid("Customer", 2)}") {{ id ... on Customer {{ name email }} }} }}',
    f'{{ order(id: "{gid("Order", 999_999_999)}") {{ number }} }}',
    f'{{ employee(id: "{gid("Employee", 3)}") {{ fullName salary manager {{ fullName }} }} }}',
    "{ departments(first: 5) { nodes { name head { fullName } } } }",
]


@pytest.mark.parametrize("query", LIVE_QUERIES)
@pytest.mark.parametrize("roles", [("admin",), ("sales",), ("analyst",)])
async def test_the_first_message_is_the_query_answer_byte_for_byte(app, client, demo_settings, query, roles) -> None:
    from tests.support.auth import token_for

    employee_id = sql(demo_settings.database_url, "SELECT min(id) FROM employees WHERE org_id = %s", ACME)[0][0]
    principal = acme(*roles, employee_id=employee_id)
    token = token_for(demo_settings, org_id=ACME, roles=roles, employee_id=employee_id, user_id=None)
    # The same document, the same positions: errors' locations are the same.
    response = await client.post(
        "/graphql", json={"query": "query        " + query}, headers={"Authorization": f"Bearer {token}"}
    )
    feed = await subscribe(app, principal, "subscription " + query)
    try:
        message = await asyncio.wait_for(anext(aiter(feed)), 5)
    finally:
        await feed.aclose()
    expected = as_http(response.json())
    # Errors name the request they belong to; the rest is the same bytes.
    for error in expected.get("errors", []):
        if "requestId" in error["extensions"]:
            error["extensions"]["requestId"] = "test"
    assert message == orjson.dumps(expected)


MY_ORDERS = "subscription { orders(first: 3) { totalCount nodes { number status } } }"
CREATE_ORDER = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { number } errors { code } } }"


async def create_order(client: Any, settings: Any, customer_id: int) -> None:
    response = await client.post(
        "/graphql",
        json={"query": CREATE_ORDER, "variables": {"input": {"customerId": gid("Customer", customer_id)}}},
        headers=bearer(token_for_user(settings, "admin@acme.example")),
    )
    assert response.json()["data"]["createOrder"]["errors"] == [], response.text


def customer_ids(url: Any, count: int) -> list[int]:
    active = "SELECT id FROM customers WHERE org_id = %s AND status = 'active' ORDER BY id LIMIT %s"
    rows = sql(url, active, ACME, count)
    return [row[0] for row in rows]


SCOPED_ORDERS = "subscription($n: Int!) { orders(first: $n) { totalCount nodes { number status } } }"


async def statements_of_one_change(
    app: Any, live: LiveData, url: Any, subscribers: int
) -> tuple[list[str], list[int], int]:
    """``subscribers`` subscriptions of one document, each customer watching their own orders
    with their own page size (so nearly every subscriber is a group of its own: another scope
    or other variables); one change of orders is heard."""
    customers = customer_ids(url, 60)
    feeds = []
    for index in range(subscribers):
        principal = acme("customer", customer_id=customers[index % len(customers)])
        feeds.append(await subscribe(live, principal, SCOPED_ORDERS, {"n": 1 + index // len(customers)}))
    try:
        for feed in feeds:
            await next_message(feed)
        await live.engine.settled()
        groups = live.engine.group_count
        with count_statements(app) as seen:
            live.changed(Change(ACME, frozenset({"orders"})))
            await live.engine.settled()
        return seen, live.engine.rounds[-1], groups
    finally:
        for feed in feeds:
            await feed.aclose()


async def test_a_change_costs_the_same_statements_for_10_and_for_1000_subscribers(
    writes_app, writes_settings, deaf_live
):
    url = writes_settings.database_url
    few, few_rounds, few_groups = await statements_of_one_change(writes_app, deaf_live, url, 10)
    many, many_rounds, many_groups = await statements_of_one_change(writes_app, deaf_live, url, 1000)
    assert (few_groups, many_groups) == (10, 1000)
    # A thousand groups of one document that differ in scope and variables: one statement.
    assert len(few) == len(many) == 1
    assert few_rounds == many_rounds == [1]
    assert "jsonb_to_recordset" in many[0]


async def test_equal_subscribers_share_one_group_and_one_run(writes_app, deaf_live) -> None:
    live = deaf_live
    before = live.engine.group_count
    feeds = [await subscribe(live, acme("admin"), MY_ORDERS) for _ in range(10)]
    try:
        first = [await next_message(feed) for feed in feeds]
        assert all(message == first[0] for message in first)
        assert live.engine.group_count == before + 1
        with count_statements(writes_app) as seen:
            live.changed(Change(ACME, frozenset({"orders"})))
            await live.engine.settled()
        assert len(seen) == 1
    finally:
        for feed in feeds:
            await feed.aclose()
    assert live.engine.group_count == before


async def test_a_new_order_reaches_its_customer_only_and_unchanged_answers_send_nothing(
    writes_app, writes_client, writes_settings
) -> None:
    live = writes_app.state.live
    buyer, other = customer_ids(writes_settings.database_url, 2)
    mine = await subscribe(writes_app, acme("customer", customer_id=buyer), MY_ORDERS)
    theirs = await subscribe(writes_app, acme("customer", customer_id=other), MY_ORDERS)
    try:
        before = (await next_message(mine))["data"]["orders"]["totalCount"]
        await next_message(theirs)
        # Heard through the change listener: the orders table changed in acme.
        await create_order(writes_client, writes_settings, buyer)
        after = await next_message(mine)
        assert after["data"]["orders"]["totalCount"] == before + 1
        await live.engine.settled()
        with pytest.raises(TimeoutError):
            await next_message(theirs, within=0.3)
    finally:
        await mine.aclose()
        await theirs.aclose()


async def test_changes_of_other_tables_or_organizations_rerun_nothing(writes_app, deaf_live) -> None:
    live = deaf_live
    feed = await subscribe(live, acme("admin"), MY_ORDERS)
    try:
        await next_message(feed)
        await live.engine.settled()
        with count_statements(writes_app) as seen:
            live.changed(Change(ACME, frozenset({"departments"})))
            live.changed(Change(2, frozenset({"orders"})))
            await live.engine.settled()
        assert seen == []
    finally:
        await feed.aclose()


def managed_customer(url: Any) -> tuple[int, int, int]:
    """An active customer of acme with an account manager and orders, its manager, and another
    employee of acme."""
    [(customer, manager, other)] = sql(
        url,
        "SELECT c.id, c.account_manager_id, (SELECT min(e.id) FROM employees e WHERE e.org_id = c.org_id"
        " AND e.id <> c.account_manager_id) FROM customers c WHERE c.org_id = %s AND c.status = 'active'"
        " AND c.account_manager_id IS NOT NULL AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)"
        " ORDER BY c.id LIMIT 1",
        ACME,
    )
    return customer, manager, other


async def test_a_change_of_other_accounts_reruns_no_customer_or_rep_watching_their_own(
    writes_app, writes_settings, deaf_live
) -> None:
    live = deaf_live
    customer, manager, other_employee = managed_customer(writes_settings.database_url)
    other_customer = next(c for c in customer_ids(writes_settings.database_url, 5) if c != customer)
    # Three documents, so that each group is a statement of its own
    documents = [
        (acme("customer", customer_id=customer), "subscription { orders(first: 5) { totalCount } }"),
        (acme("sales", employee_id=manager), "subscription { orders(first: 5) { nodes { number } } }"),
        (acme("admin"), "subscription { orders(first: 5) { totalCount nodes { status } } }"),
    ]
    feeds = [await subscribe(live, principal, document) for principal, document in documents]

    async def statements_for(change: Change) -> int:
        with count_statements(writes_app) as seen:
            live.changed(change)
            await live.engine.settled()
        return len(seen)

    try:
        for feed in feeds:
            await next_message(feed)
        await live.engine.settled()
        orders = frozenset({"orders"})
        # Another customer's order, managed by someone else: only the admin's query runs
        assert await statements_for(Change(ACME, orders, frozenset({other_customer}), frozenset({other_employee}))) == 1
        # The customer's order: all three
        assert await statements_for(Change(ACME, orders, frozenset({customer}), frozenset({manager}))) == 3
        # An order of another customer the rep manages: the rep's and the admin's
        assert await statements_for(Change(ACME, orders, frozenset({other_customer}), frozenset({manager}))) == 2
        # Unknown anchors: everyone who reads orders
        assert await statements_for(Change(ACME, orders)) == 3
    finally:
        for feed in feeds:
            await feed.aclose()


async def test_a_customer_moved_to_another_rep_leaves_one_pipeline_and_joins_the_other(
    writes_app, writes_settings
) -> None:
    url = writes_settings.database_url
    customer, manager, other = managed_customer(url)
    document = "subscription { customers(first: 1) { totalCount } }"
    old_rep = await subscribe(writes_app, acme("sales", employee_id=manager), document)
    new_rep = await subscribe(writes_app, acme("sales", employee_id=other), document)
    try:
        old_before = (await next_message(old_rep))["data"]["customers"]["totalCount"]
        new_before = (await next_message(new_rep))["data"]["customers"]["totalCount"]
        # Written straight into PostgreSQL, heard through the listener
        await execute(url, ("UPDATE customers SET account_manager_id = %s WHERE id = %s", (other, customer)))
        assert (await next_message(old_rep))["data"]["customers"]["totalCount"] == old_before - 1
        assert (await next_message(new_rep))["data"]["customers"]["totalCount"] == new_before + 1
    finally:
        await execute(url, ("UPDATE customers SET account_manager_id = %s WHERE id = %s", (manager, customer)))
        await old_rep.aclose()
        await new_rep.aclose()


async def test_a_burst_of_changes_is_one_rerun_per_interval_and_the_last_state_arrives(
    writes_app, writes_client, writes_settings
) -> None:
    live = writes_app.state.live
    buyer = customer_ids(writes_settings.database_url, 3)[2]
    feed = await subscribe(writes_app, acme("customer", customer_id=buyer), MY_ORDERS)
    try:
        before = (await next_message(feed))["data"]["orders"]["totalCount"]
        await live.engine.settled()
        runs_before = len(live.engine.rounds)
        for _ in range(5):
            await create_order(writes_client, writes_settings, buyer)
            for _ in range(10):
                live.changed(Change(ACME, frozenset({"orders"})))
        await live.engine.settled()
        last = None
        while True:
            try:
                last = await next_message(feed, within=0.3)
            except TimeoutError:
                break
        assert last is not None and last["data"]["orders"]["totalCount"] == before + 5
        # Fifty changes, a handful of re-runs: at most one per interval (100 ms), each a few rounds.
        assert len(live.engine.rounds) - runs_before <= 6
    finally:
        await feed.aclose()


class _Watcher:
    """A watcher of its own lane whose runs a test can hold: it reads ``orders``."""

    def __init__(self, lane: str, moved: asyncio.Event, *, held: asyncio.Event | None = None) -> None:
        self.tables: frozenset[str] | None = frozenset({"orders"})
        self.moved = moved  # set whenever a run starts or is held
        self.anchoring = None
        self._lane = lane
        self.held = held
        self.runs = 0
        self.run_times: list[float] = []
        self.running = False

    @property
    def org_id(self) -> int:
        return ACME

    @property
    def lane(self) -> str:
        return self._lane

    @property
    def wanted(self) -> bool:
        return True

    @property
    def urgent(self) -> bool:
        return self.runs == 0

    async def run(self, executor: Any, statements: Any) -> None:
        self.runs += 1
        self.run_times.append(asyncio.get_running_loop().time())
        self.moved.set()
        if self.held is not None and self.runs > 1:
            self.running = True
            self.moved.set()
            try:
                await self.held.wait()
            finally:
                self.running = False

    def apply(self, outcome: Any) -> None:
        pass

    def end(self) -> None:
        pass


async def until(moved: asyncio.Event, condition: Any, within: float = 3.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            moved.clear()
            await moved.wait()


async def test_a_slow_document_does_not_hold_back_the_next_rerun_of_another(deaf_live) -> None:
    engine = deaf_live.engine
    release, moved = asyncio.Event(), asyncio.Event()
    slow = _Watcher("a dashboard's aggregate", moved, held=release)
    quick = _Watcher("a customer's orders", moved)
    engine.watch(slow)
    engine.watch(quick)
    try:
        await until(moved, lambda: slow.runs == quick.runs == 1)
        deaf_live.changed(Change(ACME, frozenset({"orders"})))
        await until(moved, lambda: slow.running and quick.runs == 2)
        # The slow document's re-run is still running; the next change re-runs the quick one
        # all the same, at its own pace: one interval after its last run, not after the slow one.
        deaf_live.changed(Change(ACME, frozenset({"orders"})))
        await until(moved, lambda: quick.runs == 3)
        assert slow.running and slow.runs == 2
        assert quick.run_times[2] - quick.run_times[1] >= engine.interval * 0.9
    finally:
        release.set()
        await engine.settled()
        engine.unwatch(slow)
        engine.unwatch(quick)
    # Held changes were not lost: the slow document runs again for the change it missed.
    assert slow.runs == 3
