"""``Authenticator``: from an ``Authorization`` header to a ``Principal``, or ``Unauthenticated``.

The order of the checks matters: the issuer (read, unverified, from the token)
picks the keys and the algorithms allowed; the algorithm is checked against
that allow-list *before* any key is used, which is what stops ``alg: none`` and
the HS256-with-the-public-key trick; only then the signature, and only then the
claims, read from the verified payload.

Verifying an ES256 token costs ~110 µs on the reference machine (2 cores,
Python 3.11), as much as a whole small GraphQL request on the fast path, so a
verified token is remembered (by its exact string, until it expires): a client
sending the same token again costs ~1 µs.

Two checks go beyond the signature: no token may live longer than
``max_lifetime_seconds`` (``exp - iat``, or ``exp - now`` without ``iat``; a
trusted issuer may have its own maximum), so a leaked token signed to last until
the year 9999 is worthless; and the user of a user token bizgraph issued must
still exist, be enabled and hold the token's roles (``TokenUsers``, checked on
every request, also for remembered tokens, through its own short cache).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeGuard

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key

from app.auth.claims import external_principal, organization_slug, own_principal
from app.auth.issuers import DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, TrustedIssuer
from app.auth.keys import KeyRing
from app.auth.organizations import OrganizationIds
from app.auth.principal import Principal
from app.auth.remote_keys import RemoteKeySet
from app.auth.token_users import TokenUsers
from app.auth.tokens import TOKEN_TYPE
from app.errors import Unauthenticated

MAX_TOKEN_BYTES = 8192
# RFC 9068 asks for at+jwt; identity providers in the wild mostly send JWT or nothing.
EXTERNAL_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})


class VerifiedTokens:
    """Principals of tokens already verified, by token string, until each token expires."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str, now: float) -> Principal | None:
        entry = self.entry(token, now)
        return None if entry is None else entry[0]

    def entry(self, token: str, now: float) -> tuple[Principal, float] | None:
        """The token's principal and the instant it stops being accepted, while it is."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._entries[token]
            return None
        return entry

    def put(self, token: str, principal: Principal, valid_until: float, now: float) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries = {t: e for t, e in self._entries.items() if e[1] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # all still valid: start over rather than grow
        self._entries[token] = (principal, valid_until)


class Authenticator:
    def __init__(
        self,
        *,
        keys: KeyRing,
        issuer: str,
        audience: str,
        leeway_seconds: int,
        max_lifetime_seconds: int = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
        trusted: Sequence[TrustedIssuer] = (),
        remote_keys: Mapping[str, RemoteKeySet] | None = None,
        organizations: OrganizationIds | None = None,
        clock: Callable[[], float] = time.time,
        cache: VerifiedTokens | None = None,
        users: TokenUsers | None = None,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds
        self.max_lifetime = max_lifetime_seconds
        self.trusted = {entry.issuer: entry for entry in trusted}
        self.remote_keys = dict(remote_keys or {})
        missing = set(self.trusted) - set(self.remote_keys)
        if missing or (self.trusted and organizations is None):
            raise ValueError("every trusted issuer needs its RemoteKeySet, and organizations to resolve slugs")
        self.organizations = organizations
        self.clock = clock
        self.cache = cache if cache is not None else VerifiedTokens()
        # None: user tokens are not checked against the users table (tests with made-up users).
        self.users = users

    async def authenticate(self, authorization_header: str | None) -> Principal:
        principal, _ = await self.authenticate_until(authorization_header)
        return principal

    async def authenticate_until(self, authorization_header: str | None) -> tuple[Principal, float]:
        """The principal and the instant (epoch seconds) after which its token is refused:
        a connection that outlives a request (a socket, a stream) ends then."""
        token = _bearer_token(authorization_header)
        now = self.clock()
        entry = self.cache.entry(token, now)
        if entry is None:
            entry = await self._verify(token, now)
        await self.check_user(entry[0])
        return entry

    async def check_user(self, principal: Principal) -> None:
        """``Unauthenticated`` when the user of a user token bizgraph issued may no longer act as
        it says (deleted, disabled, demoted): checked on every request, and again and again on
        connections that outlive one."""
        if self._checks_user(principal):
            assert self.users is not None
            await self.users.check(principal)

    def user_known_fine(self, principal: Principal) -> bool:
        """Whether ``check_user`` would pass at once, on answers still standing (True when
        there is nothing to check): a connection's periodic check skips the wait then."""
        if not self._checks_user(principal):
            return True
        assert self.users is not None
        return self.users.known_fine(principal)

    def _checks_user(self, principal: Principal) -> bool:
        return self.users is not None and principal.issuer == self.issuer and principal.user_id is not None

    async def _verify(self, token: str, now: float) -> tuple[Principal, float]:
        header, unverified = _unverified_parts(token)
        issuer = unverified.get("iss")
        if issuer == self.issuer:
            claims = _verified(token, header, self._own_key(header))
            _check_type(header, {TOKEN_TYPE}, required=True)
            self._check_times_and_audience(claims, self.audience, now, self.max_lifetime)
            principal = own_principal(claims, self.issuer)
        elif isinstance(issuer, str) and issuer in self.trusted:
            trusted = self.trusted[issuer]
            _check_algorithm(header, trusted.algorithms)
            key = await self.remote_keys[issuer].key_for(header.get("kid"))
            claims = _verified(token, header, key)
            _check_type(header, EXTERNAL_TOKEN_TYPES, required=False)
            maximum = trusted.max_token_lifetime_seconds or self.max_lifetime
            self._check_times_and_audience(claims, trusted.audience, now, maximum)
            slug = organization_slug(claims, trusted)
            # __init__ refuses trusted issuers without organizations, so it is set here.
            assert self.organizations is not None
            org_id = await self.organizations.id_for(slug)
            if org_id is None:
                raise Unauthenticated("invalid_token", f"no organization {slug!r} here")
            principal = external_principal(claims, trusted, org_id)
        else:
            raise Unauthenticated("invalid_token", "the token's issuer is not trusted")
        valid_until = float(claims["exp"] + self.leeway)
        self.cache.put(token, principal, valid_until, now)
        return principal, valid_until

    def _own_key(self, header: dict[str, Any]) -> Key:
        _check_algorithm(header, self.keys.algorithms)
        signing = self.keys.by_kid(header.get("kid"))
        if signing is None:
            raise Unauthenticated("invalid_token", "the token is signed with an unknown key")
        if signing.alg != header["alg"]:
            raise Unauthenticated("invalid_token", "the token's algorithm does not match its key")
        return signing.key

    def _check_times_and_audience(self, claims: dict[str, Any], audience: str, now: float, max_lifetime: int) -> None:
        expires = claims.get("exp")
        if not _is_number(expires):
            raise Unauthenticated("invalid_token", "the token has no valid expiry (exp)")
        if now >= expires + self.leeway:
            raise Unauthenticated("invalid_token", "the token has expired")
        not_before = claims.get("nbf")
        if not_before is not None and (not _is_number(not_before) or now < not_before - self.leeway):
            raise Unauthenticated("invalid_token", "the token is not valid yet")
        issued = claims.get("iat")
        if issued is not None and (not _is_number(issued) or now < issued - self.leeway):
            raise Unauthenticated("invalid_token", "the token was issued in the future")
        lifetime = expires - (issued if issued is not None else now)
        if lifetime > max_lifetime:
            raise Unauthenticated("invalid_token", f"the token lives longer than {max_lifetime} seconds")
        granted = claims.get("aud")
        audiences = [granted] if isinstance(granted, str) else granted if isinstance(granted, list) else []
        if audience not in audiences:
            raise Unauthenticated("invalid_token", "the token is meant for another audience")


def _bearer_token(authorization_header: str | None) -> str:
    if not authorization_header or not authorization_header.strip():
        raise Unauthenticated(None, "an access token is required: send Authorization: Bearer <token>")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated(None, "an access token is required: use the Bearer scheme")
    token = token.strip()
    if not token:
        raise Unauthenticated("invalid_request", "the Bearer scheme needs a token")
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated("invalid_token", "the token is too long")
    return token


def _unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before any check, only to decide how to check them."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthenticated("invalid_token", "the token is not a signed JWT")
    try:
        header, claims = (json.loads(_b64url(part)) for part in parts[:2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("invalid_token", "the token is not a signed JWT") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise Unauthenticated("invalid_token", "the token is not a signed JWT")
    return header, claims


def _verified(token: str, header: dict[str, Any], key: Key) -> dict[str, Any]:
    """The claims, once the signature checks out with ``key`` under the (already allowed) algorithm."""
    try:
        return jwt.decode(token, key, algorithms=[header["alg"]]).claims
    except JoseError:
        raise Unauthenticated("invalid_token", "the token's signature is not valid") from None


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _check_algorithm(header: dict[str, Any], allowed: frozenset[str]) -> None:
    if header.get("alg") not in allowed:
        raise Unauthenticated(
            "invalid_token", f"the token's algorithm is not accepted (use {', '.join(sorted(allowed))})"
        )


def _check_type(header: dict[str, Any], allowed: frozenset[str] | set[str], *, required: bool) -> None:
    kind = header.get("typ")
    if kind is None and not required:
        return
    if not isinstance(kind, str) or kind.lower() not in allowed:
        raise Unauthenticated("invalid_token", "the token is not an access token (typ)")


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
