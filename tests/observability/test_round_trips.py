"""Round trips per request, as the metrics and the log line count them, against what a proxy in
front of PostgreSQL sees go over the wire."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.http.observer import RequestObserver
from app.http.request_record import RequestRecord
from tests.support.graphql import running_app
from tests.support.wire import counting_proxy

CREATE = (
    "mutation($name: String!) { createCustomer(input: {name: $name, kind: COMPANY, segment: SMALL_BUSINESS,"
    ' country: "DE"}) { customer { id name } errors { code } } }'
)


@pytest.fixture
def finished(monkeypatch) -> list[RequestRecord]:
    """The records of the requests that ended."""
    records: list[RequestRecord] = []
    original = RequestObserver.finish

    def finish(self: RequestObserver, record: RequestRecord) -> None:
        records.append(record)
        original(self, record)

    monkeypatch.setattr(RequestObserver, "finish", finish)
    return records


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # A lone root field: its statement and organization pipelined, no BEGIN: one trip.
        ({"query": "{ customers(first: 2) { nodes { name } } }"}, 1),
        # Two root fields share a snapshot: BEGIN + organization + the first; the second; ROLLBACK.
        ({"query": "{ a: customers(first: 1) { totalCount } b: orders(first: 1) { totalCount } }"}, 3),
        ({"query": '{ customer(id: "Q3VzdG9tZXI6MQ==") { name orders(first: 2) { totalCount } } }'}, 1),
        ({"query": CREATE, "variables": {"name": "Round Trip GmbH"}}, None),
    ],
)
async def test_the_count_is_what_goes_over_the_wire(writes_settings, admin_headers, finished, body, expected):
    # Warm: connections open, the token's user known, the document parsed.
    warm = {**body, "variables": {"name": "Warm-up GmbH"}} if "variables" in body else body
    async with (
        counting_proxy(writes_settings.database_url) as (proxied, counter),
        running_app(replace(writes_settings, database_url=proxied, slow_query_ms=60_000), admin_headers) as (_, client),
    ):
        assert (await client.post("/graphql", json=warm)).status_code == 200
        finished.clear()
        counter.reset()
        response = await client.post("/graphql", json=body)
        seen = counter.round_trips
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    [record] = finished
    if expected is not None:
        assert record.round_trips == expected, "\n".join(s[:150] for s in record.sql)
    else:
        # A command: its opening (BEGIN and the organization, in one message), each statement but
        # its last two, and one more for those two (its audit row and events, the payload's read)
        # with COMMIT.
        assert record.statements >= 2 and record.round_trips == record.statements
    # On the wire: a pipeline is one wait for the client, but the proxy sees a second send when
    # the server answered the pipeline's first statement before psycopg flushed the rest.
    assert record.round_trips <= seen <= record.round_trips + 2
