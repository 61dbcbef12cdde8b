"""Access tokens bizgraph issues: RFC 9068 JWTs signed with the first configured key.

Header: ``{"typ": "at+jwt", "alg": "ES256" | "RS256", "kid": <RFC 7638 thumbprint>}``.

Claims, every token:
    iss, aud, sub, exp, iat, nbf, jti  — RFC 7519 / 9068
    client_id  — the OAuth client the token was issued to
    scope      — the granted roles, space-separated (RFC 9068 §2.2.3)
    org, org_id — the organization's slug and id
    roles      — the granted roles as a list (what authorization reads)
Claims of a user's token, in addition:
    user_id, email, and employee_id / customer_id when the user is linked to one
``sub`` is the user's id (as a string) for a user, the client id for a service.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from joserfc import jwt

from app.auth.keys import KeyRing

# The public client of the password grant that development sign-ins use
# (the CLI's issue-token and the demo's curl line name it).
DEV_CLIENT_ID = "bizgraph-dev"

TOKEN_TYPE = "at+jwt"


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str

    def as_response(self) -> dict[str, Any]:
        """The body of a successful token response (RFC 6749 §5.1)."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


class TokenIssuer:
    def __init__(
        self,
        keys: KeyRing,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def for_user(
        self,
        *,
        user_id: int,
        email: str,
        org_id: int,
        org_slug: str,
        roles: Iterable[str],
        client_id: str,
        employee_id: int | None = None,
        customer_id: int | None = None,
        ttl_seconds: int | None = None,
    ) -> IssuedToken:
        claims: dict[str, Any] = {"sub": str(user_id), "user_id": user_id, "email": email}
        if employee_id is not None:
            claims["employee_id"] = employee_id
        if customer_id is not None:
            claims["customer_id"] = customer_id
        return self._issue(
            claims, client_id=client_id, org_id=org_id, org_slug=org_slug, roles=roles, ttl_seconds=ttl_seconds
        )

    def for_client(
        self, *, client_id: str, org_id: int, org_slug: str, scopes: Iterable[str], ttl_seconds: int | None = None
    ) -> IssuedToken:
        return self._issue(
            {"sub": client_id},
            client_id=client_id,
            org_id=org_id,
            org_slug=org_slug,
            roles=scopes,
            ttl_seconds=ttl_seconds,
        )

    def _issue(
        self,
        personal: dict[str, Any],
        *,
        client_id: str,
        org_id: int,
        org_slug: str,
        roles: Iterable[str],
        ttl_seconds: int | None,
    ) -> IssuedToken:
        now = int(self.clock())
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        granted = sorted(set(roles))
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
            "client_id": client_id,
            "scope": " ".join(granted),
            "org": org_slug,
            "org_id": org_id,
            "roles": granted,
            **personal,
        }
        key = self.keys.signing
        header = {"typ": TOKEN_TYPE, "alg": key.alg, "kid": key.kid}
        token = jwt.encode(header, claims, key.key, algorithms=[key.alg])
        return IssuedToken(access_token=token, expires_in=ttl, scope=claims["scope"])
