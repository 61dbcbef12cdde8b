"""Relay global IDs: ``base64("<Type>:<primary key>")``."""

from __future__ import annotations

import base64
import binascii

from app.errors import InvalidId

MAX_BIGINT = 2**63 - 1


def encode_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def global_id_sql(type_name: str, pk_sql: str) -> str:
    """The same encoding, computed by PostgreSQL (short inputs: no line breaks)."""
    return f"encode(convert_to('{type_name}:' || {pk_sql}, 'UTF8'), 'base64')"


def decode_id(global_id: str, expected: str | frozenset[str] | None = None) -> tuple[str, int]:
    """Split a global ID into (type, pk); ``InvalidId`` when it is garbled or of another type."""
    try:
        raw = base64.b64decode(global_id.encode(), validate=True).decode()
        type_name, _, pk_text = raw.partition(":")
        pk = int(pk_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidId(f"{global_id!r} is not a valid ID") from None
    if not type_name or pk < 1 or pk > MAX_BIGINT or pk_text != str(pk):
        raise InvalidId(f"{global_id!r} is not a valid ID")
    if expected is not None:
        allowed = {expected} if isinstance(expected, str) else expected
        if type_name not in allowed:
            raise InvalidId(f"{global_id!r} is not the ID of a {' or '.join(sorted(allowed))}")
    return type_name, pk
