"""The body and headers of a webhook message (README "Webhooks" shows one).

The body follows the Standard Webhooks shape (``type``, ``timestamp``, ``data``) and
adds the event's ID and the global ID of the entity it is about, so a receiver can
read more through the GraphQL API. ``webhook-id`` is the event's global ID: the same
on every attempt and redelivery, so a receiver can drop a message it already has.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson

from app.delivery import signing
from app.delivery.claims import Claimed


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def body(claimed: Claimed) -> bytes:
    return orjson.dumps(
        {
            "id": claimed.event_gid,
            "type": claimed.event_type,
            "timestamp": claimed.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "entityType": claimed.entity_type,
            "entityId": claimed.entity_gid,
            "data": claimed.payload,
        },
        default=_default,
    )


def headers(claimed: Claimed, secrets: list[str], sent_at: dt.datetime, content: bytes) -> dict[str, str]:
    return signing.headers(secrets, claimed.event_gid, int(sent_at.timestamp()), content)
