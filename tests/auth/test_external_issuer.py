"""Given an external OpenID Connect provider in ``BIZGRAPH_TRUSTED_ISSUERS`` whose JWKS a real local
HTTP server publishes, when its tokens arrive, then they are verified with keys fetched lazily,
kept, fetched again when the provider rotates (but not for every made-up key id), within the
timeout; the organization comes from the slug claim and the roles from the roles claim."""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import replace

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from app.auth.issuers import TrustedIssuer
from app.auth.keys import KeyRing, SigningKey
from app.auth.organizations import OrganizationIds
from app.auth.remote_keys import RemoteKeySet
from app.auth.verify import Authenticator
from app.errors import Unauthenticated
from tests.support.auth import demo_user
from tests.support.graphql import running_app

ISSUER = "https://login.example.test/realms/bizgraph"
QUERY = {"query": "{ customers(first: 1) { totalCount } }"}


class IdentityProvider:
    """Publishes its public keys at /jwks on a loopback port, counts the fetches, signs tokens."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, private=True)]
        self.fetches = 0
        self.delay = 0.0
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                time.sleep(provider.delay)
                body = json.dumps({"keys": [provider.public(key) for key in provider.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.jwks_uri = f"http://127.0.0.1:{self.server.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def public(key) -> dict:
        return {**key.as_dict(private=False), "kid": key.thumbprint(), "use": "sig"}

    def sign(self, claims: dict, *, key=None, alg: str = "RS256", **header) -> str:
        key = key or self.keys[0]
        full = {
            "iss": ISSUER,
            "aud": "bizgraph",
            "sub": "person-1",
            "iat": int(time.time()),
            "exp": int(time.time()) + 300,
            "org": "acme",
            "roles": ["analyst"],
            **claims,
        }
        return jwt.encode({"alg": alg, "kid": key.thumbprint(), "typ": "JWT", **header}, full, key, algorithms=[alg])

    def rotate(self) -> None:
        self.keys.append(ECKey.generate_key("P-256", private=True))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def provider():
    idp = IdentityProvider()
    yield idp
    idp.stop()


def _trusted(provider: IdentityProvider) -> TrustedIssuer:
    return TrustedIssuer(
        issuer=ISSUER, jwks_uri=provider.jwks_uri, audience="bizgraph", employee_claim="bizgraph_employee_id"
    )


@pytest.fixture(scope="module")
async def trusting(demo_settings, provider):
    """The app configured to trust the provider."""
    async with running_app(replace(demo_settings, trusted_issuers=(_trusted(provider),))) as pair:
        yield pair


async def test_keys_are_fetched_on_the_first_token_and_then_kept(trusting, provider):
    _, http = trusting
    assert provider.fetches == 0  # nothing at start: the provider may be down while we boot
    for n in range(3):
        token = provider.sign({"jti": str(n)})
        response = await http.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
    assert provider.fetches == 1


async def test_the_principal_comes_from_the_configured_claims(trusting, provider, demo_settings):
    application, _ = trusting
    employee = demo_user(demo_settings.database_url, "sales@acme.example").employee_id
    token = provider.sign(
        {
            "org": "globex",
            "roles": "hr analyst offline_access",
            "email": "kim@globex.example",
            "bizgraph_employee_id": str(employee),
        }
    )
    principal = await application.state.auth.authenticator.authenticate(f"Bearer {token}")
    assert principal.org_id == demo_user(demo_settings.database_url, "admin@globex.example").org_id
    assert principal.roles == frozenset({"hr", "analyst"})  # roles bizgraph does not know are dropped
    assert (principal.email, principal.employee_id, principal.issuer) == ("kim@globex.example", employee, ISSUER)


async def test_an_unknown_organization_is_refused(trusting, provider):
    _, http = trusting
    response = await http.post(
        "/graphql", json=QUERY, headers={"Authorization": f"Bearer {provider.sign({'org': 'initech'})}"}
    )
    assert response.status_code == 401 and "initech" in response.json()["errors"][0]["message"]


async def test_no_known_role_is_refused(trusting, provider):
    _, http = trusting
    token = provider.sign({"roles": ["offline_access"]})
    response = await http.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_an_algorithm_outside_the_issuers_list_is_refused(trusting, provider):
    _, http = trusting
    token = provider.sign({}, alg="RS512")
    response = await http.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "algorithm" in response.json()["errors"][0]["message"]


async def test_the_issuers_audience_is_checked(trusting, provider):
    _, http = trusting
    response = await http.post(
        "/graphql", json=QUERY, headers={"Authorization": f"Bearer {provider.sign({'aud': 'account'})}"}
    )
    assert response.status_code == 401 and "audience" in response.json()["errors"][0]["message"]


# --- the key cache, against the same real server -------------------------------------------


def _authenticator(provider, clock, http, **remote) -> Authenticator:
    trusted = _trusted(provider)
    keys = RemoteKeySet(trusted, http, clock=clock, **remote)

    async def acme(slug: str) -> int | None:
        return 1 if slug == "acme" else None

    # bizgraph's own issuer plays no part here; any key ring will do.
    own = ECKey.generate_key("P-256", private=True)
    ring = KeyRing((SigningKey(kid=own.thumbprint(), alg="ES256", key=own, source="test"),))
    authenticator = Authenticator(
        keys=ring,
        issuer="http://127.0.0.1:8000",
        audience="bizgraph",
        leeway_seconds=30,
        trusted=[trusted],
        remote_keys={ISSUER: keys},
        organizations=OrganizationIds(acme),
    )
    return authenticator


async def test_a_new_key_id_is_fetched_again_once_the_interval_has_passed():
    provider, clock, http = IdentityProvider(), Clock(), httpx.AsyncClient()
    try:
        authenticator = _authenticator(provider, clock, http, min_refetch_interval=30)
        await authenticator.authenticate(f"Bearer {provider.sign({})}")
        provider.rotate()
        rotated = provider.sign({}, key=provider.keys[1], alg="ES256")
        clock.now += 31
        principal = await authenticator.authenticate(f"Bearer {rotated}")
        assert principal.roles == frozenset({"analyst"}) and provider.fetches == 2
    finally:
        provider.stop()
        await http.aclose()


async def test_made_up_key_ids_cost_the_provider_at_most_one_fetch_per_interval():
    provider, clock, http = IdentityProvider(), Clock(), httpx.AsyncClient()
    try:
        authenticator = _authenticator(provider, clock, http, min_refetch_interval=30)
        await authenticator.authenticate(f"Bearer {provider.sign({})}")
        clock.now += 31
        for n in range(5):
            with pytest.raises(Unauthenticated, match="does not publish"):
                await authenticator.authenticate(f"Bearer {provider.sign({}, kid=f'made-up-{n}')}")
        assert provider.fetches == 2  # the first one, then one for all five made-up ids
        # A key the provider really rotated in within the interval waits for the interval.
        provider.rotate()
        rotated = provider.sign({}, key=provider.keys[1], alg="ES256")
        with pytest.raises(Unauthenticated):
            await authenticator.authenticate(f"Bearer {rotated}")
        clock.now += 31
        assert (await authenticator.authenticate(f"Bearer {rotated}")).roles == frozenset({"analyst"})
        assert provider.fetches == 3
    finally:
        provider.stop()
        await http.aclose()


async def test_kept_keys_are_fetched_again_after_max_age():
    provider, clock, http = IdentityProvider(), Clock(), httpx.AsyncClient()
    try:
        authenticator = _authenticator(provider, clock, http, max_age=3600)
        await authenticator.authenticate(f"Bearer {provider.sign({'jti': 'a'})}")
        clock.now += 3601
        await authenticator.authenticate(f"Bearer {provider.sign({'jti': 'b'})}")
        assert provider.fetches == 2
    finally:
        provider.stop()
        await http.aclose()


async def test_a_slow_provider_is_given_up_on_after_the_timeout():
    provider, clock, http = IdentityProvider(), Clock(), httpx.AsyncClient()
    provider.delay = 2.0
    try:
        authenticator = _authenticator(provider, clock, http, timeout_seconds=0.3)
        started = time.perf_counter()
        with pytest.raises(Unauthenticated, match="unavailable"):
            await authenticator.authenticate(f"Bearer {provider.sign({})}")
        assert time.perf_counter() - started < 1.5 and provider.fetches == 1
    finally:
        provider.stop()
        await http.aclose()


async def test_a_provider_token_living_longer_than_the_maximum_is_refused(trusting, provider):
    _, http = trusting
    forever = provider.sign({"exp": 253_402_300_799})
    response = await http.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {forever}"})
    assert response.status_code == 401 and "lives longer than 86400" in response.json()["errors"][0]["message"]


async def test_a_trusted_issuer_may_have_a_shorter_maximum_lifetime(demo_settings, provider):
    trusted = replace(_trusted(provider), max_token_lifetime_seconds=600)
    async with running_app(replace(demo_settings, trusted_issuers=(trusted,))) as (_, http):
        now = int(time.time())
        hour = provider.sign({"iat": now, "exp": now + 3600})
        refused = await http.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {hour}"})
        assert refused.status_code == 401 and "lives longer than 600" in refused.json()["errors"][0]["message"]
        minutes = provider.sign({"iat": now, "exp": now + 600})
        accepted = await http.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {minutes}"})
        assert accepted.status_code == 200, accepted.text
