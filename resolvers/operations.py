"""Stored operations: the documents of persisted-query manifests, by the SHA-256 of their text.

The server only reads them (its role may do nothing else, alembic 0007), one look-up per
hash it has not met yet; ``bizgraph operations push``/``list`` write and list them as the
database owner, each in one transaction. The table belongs to no organization, so no
organization is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db import Database, sync_engine
from app.errors import ConfigError
from app.models import StoredOperation


@dataclass(frozen=True)
class Operation:
    """One operation of a manifest, checked against the schema, ready to store."""

    sha256: str
    document: str
    name: str | None
    type: str


@dataclass(frozen=True)
class Listed:
    sha256: str
    name: str | None
    type: str
    created_at: datetime


async def find_document(database: Database, sha256: str) -> str | None:
    """The stored document with this hash, or None."""

    async def look_up(connection: AsyncConnection) -> str | None:
        result = await connection.execute(select(StoredOperation.document).where(StoredOperation.sha256 == sha256))
        return result.scalar_one_or_none()

    return await database.reading(look_up)


def store(settings: Settings, operations: Sequence[Operation]) -> int:
    """Store the operations not stored yet, all or none; how many were new."""
    if not operations:
        return 0
    rows = [
        {"sha256": op.sha256, "document": op.document, "operation_name": op.name, "operation_type": op.type}
        for op in operations
    ]
    # The key is the text's hash: a document stored before is this very document.
    statement = (
        insert(StoredOperation)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["sha256"])
        .returning(StoredOperation.sha256)
    )
    with _owner(settings).begin() as connection:
        return len(connection.execute(statement).all())


def list_stored(settings: Settings) -> list[Listed]:
    columns = StoredOperation
    statement = select(columns.sha256, columns.operation_name, columns.operation_type, columns.created_at).order_by(
        columns.operation_name.nulls_last(), columns.sha256
    )
    with _owner(settings).connect() as connection:
        return [Listed(*row) for row in connection.execute(statement)]


def _owner(settings: Settings) -> Engine:
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is not set (e.g. postgresql://user@localhost:5432/bizgraph)")
    return sync_engine(settings.database_url, settings)
