"""Account administration for the command line: users, service clients, development tokens.

These run as the database owner (``DATABASE_URL``'s user), not as the server's
restricted role, each in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from app.auth.keys import KeyRing, demo_key_path, load_key_ring
from app.auth.passwords import hash_secret
from app.auth.principal import ROLES, SERVICE_ROLES
from app.auth.tokens import DEV_CLIENT_ID, IssuedToken, TokenIssuer
from app.config import Settings
from app.db import sync_engine
from app.errors import BadUserInput, ConfigError
from resolvers.accounts import store as accounts

MIN_PASSWORD_LENGTH = 8
# Roles that only mean something for a person linked to an employee or a customer.
EMPLOYEE_ROLES = frozenset({"sales", "manager", "employee"})


@dataclass(frozen=True)
class NewClient:
    client_id: str
    client_secret: str


def create_user(
    settings: Settings,
    *,
    org: str,
    email: str,
    password: str,
    roles: Sequence[str],
    employee_id: int | None = None,
    customer_id: int | None = None,
) -> int:
    email = email.strip()
    if "@" not in email:
        raise BadUserInput(f"{email!r} is not an email address", field=["email"])
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadUserInput(f"the password needs at least {MIN_PASSWORD_LENGTH} characters", field=["password"])
    wanted = _known(roles, ROLES, "role")
    if wanted & EMPLOYEE_ROLES and employee_id is None:
        raise BadUserInput(f"role(s) {', '.join(sorted(wanted & EMPLOYEE_ROLES))} need --employee ID", field=["role"])
    if "customer" in wanted and customer_id is None:
        raise BadUserInput("role customer needs --customer ID", field=["role"])
    password_hash = hash_secret(password)
    with _owner(settings).begin() as connection:
        organization = accounts.find_organization(connection, org)
        return accounts.create_user(
            connection,
            organization,
            email=email,
            password_hash=password_hash,
            roles=sorted(wanted),
            employee_id=employee_id,
            customer_id=customer_id,
        )


def create_client(settings: Settings, *, org: str, name: str, scopes: Sequence[str]) -> NewClient:
    wanted = _known(scopes, SERVICE_ROLES, "scope")
    if not name.strip():
        raise BadUserInput("the client needs a name", field=["name"])
    client_id = "bgc_" + secrets.token_urlsafe(12)
    secret = secrets.token_urlsafe(32)
    with _owner(settings).begin() as connection:
        organization = accounts.find_organization(connection, org)
        accounts.create_client(
            connection,
            organization,
            client_id=client_id,
            secret_hash=hash_secret(secret),
            name=name.strip(),
            scopes=sorted(wanted),
        )
    return NewClient(client_id=client_id, client_secret=secret)


def disable_user(settings: Settings, *, org: str, email: str) -> int:
    """Stop a user from signing in; the server refuses its tokens within BIZGRAPH_TOKEN_USER_CACHE_SECONDS."""
    with _owner(settings).begin() as connection:
        organization = accounts.find_organization(connection, org)
        return accounts.disable_user(connection, organization, email.strip())


def issue_token(settings: Settings, *, org: str, email: str, ttl_seconds: int | None = None) -> IssuedToken:
    """A signed access token for a user, without a password: for development."""
    if ttl_seconds is not None and ttl_seconds > settings.max_token_lifetime_seconds:
        # The server would refuse such a token: say so now rather than on its first use.
        raise BadUserInput(
            f"--ttl {ttl_seconds} exceeds BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS ({settings.max_token_lifetime_seconds})",
            field=["ttl"],
        )
    keys = development_keys(settings)
    with _owner(settings).connect() as connection:
        organization = accounts.find_organization(connection, org)
        user = accounts.find_login(connection, organization, email.strip())
    if not user.roles:
        raise BadUserInput(f"{email!r} has no role", field=["email"])
    issuer = TokenIssuer(
        keys, issuer=settings.issuer, audience=settings.audience, ttl_seconds=settings.access_token_ttl_seconds
    )
    return issuer.for_user(
        user_id=user.user_id,
        email=user.email,
        org_id=user.org_id,
        org_slug=user.org_slug,
        roles=user.roles,
        client_id=DEV_CLIENT_ID,
        employee_id=user.employee_id,
        customer_id=user.customer_id,
        ttl_seconds=ttl_seconds,
    )


def development_keys(settings: Settings) -> KeyRing:
    """The configured keys, or else the key ``serve --demo`` made, if it did."""
    paths: Sequence[Path] = settings.signing_keys
    if not paths and demo_key_path(settings.data_dir).exists():
        paths = (demo_key_path(settings.data_dir),)
    if not paths:
        raise ConfigError("BIZGRAPH_SIGNING_KEYS is not set (and `bizgraph serve --demo` has made no demo key yet)")
    return load_key_ring(paths)


def _owner(settings: Settings) -> Engine:
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is not set (e.g. postgresql://user@localhost:5432/bizgraph)")
    return sync_engine(settings.database_url, settings)


def _known(names: Sequence[str], allowed: frozenset[str], what: str) -> frozenset[str]:
    wanted = frozenset(name.strip() for name in names if name.strip())
    if not wanted:
        raise BadUserInput(f"give at least one --{what}", field=[what])
    unknown = sorted(wanted - allowed)
    if unknown:
        raise BadUserInput(
            f"unknown {what}(s) {', '.join(unknown)}; choose from {', '.join(sorted(allowed))}", field=[what]
        )
    return wanted
