"""The messages of graphql-transport-ws: reading the client's, writing the server's.

A client message that is not one the protocol defines, in the shape it defines, is a protocol
violation: the socket closes with 4400 and the reason. Server messages are UTF-8 JSON built as
bytes around payloads that are already JSON (a feed's messages are spliced in, never decoded again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from app.http.live import close_codes
from app.http.live.close_codes import Close


class ProtocolViolation(Exception):
    """The client broke the protocol: the socket closes with ``close``."""

    def __init__(self, close: Close) -> None:
        super().__init__(close.reason)
        self.close = close


@dataclass(frozen=True)
class ConnectionInit:
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Pong:
    pass


@dataclass(frozen=True)
class Subscribe:
    id: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Complete:
    id: str


ClientMessage = ConnectionInit | Ping | Pong | Subscribe | Complete


def parse_message(text: str | bytes) -> ClientMessage:
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _invalid("Invalid message received: not JSON") from None
    if not isinstance(message, dict):
        raise _invalid("Invalid message received: not an object")
    kind = message.get("type")
    if kind == "connection_init":
        return ConnectionInit(_optional_payload(message))
    if kind == "ping":
        _optional_payload(message)
        return Ping()
    if kind == "pong":
        _optional_payload(message)
        return Pong()
    if kind == "subscribe":
        payload = message.get("payload")
        if not isinstance(payload, dict):
            raise _invalid('Invalid message received: "subscribe" needs an object "payload"')
        return Subscribe(_id(message), payload)
    if kind == "complete":
        return Complete(_id(message))
    if isinstance(kind, str):
        raise _invalid(f"Invalid message received: unexpected type {kind!r}")
    raise _invalid('Invalid message received: no "type"')


def _id(message: dict[str, Any]) -> str:
    value = message.get("id")
    if not isinstance(value, str) or not value:
        raise _invalid('Invalid message received: "id" must be a non-empty string')
    return value


def _optional_payload(message: dict[str, Any]) -> Mapping[str, Any]:
    payload = message.get("payload")
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise _invalid('Invalid message received: "payload" must be an object')
    return payload


def _invalid(reason: str) -> ProtocolViolation:
    return ProtocolViolation(Close(close_codes.BAD_REQUEST, close_codes.bounded_reason(reason)))


ACK = b'{"type":"connection_ack"}'
PING = b'{"type":"ping"}'
PONG = b'{"type":"pong"}'


def next_prefix(operation_id: str) -> bytes:
    """What every ``next`` message of one operation starts with: a feed's messages are framed
    by concatenation (``prefix + payload + b"}"``), each payload spliced in as it is, so an
    answer serialized once for a whole group is never copied into a text or decoded again."""
    return b'{"id":' + orjson.dumps(operation_id) + b',"type":"next","payload":'


NEXT_SUFFIX = b"}"


def next_frame(operation_id: str, payload: bytes) -> bytes:
    """A ``next`` message around ``payload``, the JSON of an execution result, spliced as it is."""
    return next_prefix(operation_id) + payload + NEXT_SUFFIX


def error_frame(operation_id: str, errors: list[Any]) -> bytes:
    return b'{"id":' + orjson.dumps(operation_id) + b',"type":"error","payload":' + orjson.dumps(errors) + b"}"


def complete_frame(operation_id: str) -> bytes:
    return b'{"id":' + orjson.dumps(operation_id) + b',"type":"complete"}'
