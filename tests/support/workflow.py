"""Helpers for mutation tests: tokens of the seeded users, and payload checks."""

from __future__ import annotations

from typing import Any

import httpx

from resolvers.planner.ids import decode_id, encode_id
from tests.support.auth import token_for_user
from tests.support.graphql import data, gql, sql


def token(settings: Any, role: str, org: str = "acme") -> str:
    """The token of the seeded ``<role>@<org>.example`` user."""
    return token_for_user(settings, f"{role}@{org}.example")


async def mutate(client: httpx.AsyncClient, document: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    """Run a mutation document with one root field; return that field's payload."""
    result = await data(client, document, variables, token=token)
    (payload,) = result.values()
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def gid(type_name: str, pk: int) -> str:
    return encode_id(type_name, pk)


def pk(global_id: str, type_name: str | None = None) -> int:
    """The primary key a global ID names (of ``type_name``, when given)."""
    return decode_id(global_id, type_name)[1]


def count(url: Any, table: str, where: str = "TRUE", *params: Any) -> int:
    return sql(url, f"SELECT count(*) FROM {table} WHERE {where}", *params)[0][0]


__all__ = ["codes", "count", "data", "gid", "gql", "mutate", "pk", "sql", "token"]
