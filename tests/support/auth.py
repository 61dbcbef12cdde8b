"""Real access tokens for tests, signed with the test app's own keys.

``token_for`` mints a token for any principal (organization, roles, links);
``demo_user``/``token_for_user`` take the seeded demo users ("sales@acme.example",
"customer@globex.example" ...) from the database, so a test can act as them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import psycopg
from sqlalchemy.engine import URL

from app.auth.keys import load_key_ring
from app.auth.tokens import TokenIssuer
from app.config import Settings
from tests.support.db import conninfo

TEST_TTL_SECONDS = 3600  # longer than any test run; the default 15 minutes is not
TEST_CLIENT_ID = "bizgraph-tests"


@dataclass(frozen=True)
class DemoUser:
    user_id: int
    org_id: int
    org_slug: str
    email: str
    roles: frozenset[str]
    employee_id: int | None
    customer_id: int | None


def issuer_of(settings_or_app: Any) -> TokenIssuer:
    """The running app's own issuer, or one built from settings (same keys, same claims)."""
    state = getattr(settings_or_app, "state", None)
    if state is not None and hasattr(state, "auth"):
        return state.auth.issuer
    settings: Settings = settings_or_app
    return _issuer_for(settings)


@cache
def _issuer_for(settings: Settings) -> TokenIssuer:
    return TokenIssuer(
        load_key_ring(settings.signing_keys),
        issuer=settings.issuer,
        audience=settings.audience,
        ttl_seconds=TEST_TTL_SECONDS,
    )


def _database_url(settings_or_app: Any) -> URL:
    state = getattr(settings_or_app, "state", None)
    if state is not None and hasattr(state, "database"):
        return state.database.url
    return settings_or_app.database_url


def token_for(
    settings_or_app: Any,
    *,
    org_id: int,
    roles: Iterable[str],
    employee_id: int | None = None,
    customer_id: int | None = None,
    user_id: int | None = None,
    email: str | None = None,
    org_slug: str | None = None,
    service: bool = False,
    ttl_seconds: int = TEST_TTL_SECONDS,
) -> str:
    """A signed access token for the principal described. A user token unless
    ``service``; a user token without ``user_id`` gets a made-up id, since many tests
    only care about the roles and links."""
    issuer = issuer_of(settings_or_app)
    slug = org_slug or organization_slug(_database_url(settings_or_app), org_id)
    if service:
        token = issuer.for_client(
            client_id=TEST_CLIENT_ID, org_id=org_id, org_slug=slug, scopes=roles, ttl_seconds=ttl_seconds
        )
    else:
        token = issuer.for_user(
            user_id=user_id or 999_999_999,
            email=email or f"test@{slug}.example",
            org_id=org_id,
            org_slug=slug,
            roles=roles,
            client_id=TEST_CLIENT_ID,
            employee_id=employee_id,
            customer_id=customer_id,
            ttl_seconds=ttl_seconds,
        )
    return token.access_token


def token_for_user(settings_or_app: Any, email: str, **overrides: Any) -> str:
    """A token for a seeded user, carrying exactly what the token endpoint would put in it."""
    user = demo_user(_database_url(settings_or_app), email)
    claims = {
        "org_id": user.org_id,
        "org_slug": user.org_slug,
        "roles": user.roles,
        "user_id": user.user_id,
        "email": user.email,
        "employee_id": user.employee_id,
        "customer_id": user.customer_id,
    }
    return token_for(settings_or_app, **{**claims, **overrides})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@cache
def demo_user(url: URL, email: str) -> DemoUser:
    """A seeded user by email (demo emails name their organization, so there is one)."""
    with psycopg.connect(conninfo(url)) as conn:
        rows = conn.execute(
            "SELECT user_id, org_id, org_slug, roles, employee_id, customer_id FROM bizgraph_login_candidates(%s)",
            (email,),
        ).fetchall()
    if len(rows) != 1:
        raise LookupError(f"expected one user {email!r}, found {len(rows)}")
    user_id, org_id, org_slug, roles, employee_id, customer_id = rows[0]
    return DemoUser(user_id, org_id, org_slug, email, frozenset(roles), employee_id, customer_id)


@cache
def organization_slug(url: URL, org_id: int) -> str:
    with psycopg.connect(conninfo(url)) as conn:
        row = conn.execute("SELECT slug FROM organizations WHERE id = %s", (org_id,)).fetchone()
    if row is None:
        raise LookupError(f"no organization {org_id}")
    return row[0]
