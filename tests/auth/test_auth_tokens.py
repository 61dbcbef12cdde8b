"""Given the API behind its bearer-token gate, when a request carries no token or a bad one,
then it gets HTTP 401 with an RFC 6750 challenge and a GraphQL-shaped error — one test per way a
token can be wrong; and a good token (within the leeway) gets through."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from app.auth.tokens import TokenIssuer
from app.auth.verify import Authenticator
from app.errors import Unauthenticated
from tests.support.auth import token_for, token_for_user

QUERY = {"query": "{ customers(first: 1) { totalCount } }"}


async def _ask(client, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = client.build_request("POST", "/graphql", json=QUERY, headers=headers)
    if token is None:
        request.headers.pop("Authorization", None)
    return await client.send(request)


def _refused(response, error: str | None) -> str:
    """Assert the 401 shape; return the error description."""
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="bizgraph"')
    if error is None:
        assert "error=" not in challenge
    else:
        assert f'error="{error}"' in challenge and "error_description=" in challenge
    return body["errors"][0]["message"]


def _b64(data: bytes | dict) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _good_claims(app, **changes):
    """The claims of a valid acme admin token, as a dict to tamper with."""
    token = token_for_user(app, "admin@acme.example")
    claims = jwt.decode(token, app.state.auth.keys.signing.key).claims
    return {**claims, **changes}


def _signed(app, claims, **header):
    key = app.state.auth.keys.signing
    return jwt.encode(
        {"typ": "at+jwt", "alg": key.alg, "kid": key.kid, **header}, claims, key.key, algorithms=[key.alg]
    )


def _issued_at(app, moment: float) -> str:
    """A token for the acme admin as if issued at ``moment`` (15 minutes' lifetime)."""
    auth = app.state.auth
    issuer = TokenIssuer(
        auth.keys, issuer=auth.issuer.issuer, audience=auth.issuer.audience, ttl_seconds=900, clock=lambda: moment
    )
    user = _good_claims(app)
    return issuer.for_user(
        user_id=user["user_id"],
        email=user["email"],
        org_id=user["org_id"],
        org_slug=user["org"],
        roles=user["roles"],
        client_id="tests",
    ).access_token


# --- accepted ------------------------------------------------------------------------------


async def test_a_valid_token_gets_through(client, app):
    response = await _ask(client, token_for_user(app, "admin@acme.example"))
    assert response.status_code == 200 and response.json()["data"]["customers"]["totalCount"] > 0


async def test_graphiql_page_needs_no_token_but_a_get_query_does(client):
    page = client.build_request("GET", "/graphql", headers={"Accept": "text/html"})
    page.headers.pop("Authorization")
    assert (await client.send(page)).status_code == 200
    query = client.build_request("GET", "/graphql", params={"query": "{ __typename }"}, headers={"Accept": "text/html"})
    query.headers.pop("Authorization")
    _refused(await client.send(query), None)


async def test_expired_within_the_leeway_is_still_accepted(client, app):
    leeway = app.state.auth.authenticator.leeway
    response = await _ask(client, _issued_at(app, time.time() - 900 - leeway + 10))
    assert response.status_code == 200, response.text


async def test_not_yet_valid_within_the_leeway_is_accepted(client, app):
    leeway = app.state.auth.authenticator.leeway
    response = await _ask(client, _issued_at(app, time.time() + leeway - 10))
    assert response.status_code == 200, response.text


# --- refused -------------------------------------------------------------------------------


async def test_missing_token_is_challenged_without_an_error_code(client):
    message = _refused(await _ask(client, None), None)
    assert "Bearer" in message


async def test_another_scheme_is_treated_as_no_token(client):
    request = client.build_request("POST", "/graphql", json=QUERY, headers={"Authorization": "Basic YTpi"})
    _refused(await client.send(request), None)


async def test_garbled_token(client):
    _refused(await _ask(client, "this-is-not-a-jwt"), "invalid_token")


async def test_garbled_token_with_three_parts(client):
    _refused(await _ask(client, "a.b.c"), "invalid_token")


async def test_alg_none_is_refused(client, app):
    token = f"{_b64({'typ': 'at+jwt', 'alg': 'none'})}.{_b64(_good_claims(app))}."
    assert "algorithm" in _refused(await _ask(client, token), "invalid_token")


async def test_hs256_signed_with_the_public_key_is_refused(client, app):
    # The classic confusion: a verifier that feeds the published key to HMAC would accept this.
    public_pem = app.state.auth.keys.signing.key.as_pem(private=False)
    signing_input = (
        f"{_b64({'typ': 'at+jwt', 'alg': 'HS256', 'kid': app.state.auth.keys.signing.kid})}"
        f".{_b64(_good_claims(app, roles=['admin']))}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert "algorithm" in _refused(await _ask(client, f"{signing_input}.{_b64(signature)}"), "invalid_token")


async def test_wrong_issuer(client, app):
    token = _signed(app, _good_claims(app, iss="https://evil.example"))
    assert "issuer" in _refused(await _ask(client, token), "invalid_token")


async def test_wrong_audience(client, app):
    token = _signed(app, _good_claims(app, aud="some-other-api"))
    assert "audience" in _refused(await _ask(client, token), "invalid_token")


async def test_expired(client, app):
    leeway = app.state.auth.authenticator.leeway
    token = _issued_at(app, time.time() - 900 - leeway - 5)
    assert "expired" in _refused(await _ask(client, token), "invalid_token")


async def test_not_yet_valid(client, app):
    leeway = app.state.auth.authenticator.leeway
    token = _issued_at(app, time.time() + leeway + 60)
    assert "not valid yet" in _refused(await _ask(client, token), "invalid_token")


async def test_unknown_kid(client, app):
    stranger = ECKey.generate_key("P-256", private=True)
    claims = _good_claims(app)
    token = jwt.encode(
        {"typ": "at+jwt", "alg": "ES256", "kid": stranger.thumbprint()}, claims, stranger, algorithms=["ES256"]
    )
    assert "unknown key" in _refused(await _ask(client, token), "invalid_token")


async def test_signed_by_another_key_under_our_kid(client, app):
    stranger = ECKey.generate_key("P-256", private=True)
    token = jwt.encode(
        {"typ": "at+jwt", "alg": "ES256", "kid": app.state.auth.keys.signing.kid},
        _good_claims(app),
        stranger,
        algorithms=["ES256"],
    )
    assert "signature" in _refused(await _ask(client, token), "invalid_token")


async def test_tampered_signature(client, app):
    head, payload, signature = token_for_user(app, "admin@acme.example").split(".")
    flipped = "A" if signature[10] != "A" else "B"
    token = f"{head}.{payload}.{signature[:10]}{flipped}{signature[11:]}"
    assert "signature" in _refused(await _ask(client, token), "invalid_token")


async def test_tampered_claims_keep_their_old_signature_and_fail(client, app):
    head, _, signature = token_for_user(app, "sales@acme.example").split(".")
    escalated = _b64(_good_claims(app, roles=["admin"]))
    _refused(await _ask(client, f"{head}.{escalated}.{signature}"), "invalid_token")


async def test_a_token_of_another_type_is_refused(client, app):
    token = _signed(app, _good_claims(app), typ="JWT")
    assert "typ" in _refused(await _ask(client, token), "invalid_token")


async def test_a_token_without_bizgraph_roles_is_refused(client, app):
    token = _signed(app, _good_claims(app, roles=["superuser"], scope="superuser"))
    assert "role" in _refused(await _ask(client, token), "invalid_token")


async def test_the_description_in_the_header_stays_printable_ascii(client, app):
    token = _signed(app, _good_claims(app, aud="x"))
    response = await _ask(client, token)
    assert all(" " <= c <= "~" for c in response.headers["www-authenticate"])


# --- the principal -------------------------------------------------------------------------


async def test_a_service_token_never_carries_a_personal_role(app):
    token = token_for(app, org_id=1, roles=["analyst", "sales"], service=True)
    principal = await app.state.auth.authenticator.authenticate(f"Bearer {token}")
    assert principal.kind == "service" and principal.roles == frozenset({"analyst"})


async def test_a_user_token_becomes_its_principal(app, demo_settings):
    token = token_for_user(app, "customer@globex.example")
    principal = await app.state.auth.authenticator.authenticate(f"bearer {token}")
    assert principal.kind == "user" and principal.roles == frozenset({"customer"})
    assert principal.customer_id is not None and principal.email == "customer@globex.example"
    assert principal.issuer == "http://127.0.0.1:8000" and principal.subject == str(principal.user_id)


async def test_a_remembered_token_still_expires(app):
    auth = app.state.auth
    now = [time.time()]
    authenticator = Authenticator(
        keys=auth.keys,
        issuer=auth.issuer.issuer,
        audience=auth.issuer.audience,
        leeway_seconds=30,
        clock=lambda: now[0],
    )
    header = f"Bearer {_issued_at(app, now[0])}"
    first = await authenticator.authenticate(header)
    assert await authenticator.authenticate(header) is first  # answered from memory
    now[0] += 900 + 30
    with pytest.raises(Unauthenticated, match="expired"):
        await authenticator.authenticate(header)


async def test_the_principal_reaches_the_api_each_token_its_own_organization(client, app, seeded_url):
    from tests.support.graphql import sql

    expected = dict(
        sql(
            seeded_url,
            "SELECT o.slug, count(c.id) FROM organizations o JOIN customers c ON c.org_id = o.id GROUP BY o.slug",
        )
    )
    for slug in ("acme", "globex"):
        response = await _ask(client, token_for_user(app, f"admin@{slug}.example"))
        assert response.json()["data"]["customers"]["totalCount"] == expected[slug], slug
