"""The organizations' own users, as the principals a simulated action runs as.

A simulated order is placed by a sales rep for one of the rep's accounts and approved by finance
or by the rep's manager, exactly as those users' tokens would allow: the principal is made from the
user's row the way a token of that user is read (``app.auth.claims``)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from app.auth.principal import Principal
from app.db import Database
from app.errors import BizgraphError

# A user is one of the organization's people; `admin` stands in only where nobody else may act.
_FALLBACK_ROLE = "admin"


@dataclass(frozen=True)
class Staff:
    """One organization and its enabled users."""

    org_id: int
    slug: str
    users: tuple[Principal, ...]

    def who_may(self, roles: frozenset[str]) -> list[Principal]:
        """The users holding one of ``roles``; admins only when no one else does."""
        specific = [user for user in self.users if user.has_any(roles - {_FALLBACK_ROLE})]
        return specific or [user for user in self.users if user.has_any(roles)]

    def pick(self, roles: frozenset[str], chance: random.Random) -> Principal | None:
        eligible = self.who_may(roles)
        return chance.choice(eligible) if eligible else None


_USERS = (
    "SELECT id, email, roles, employee_id, customer_id FROM users"
    " WHERE org_id = %(org)s AND disabled_at IS NULL AND cardinality(roles) > 0 ORDER BY id"
)


async def load_staff(database: Database, slug: str | None) -> list[Staff]:
    """The organization named ``slug`` (every one when None) with its users; an unknown slug,
    or an organization with no user at all, is refused with a clear message."""
    async with database.read() as connection:
        # The one cross-organization question, answered by a definer function (alembic 0003).
        result = await connection.exec_driver_sql("SELECT id, slug FROM bizgraph_organizations() ORDER BY id")
        organizations: Sequence[tuple[int, str]] = [(row.id, row.slug) for row in result]
    if slug is not None:
        organizations = [org for org in organizations if org[1] == slug]
        if not organizations:
            raise BizgraphError(f"no organization with the slug {slug!r}")
    if not organizations:
        raise BizgraphError("the database has no organization: run `bizgraph seed` first")
    staff = []
    for org_id, org_slug in organizations:
        async with database.unit_of_work(org_id) as connection:
            rows = (await connection.exec_driver_sql(_USERS, {"org": org_id})).mappings().all()
        users = tuple(
            Principal(
                org_id=org_id,
                subject=str(row["id"]),
                roles=frozenset(row["roles"]),
                kind="user",
                user_id=row["id"],
                email=row["email"],
                employee_id=row["employee_id"],
                customer_id=row["customer_id"],
            )
            for row in rows
        )
        if not users:
            raise BizgraphError(f"organization {org_slug!r} has no users to act as (create some with create-user)")
        staff.append(Staff(org_id, org_slug, users))
    return staff
