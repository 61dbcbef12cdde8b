"""Sign-in identities: users and service clients, as the token endpoint and the CLI need them.

Reads happen before the caller knows the organization, so with row-level
security on they can only go through the SECURITY DEFINER functions of
migrations 0003 and 0006 (``bizgraph_login_candidates``, ``bizgraph_oauth_client``,
``bizgraph_organization``, ``bizgraph_token_user``) — never through the tables
themselves. Disabled users are not login candidates.

Writes (the CLI's ``create-user``/``create-client``/``disable-user``) run as the migrating owner
and name the organization of their transaction first, so they pass the
policies' WITH CHECK even where the owner is not a superuser.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.token_users import UserStanding
from app.db import SET_ORGANIZATION
from app.errors import BadUserInput


@dataclass(frozen=True)
class LoginCandidate:
    """A user that an email may sign in as (an email can exist in several organizations)."""

    user_id: int
    org_id: int
    org_slug: str
    email: str
    password_hash: str | None
    roles: frozenset[str]
    employee_id: int | None
    customer_id: int | None


@dataclass(frozen=True)
class ServiceClientRecord:
    id: int
    org_id: int
    org_slug: str
    client_id: str
    secret_hash: str
    name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class OrganizationRecord:
    id: int
    slug: str
    name: str


LOGIN_CANDIDATES = text(
    "SELECT user_id, org_id, org_slug, password_hash, roles, employee_id, customer_id"
    " FROM bizgraph_login_candidates(:email)"
)
OAUTH_CLIENT = text(
    "SELECT id, org_id, org_slug, client_id, secret_hash, name, scopes FROM bizgraph_oauth_client(:client_id)"
)
ORGANIZATION = text("SELECT id, slug, name FROM bizgraph_organization(:slug)")
TOKEN_USERS = text(
    "SELECT wanted.id, u.org_id, u.roles, u.enabled FROM unnest(CAST(:user_ids AS bigint[])) AS wanted(id)"
    " CROSS JOIN LATERAL bizgraph_token_user(wanted.id) AS u"
)


def _candidate(email: str, row: Sequence[Any]) -> LoginCandidate:
    user_id, org_id, org_slug, password_hash, roles, employee_id, customer_id = row
    return LoginCandidate(
        user_id, org_id, org_slug, email, password_hash, frozenset(roles or ()), employee_id, customer_id
    )


def _client(row: Sequence[Any] | None) -> ServiceClientRecord | None:
    if row is None:
        return None
    id_, org_id, org_slug, client_id, secret_hash, name, scopes = row
    return ServiceClientRecord(id_, org_id, org_slug, client_id, secret_hash, name, frozenset(scopes or ()))


def _organization(row: Sequence[Any] | None) -> OrganizationRecord | None:
    return None if row is None else OrganizationRecord(*row)


# --- reads, from the server's pool -----------------------------------------------------------


async def login_candidates(connection: AsyncConnection, email: str) -> list[LoginCandidate]:
    result = await connection.execute(LOGIN_CANDIDATES, {"email": email})
    return [_candidate(email, row) for row in result.all()]


async def oauth_client(connection: AsyncConnection, client_id: str) -> ServiceClientRecord | None:
    result = await connection.execute(OAUTH_CLIENT, {"client_id": client_id})
    return _client(result.first())


async def organization_by_slug(connection: AsyncConnection, slug: str) -> OrganizationRecord | None:
    result = await connection.execute(ORGANIZATION, {"slug": slug})
    return _organization(result.first())


async def token_users(connection: AsyncConnection, user_ids: Collection[int]) -> dict[int, UserStanding]:
    """The organization, roles and enabled flag of each user tokens name; a user that is gone
    is not in the answer."""
    result = await connection.execute(TOKEN_USERS, {"user_ids": list(user_ids)})
    return {
        user_id: UserStanding(org_id=org_id, roles=frozenset(roles or ()), enabled=bool(enabled))
        for user_id, org_id, roles, enabled in result.all()
    }


# --- the CLI, as the migrating owner ---------------------------------------------------------


def find_organization(connection: Connection, slug: str) -> OrganizationRecord:
    organization = _organization(connection.execute(ORGANIZATION, {"slug": slug}).first())
    if organization is None:
        raise BadUserInput(f"no organization with slug {slug!r}", field=["org"])
    return organization


def find_login(connection: Connection, organization: OrganizationRecord, email: str) -> LoginCandidate:
    rows = connection.execute(LOGIN_CANDIDATES, {"email": email}).all()
    for candidate in (_candidate(email, row) for row in rows):
        if candidate.org_id == organization.id:
            return candidate
    raise BadUserInput(f"no user {email!r} in organization {organization.slug!r}", field=["email"])


def _enter_organization(connection: Connection, org_id: int) -> None:
    # ``true``: local to this transaction, so a pooled connection never keeps it.
    connection.exec_driver_sql(SET_ORGANIZATION, (str(org_id),))


def _exists(connection: Connection, table: str, org_id: int, row_id: int) -> bool:
    query = text(f"SELECT EXISTS (SELECT FROM {table} WHERE id = :id AND org_id = :org_id)")
    return bool(connection.execute(query, {"id": row_id, "org_id": org_id}).scalar())


def create_user(
    connection: Connection,
    organization: OrganizationRecord,
    *,
    email: str,
    password_hash: str,
    roles: Sequence[str],
    employee_id: int | None = None,
    customer_id: int | None = None,
) -> int:
    """Insert a user into ``organization``; the caller commits."""
    _enter_organization(connection, organization.id)
    if employee_id is not None and not _exists(connection, "employees", organization.id, employee_id):
        raise BadUserInput(f"no employee {employee_id} in organization {organization.slug!r}", field=["employee"])
    if customer_id is not None and not _exists(connection, "customers", organization.id, customer_id):
        raise BadUserInput(f"no customer {customer_id} in organization {organization.slug!r}", field=["customer"])
    insert = text(
        "INSERT INTO users (org_id, email, password_hash, roles, employee_id, customer_id)"
        " VALUES (:org_id, :email, :password_hash, :roles, :employee_id, :customer_id) RETURNING id"
    )
    params = {
        "org_id": organization.id,
        "email": email,
        "password_hash": password_hash,
        "roles": list(roles),
        "employee_id": employee_id,
        "customer_id": customer_id,
    }
    try:
        with connection.begin_nested():
            user_id: int = connection.execute(insert, params).scalar_one()
            return user_id
    except IntegrityError:
        raise BadUserInput(
            f"{email!r} already has an account in organization {organization.slug!r}", field=["email"]
        ) from None


def create_client(
    connection: Connection,
    organization: OrganizationRecord,
    *,
    client_id: str,
    secret_hash: str,
    name: str,
    scopes: Sequence[str],
) -> int:
    """Insert a service client into ``organization``; the caller commits."""
    _enter_organization(connection, organization.id)
    insert = text(
        "INSERT INTO oauth_clients (org_id, client_id, secret_hash, name, scopes)"
        " VALUES (:org_id, :client_id, :secret_hash, :name, :scopes) RETURNING id"
    )
    params = {
        "org_id": organization.id,
        "client_id": client_id,
        "secret_hash": secret_hash,
        "name": name,
        "scopes": list(scopes),
    }
    new_id: int = connection.execute(insert, params).scalar_one()
    return new_id


def disable_user(connection: Connection, organization: OrganizationRecord, email: str) -> int:
    """Mark a user of ``organization`` disabled (kept as it was if already); the caller commits."""
    _enter_organization(connection, organization.id)
    update = text(
        "UPDATE users SET disabled_at = coalesce(disabled_at, now())"
        " WHERE org_id = :org_id AND lower(email) = lower(:email) RETURNING id"
    )
    user_id = connection.execute(update, {"org_id": organization.id, "email": email}).scalar()
    if user_id is None:
        raise BadUserInput(f"no user {email!r} in organization {organization.slug!r}", field=["email"])
    return int(user_id)
