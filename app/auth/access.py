"""The policy table applied to one principal's roles: which rows, which fields.

Pure decisions over scope names; turning a scope into SQL is the planner's job
(``resolvers/planner/access.py``), explaining it is ``me``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from app.auth import policy
from app.auth.policy import ALL, SAME_ROWS

NO_ROWS: frozenset[str] = frozenset()
EVERY_ROW: frozenset[str] = frozenset({ALL})


@dataclass(frozen=True)
class FieldAccess:
    """``allowed``: on every row the principal sees; ``denied``: on none;
    ``some rows``: on the rows of ``scopes`` only."""

    kind: Literal["allowed", "denied", "some rows"]
    scopes: frozenset[str] = NO_ROWS


ALLOWED = FieldAccess("allowed")
DENIED = FieldAccess("denied")


def _union(scopes: set[str]) -> frozenset[str]:
    # ALL swallows every narrower scope.
    return EVERY_ROW if ALL in scopes else frozenset(scopes)


@lru_cache(maxsize=4096)
def row_scopes(type_name: str, roles: frozenset[str]) -> frozenset[str]:
    """The scopes whose rows the roles see together; empty: no row exists for them."""
    table = policy.ROWS.get(type_name, {})
    return _union({table[role] for role in roles if role in table})


@lru_cache(maxsize=4096)
def aggregate_scopes(type_name: str, roles: frozenset[str]) -> frozenset[str]:
    table = policy.AGGREGATES.get(type_name, {})
    return _union({table[role] for role in roles if role in table})


@lru_cache(maxsize=16384)
def readable_scopes(type_name: str, field_name: str, roles: frozenset[str]) -> frozenset[str]:
    """The scopes of the rows on which the roles may read the field."""
    rule = policy.FIELDS.get(type_name, {}).get(field_name)
    if rule is None:
        return EVERY_ROW
    rows = policy.ROWS.get(type_name, {})
    granted: set[str] = set()
    for role in roles:
        scope = rule.get(role)
        if scope == SAME_ROWS:
            scope = rows.get(role)  # a role that sees no row reads no field of it
        if scope is not None:
            granted.add(scope)
    return _union(granted)


@lru_cache(maxsize=16384)
def field_access(type_name: str, field_name: str, roles: frozenset[str]) -> FieldAccess:
    readable = readable_scopes(type_name, field_name, roles)
    if not readable:
        return DENIED
    if ALL in readable or row_scopes(type_name, roles) <= readable:
        # Every row these roles can see is one the field may be read on.
        return ALLOWED
    return FieldAccess("some rows", readable)


@lru_cache(maxsize=256)
def restricted_fields(type_name: str) -> frozenset[str]:
    """The fields the policy table names for this type."""
    return frozenset(policy.FIELDS.get(type_name, {}))


def readable_in_aggregate(type_name: str, field_name: str, roles: frozenset[str]) -> bool:
    """Whether every row the roles may aggregate is one they may also read the field on."""
    readable = readable_scopes(type_name, field_name, roles)
    return ALL in readable or aggregate_scopes(type_name, roles) <= readable


def may_use_tool(tool: str, roles: frozenset[str]) -> bool:
    """Whether any of ``roles`` may use ``tool`` (``policy.TOOLS``: "plan", "plan_analyze")."""
    return not roles.isdisjoint(policy.TOOLS.get(tool, frozenset()))
