"""Idempotency keys: a repeated request returns the first one's result.

The first request with a key inserts it and goes ahead; the row stays locked
until its transaction ends. A concurrent request with the same key waits on
that insert, then finds the committed key and returns the same entity without
acting. If the first request is refused or fails, its key goes with it and the
next request acts. The same key with another operation or input is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.errors import CommandError
from resolvers.writes.session import WriteSession, to_json

KEY_MAX_LENGTH = 100


def fingerprint(operation: str, request: Any) -> str:
    """A hash of what the request asks for, blind to how the numbers are spelled ("5.0" = "5.00")."""
    return hashlib.sha256(to_json([operation, _canonical(request)]).encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


@dataclass(frozen=True)
class Replay:
    entity_type: str
    entity_id: int


async def claim(session: WriteSession, key: str, operation: str, request: Any) -> Replay | None:
    """None if this request is the first with ``key`` (and must call ``remember``),
    else the entity the first one produced."""
    if not key.strip() or len(key) > KEY_MAX_LENGTH:
        raise CommandError(
            "INVALID", f"idempotency key must be 1 to {KEY_MAX_LENGTH} characters", field=["idempotency_key"]
        )
    digest = fingerprint(operation, request)
    inserted = await session.value(
        "INSERT INTO idempotency_keys (org_id, key, operation, request_hash)"
        " VALUES (%(org)s, %(key)s, %(op)s, %(hash)s)"
        " ON CONFLICT (org_id, key) DO NOTHING RETURNING 1",
        {"key": key, "op": operation, "hash": digest},
    )
    if inserted:
        return None
    first = await session.row(
        "SELECT operation, request_hash, entity_type, entity_id FROM idempotency_keys"
        " WHERE org_id = %(org)s AND key = %(key)s",
        {"key": key},
    )
    if first is None or first["operation"] != operation or first["request_hash"] != digest:
        raise CommandError(
            "IDEMPOTENCY_KEY_REUSED",
            "this idempotency key was used for a different request",
            field=["idempotency_key"],
        )
    return Replay(first["entity_type"], first["entity_id"])


async def remember(session: WriteSession, key: str, entity_type: str, entity_id: int) -> None:
    await session.execute(
        "UPDATE idempotency_keys SET entity_type = %(type)s, entity_id = %(id)s"
        " WHERE org_id = %(org)s AND key = %(key)s",
        {"type": entity_type, "id": entity_id, "key": key},
    )
