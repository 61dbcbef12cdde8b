"""bizgraph's HTTP protocol (app/http/lean_protocol.py), over real loopback sockets: the lean
path's requests are answered in the protocol itself with the bytes the application answers
them with; everything else, and everything around them on the same connection (pipelined
requests, HTTP/1.0, ``Expect``, bodies in pieces, clients that leave), is served as uvicorn
serves it."""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import httpx
import orjson
import pytest

from app.http.lean_protocol import LeanHttpProtocol
from app.http.lean_queries import LeanPath
from tests.support.auth import token_for_user
from tests.support.serving import serve

QUERY = orjson.dumps({"query": "{ customers(first: 2) { nodes { name } } }"})
MISSING = orjson.dumps({"query": "query($id: ID!) { customer(id: $id) { name } }", "variables": {"id": "bm9wZQ=="}})


@pytest.fixture(scope="module")
def token(demo_settings) -> str:
    return token_for_user(demo_settings, "admin@acme.example")


@pytest.fixture
def counted(monkeypatch) -> dict[str, int]:
    """How often the lean path looked at a request, and how often the protocol wrote an answer."""
    counts = {"take": 0, "written": 0}
    take, write = LeanPath.take, LeanHttpProtocol._write

    async def counting_take(self: Any, *args: Any) -> Any:
        counts["take"] += 1
        return await take(self, *args)

    async def counting_write(self: Any, *args: Any) -> None:
        counts["written"] += 1
        await write(self, *args)

    monkeypatch.setattr(LeanPath, "take", counting_take)
    monkeypatch.setattr(LeanHttpProtocol, "_write", counting_write)
    return counts


def _headers(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "content-type": "application/json"}


def _post(token: str | None, body: bytes = QUERY, *, version: bytes = b"1.1", extra: bytes = b"") -> bytes:
    authorization = b"" if token is None else b"authorization: Bearer " + token.encode() + b"\r\n"
    return (
        b"POST /graphql HTTP/" + version + b"\r\nhost: test\r\ncontent-type: application/json\r\n"
        b"x-request-id: lean-protocol\r\n" + authorization + extra
        + b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )  # fmt: skip


async def _responses(reader: asyncio.StreamReader, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """``count`` responses read off the connection, in the order they came."""
    parser = h11.Connection(h11.CLIENT)
    # h11 reads responses only to requests it saw sent: one GET per response expected.
    answers: list[tuple[int, dict[str, str], bytes]] = []
    for _ in range(count):
        parser.send(h11.Request(method="GET", target="/", headers=[("host", "test")]))
        parser.send(h11.EndOfMessage())
        status, headers, body = 0, {}, b""
        while True:
            event = parser.next_event()
            if event is h11.NEED_DATA:
                parser.receive_data(await asyncio.wait_for(reader.read(65536), 10))
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = {name.decode(): value.decode() for name, value in event.headers}
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
        answers.append((status, headers, body))
        if parser.our_state is h11.MUST_CLOSE or parser.their_state is h11.MUST_CLOSE:
            break
        parser.start_next_cycle()
    return answers


def _comparable(status: int, headers: Any, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    kept = sorted((name, value) for name, value in dict(headers).items() if name not in ("date", "server"))
    return status, kept, body


async def _through_the_application(app: Any, raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """The same request sent to the ASGI application in process (the middleware's lean path)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")[1:]
    headers = [tuple(line.decode().split(": ", 1)) for line in lines]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        response = await http.post("/graphql", content=body, headers=headers)
    return _comparable(response.status_code, response.headers, response.content)


@pytest.mark.parametrize(
    ("body", "by_the_protocol"),
    [
        (QUERY, True),
        (
            orjson.dumps({"query": "query($id: ID!) { customer(id: $id) { name } }", "variables": {"id": "bm9wZQ=="}}),
            True,
        ),
        (orjson.dumps({"query": "{ customers { nope } }"}), False),  # the general path words request errors
        (orjson.dumps({"query": "subscription { __typename }"}), False),  # not for a POST
        (b'{"query": ', False),
    ],
)
async def test_an_answer_over_the_socket_is_the_applications_answer(app, token, counted, body, by_the_protocol):
    raw = _post(token, body)
    expected = await _through_the_application(app, raw)
    counted.update(take=0, written=0)
    async with serve(app) as origin:
        reader, writer = await asyncio.open_connection("127.0.0.1", int(origin.rsplit(":", 1)[1]))
        writer.write(raw)
        [(status, headers, answer)] = await _responses(reader, 1)
        writer.close()
    assert _comparable(status, headers, answer) == expected
    assert "date" in headers and "server" in headers  # the server's own headers, as uvicorn writes them
    assert counted == {"take": 1, "written": 1 if by_the_protocol else 0}  # looked at once, answered once


async def test_the_common_request_is_answered_by_the_protocol(app, token, counted):
    async with serve(app) as origin, httpx.AsyncClient(base_url=origin) as http:
        for _ in range(3):
            response = await http.post(
                "/graphql",
                content=QUERY,
                headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            )
            assert response.status_code == 200 and response.json()["data"]["customers"]["nodes"]
    assert counted == {"take": 3, "written": 3}


async def test_a_declined_request_is_answered_once_by_the_general_path(app, counted):
    async with serve(app) as origin:
        reader, writer = await asyncio.open_connection("127.0.0.1", int(origin.rsplit(":", 1)[1]))
        writer.write(_post("not-a-token"))
        [(status, _, body)] = await _responses(reader, 1)
        writer.close()
    assert status == 401 and orjson.loads(body)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert counted == {"take": 1, "written": 0}


async def test_pipelined_requests_are_answered_in_order(app, token, counted):
    other = orjson.dumps({"query": "{ customers(first: 1) { totalCount } }"})
    requests = (
        _post(token)
        + b"GET /livez HTTP/1.1\r\nhost: test\r\n\r\n"
        + _post(token, other)
        + _post(None)  # no token: the general path's 401
        + _post(token)
    )
    async with serve(app) as origin:
        reader, writer = await asyncio.open_connection("127.0.0.1", int(origin.rsplit(":", 1)[1]))
        writer.write(requests)  # all at once, before any answer
        answers = await _responses(reader, 5)
        writer.close()
    statuses = [status for status, _, _ in answers]
    assert statuses == [200, 200, 200, 401, 200]
    assert b"customers" in answers[0][2] and b"nodes" in answers[0][2]
    assert orjson.loads(answers[1][2]) == {"live": True}
    assert b"totalCount" in answers[2][2]
    assert answers[4][2] == answers[0][2]


async def test_http_1_0_and_connection_close_end_the_connection_after_the_answer(app, token):
    async with serve(app) as origin:
        port = int(origin.rsplit(":", 1)[1])
        for raw in (_post(token, version=b"1.0"), _post(token, extra=b"connection: close\r\n")):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            data = await asyncio.wait_for(reader.read(), 10)  # to the end: the server closed
            writer.close()
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert b"\r\nconnection: close" in head.lower()
            assert b"customers" in body


async def test_a_body_in_pieces_and_expect_continue_are_served(app, token):
    async with serve(app) as origin:
        port = int(origin.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        raw = _post(token)
        for piece in (raw[:30], raw[30:-20], raw[-20:-5], raw[-5:]):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.02)
        [(status, _, body)] = await _responses(reader, 1)
        assert status == 200 and b"customers" in body
        # Expect: 100-continue goes the general way (uvicorn answers 100 when the body is read).
        head, _, payload = _post(token, extra=b"expect: 100-continue\r\n").partition(b"\r\n\r\n")
        writer.write(head + b"\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert interim.startswith(b"HTTP/1.1 100")
        writer.write(payload)
        [(status, _, body)] = await _responses(reader, 1)
        assert status == 200 and b"customers" in body
        writer.close()


async def test_a_client_that_leaves_before_its_answer_leaves_the_server_serving(app, token):
    slow = orjson.dumps({"query": "{ ordersAggregate(groupBy: {bucket: DAY}) { bucket count } }"})
    async with serve(app) as origin:
        port = int(origin.rsplit(":", 1)[1])
        for _ in range(5):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_post(token, slow))
            await writer.drain()
            writer.close()  # gone before the answer
        async with httpx.AsyncClient(base_url=origin) as http:
            response = await http.post(
                "/graphql",
                content=QUERY,
                headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            )
        assert response.status_code == 200 and response.json()["data"]["customers"]["nodes"]
