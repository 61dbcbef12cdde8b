"""Everything authentication needs at run time, built once in the lifespan.

``AuthServices.build`` reads the signing keys (a bad key fails the start, not a
request), and creates the one HTTP client the JWKS fetches share; ``aclose``
closes it at shutdown.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import anyio
import httpx
from authlib.common.security import is_secure_transport

from app.auth.keys import KeyRing, load_key_ring
from app.auth.organizations import OrganizationIds
from app.auth.remote_keys import RemoteKeySet
from app.auth.throttle import LoginThrottle, ThrottleLimits
from app.auth.token_users import TokenUsers, UserStanding
from app.auth.tokens import TokenIssuer
from app.auth.verify import Authenticator
from app.config import Settings
from app.db import Database
from app.errors import ConfigError
from app.http.oauth.token_endpoint import TokenServer
from resolvers.accounts import store as accounts

CONCURRENT_PASSWORD_CHECKS = 4


@dataclass(frozen=True)
class AuthEndpoints:
    """Where the authorization server lives, as published in its metadata."""

    issuer: str
    token: str
    jwks: str


def auth_endpoints(settings: Settings) -> AuthEndpoints:
    token = f"{settings.issuer}/oauth/token"
    # authlib refuses to build a request for a plain-http endpoint elsewhere than on
    # loopback; say so at start rather than on the first token request.
    if not is_secure_transport(token):
        raise ConfigError(
            f"BIZGRAPH_ISSUER {settings.issuer!r}: OAuth 2 needs https:// (http:// only on a loopback host;"
            " behind a trusted TLS proxy set AUTHLIB_INSECURE_TRANSPORT=1)"
        )
    return AuthEndpoints(issuer=settings.issuer, token=token, jwks=f"{settings.issuer}/.well-known/jwks.json")


@dataclass
class AuthServices:
    keys: KeyRing
    issuer: TokenIssuer
    authenticator: Authenticator
    token_server: TokenServer
    database: Database
    http: httpx.AsyncClient
    hashing_limiter: anyio.CapacityLimiter
    endpoints: AuthEndpoints
    throttle: LoginThrottle

    @classmethod
    def build(cls, settings: Settings, database: Database, *, keys: KeyRing | None = None) -> AuthServices:
        keys = keys or load_key_ring(settings.signing_keys)
        issuer = TokenIssuer(
            keys, issuer=settings.issuer, audience=settings.audience, ttl_seconds=settings.access_token_ttl_seconds
        )
        http = httpx.AsyncClient(headers={"User-Agent": "bizgraph"}, follow_redirects=False)

        async def organization_id(slug: str) -> int | None:
            organization = await database.reading(lambda connection: accounts.organization_by_slug(connection, slug))
            return None if organization is None else organization.id

        async def token_users(user_ids: Collection[int]) -> Mapping[int, UserStanding]:
            return await database.reading(lambda connection: accounts.token_users(connection, user_ids))

        users = TokenUsers(token_users, ttl_seconds=settings.token_user_cache_seconds)
        authenticator = Authenticator(
            keys=keys,
            issuer=settings.issuer,
            audience=settings.audience,
            leeway_seconds=settings.token_leeway_seconds,
            max_lifetime_seconds=settings.max_token_lifetime_seconds,
            users=users if settings.check_token_users else None,
            trusted=settings.trusted_issuers,
            remote_keys={entry.issuer: RemoteKeySet(entry, http) for entry in settings.trusted_issuers},
            organizations=OrganizationIds(organization_id),
        )
        return cls(
            keys=keys,
            issuer=issuer,
            authenticator=authenticator,
            token_server=TokenServer(issuer),
            database=database,
            http=http,
            hashing_limiter=anyio.CapacityLimiter(CONCURRENT_PASSWORD_CHECKS),
            endpoints=auth_endpoints(settings),
            throttle=LoginThrottle(
                ThrottleLimits(
                    failures_before_delay=settings.login_failures_before_delay,
                    failures_before_lockout=settings.login_failures_before_lockout,
                    lockout_seconds=settings.login_lockout_seconds,
                    window_seconds=settings.login_failure_window_seconds,
                )
            ),
        )

    async def aclose(self) -> None:
        await self.http.aclose()
