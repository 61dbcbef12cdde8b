"""The published keys of a trusted external issuer, fetched lazily and kept.

The JWKS is fetched on the first token from the issuer, kept for ``max_age``
seconds, and fetched again early when a token names a key id we have not seen
(the issuer rotated). That early fetch is rate-limited: a stream of tokens with
made-up key ids costs the identity provider at most one request per
``min_refetch_interval``. Concurrent requests share one fetch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key

from app.auth.issuers import TrustedIssuer
from app.errors import Unauthenticated

log = logging.getLogger("bizgraph.auth.jwks")

# Only public-key types: a symmetric ("oct") key in a published set would let
# anyone who can read the set sign tokens.
PUBLIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})


class RemoteKeySet:
    def __init__(
        self,
        issuer: TrustedIssuer,
        http: httpx.AsyncClient,
        *,
        timeout_seconds: float = 3.0,
        min_refetch_interval: float = 30.0,
        max_age: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.http = http
        self.timeout_seconds = timeout_seconds
        self.min_refetch_interval = min_refetch_interval
        self.max_age = max_age
        self.clock = clock
        self.fetches = 0  # attempts, successful or not: what the identity provider saw
        self._keys: dict[str | None, Key] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()

    async def key_for(self, kid: object) -> Key:
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("invalid_token", "the token's key id (kid) is not a string")
        if self._fresh() and (key := self._find(kid)) is not None:
            return key
        async with self._lock:
            # Another request may have fetched while this one waited for the lock.
            if not (self._fresh() and self._find(kid) is not None) and self._may_fetch():
                await self._fetch()
        key = self._find(kid)
        if key is None:
            if not self._keys:
                raise Unauthenticated("invalid_token", "the issuer's signing keys are unavailable")
            raise Unauthenticated("invalid_token", "the token is signed with a key the issuer does not publish")
        return key

    def _fresh(self) -> bool:
        return self._fetched_at is not None and self.clock() - self._fetched_at < self.max_age

    def _may_fetch(self) -> bool:
        return self._attempted_at is None or self.clock() - self._attempted_at >= self.min_refetch_interval

    def _find(self, kid: str | None) -> Key | None:
        if kid is None:
            # A token without kid is acceptable only when there is no choice to make.
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        self._attempted_at = self.clock()
        self.fetches += 1
        try:
            response = await self.http.get(self.issuer.jwks_uri, timeout=self.timeout_seconds)
            response.raise_for_status()
            keys = _public_keys(response.json())
        except (httpx.HTTPError, ValueError) as error:
            # Keep serving the keys we had: the identity provider being down must
            # not log everybody out at once.
            log.warning("fetching %s failed: %s", self.issuer.jwks_uri, error or type(error).__name__)
            return
        self._keys = keys
        self._fetched_at = self.clock()
        log.info("fetched %d key(s) of %s", len(keys), self.issuer.issuer)


def _public_keys(document: Any) -> dict[str | None, Key]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set")
    keys: dict[str | None, Key] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in PUBLIC_KEY_TYPES or entry.get("use") == "enc":
            continue
        try:
            key = JWKRegistry.import_key(entry)
        except (JoseError, ValueError, TypeError):
            continue  # one key we cannot read must not hide the others
        keys[entry.get("kid")] = key
    if not keys:
        raise ValueError("no usable signing key in the JWK set")
    return keys
