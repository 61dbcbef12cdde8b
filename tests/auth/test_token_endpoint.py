"""Given seeded users and service clients, when a client asks ``POST /oauth/token``, then it gets
an RFC 9068 access token the API accepts, or an RFC 6749 error — never a token it should not get."""

from __future__ import annotations

import base64

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from app.seed.users import DEMO_PASSWORD
from resolvers.accounts.admin import create_client, create_user
from tests.support.auth import demo_user
from tests.support.graphql import gql

COUNT_CUSTOMERS = "{ customers(first: 1) { totalCount } }"


async def _token(client, **form):
    return await client.post("/oauth/token", data=form)


async def _password_grant(client, username, password=DEMO_PASSWORD, **extra):
    return await _token(
        client, grant_type="password", client_id="bizgraph-dev", username=username, password=password, **extra
    )


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def _claims(client, access_token):
    """Header and claims, verified with the keys the server publishes."""
    keys = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    token = jwt.decode(access_token, keys, algorithms=["ES256", "RS256"])
    return token.header, token.claims


@pytest.fixture(scope="module")
def service_client(accounts_settings):
    """A service client of acme that may act as finance or analyst."""
    return create_client(accounts_settings, org="acme", name="ledger sync", scopes=["finance", "analyst"])


# --- password grant ------------------------------------------------------------------------


async def test_password_grant_issues_an_rfc9068_token_with_the_users_links(client, demo_settings):
    response = await _password_grant(client, "sales@acme.example")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["scope"] == "sales"
    assert response.headers["cache-control"] == "no-store"
    header, claims = await _claims(client, body["access_token"])
    user = demo_user(demo_settings.database_url, "sales@acme.example")
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256" and header["kid"]
    assert claims["iss"] == "http://127.0.0.1:8000" and claims["aud"] == "bizgraph"
    assert claims["exp"] - claims["iat"] == 900 and claims["nbf"] == claims["iat"] and claims["jti"]
    assert (claims["sub"], claims["user_id"], claims["email"]) == (str(user.user_id), user.user_id, user.email)
    assert (claims["org"], claims["org_id"]) == ("acme", user.org_id)
    assert claims["roles"] == ["sales"] and claims["scope"] == "sales" and claims["client_id"] == "bizgraph-dev"
    assert claims["employee_id"] == user.employee_id and "customer_id" not in claims


async def test_a_token_from_the_endpoint_opens_the_api(client):
    token = (await _password_grant(client, "admin@acme.example")).json()["access_token"]
    body = await gql(client, COUNT_CUSTOMERS, token=token)
    assert body["data"]["customers"]["totalCount"] > 0


async def test_each_token_has_its_own_id(client):
    first, second = [(await _password_grant(client, "hr@acme.example")).json()["access_token"] for _ in range(2)]
    assert (await _claims(client, first))[1]["jti"] != (await _claims(client, second))[1]["jti"]


async def test_wrong_password_is_invalid_grant(client):
    response = await _password_grant(client, "sales@acme.example", "not-the-password")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    unknown = await _password_grant(client, "nobody@acme.example")
    wrong = await _password_grant(client, "sales@acme.example", "not-the-password")
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json() == wrong.json()


async def test_scope_may_narrow_the_users_roles_but_never_widen_them(client, accounts_settings, accounts_client):
    create_user(
        accounts_settings,
        org="acme",
        email="two.hats@acme.example",
        password="two-hats-pw",
        roles=["finance", "analyst"],
    )
    narrowed = await _password_grant(accounts_client, "two.hats@acme.example", "two-hats-pw", scope="analyst")
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "analyst"
    assert (await _claims(accounts_client, narrowed.json()["access_token"]))[1]["roles"] == ["analyst"]
    widened = await _password_grant(accounts_client, "two.hats@acme.example", "two-hats-pw", scope="analyst admin")
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_scope"


async def test_an_email_in_two_organizations_needs_the_organization(accounts_settings, accounts_client):
    for org in ("acme", "globex"):
        create_user(accounts_settings, org=org, email="pat@shared.example", password="same-for-both", roles=["analyst"])
    ambiguous = await _password_grant(accounts_client, "pat@shared.example", "same-for-both")
    assert ambiguous.status_code == 400 and ambiguous.json()["error"] == "invalid_request"
    assert "organization" in ambiguous.json()["error_description"]
    chosen = await _password_grant(accounts_client, "pat@shared.example", "same-for-both", organization="globex")
    assert chosen.status_code == 200, chosen.text
    assert (await _claims(accounts_client, chosen.json()["access_token"]))[1]["org"] == "globex"


async def test_an_email_in_two_organizations_with_different_passwords_signs_in_where_it_matches(
    accounts_settings, accounts_client
):
    create_user(accounts_settings, org="acme", email="sam@shared.example", password="acme-password", roles=["hr"])
    create_user(accounts_settings, org="globex", email="sam@shared.example", password="globex-password", roles=["hr"])
    response = await _password_grant(accounts_client, "sam@shared.example", "globex-password")
    assert response.status_code == 200, response.text
    assert (await _claims(accounts_client, response.json()["access_token"]))[1]["org"] == "globex"


async def test_a_user_without_a_password_cannot_sign_in(client, seeded_url):
    # The dummy check runs, the answer is the usual one.
    response = await _password_grant(client, "admin@acme.example", "")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# --- client credentials --------------------------------------------------------------------


async def test_client_credentials_with_basic_auth_grant_all_of_the_clients_scopes(accounts_client, service_client):
    response = await accounts_client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=_basic(service_client.client_id, service_client.client_secret),
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "analyst finance"
    _header, claims = await _claims(accounts_client, response.json()["access_token"])
    assert claims["sub"] == claims["client_id"] == service_client.client_id
    assert claims["roles"] == ["analyst", "finance"] and claims["org"] == "acme"
    assert "user_id" not in claims and "email" not in claims


async def test_client_credentials_in_the_form_with_a_narrower_scope(accounts_client, service_client):
    response = await _token(
        accounts_client,
        grant_type="client_credentials",
        client_id=service_client.client_id,
        client_secret=service_client.client_secret,
        scope="analyst",
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "analyst"
    body = await gql(accounts_client, COUNT_CUSTOMERS, token=response.json()["access_token"])
    assert "data" in body


async def test_scope_outside_the_clients_scopes_is_invalid_scope(accounts_client, service_client):
    response = await accounts_client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        headers=_basic(service_client.client_id, service_client.client_secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


async def test_wrong_client_secret_is_invalid_client_401(accounts_client, service_client):
    response = await accounts_client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=_basic(service_client.client_id, "guessed")
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")


async def test_unknown_client_is_invalid_client(accounts_client):
    response = await accounts_client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=_basic("bgc_nobody", "whatever")
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_the_public_dev_client_cannot_use_client_credentials(client):
    response = await _token(client, grant_type="client_credentials", client_id="bizgraph-dev")
    # It has no secret, and client credentials accept only clients that authenticate with one.
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_a_service_client_cannot_use_the_password_grant(accounts_client, service_client):
    response = await accounts_client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "admin@acme.example", "password": DEMO_PASSWORD},
        headers=_basic(service_client.client_id, service_client.client_secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


# --- malformed requests --------------------------------------------------------------------


async def test_unsupported_grant_type(client):
    response = await _token(client, grant_type="authorization_code", client_id="bizgraph-dev", code="x")
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


async def test_a_json_body_is_invalid_request(client):
    response = await client.post("/oauth/token", json={"grant_type": "password"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_a_repeated_parameter_is_invalid_request(client):
    response = await client.post(
        "/oauth/token",
        content=b"grant_type=password&grant_type=client_credentials",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_an_oversized_body_is_invalid_request(client):
    response = await client.post(
        "/oauth/token",
        content=b"grant_type=password&username=" + b"a" * 20_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


# --- metadata ------------------------------------------------------------------------------


async def test_discovery_documents_name_the_endpoints_and_grants(client):
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        document = (await client.get(path)).json()
        assert document["issuer"] == "http://127.0.0.1:8000"
        assert document["token_endpoint"] == "http://127.0.0.1:8000/oauth/token"
        assert document["jwks_uri"] == "http://127.0.0.1:8000/.well-known/jwks.json"
        assert set(document["grant_types_supported"]) == {"client_credentials", "password"}
        assert {"client_secret_basic", "client_secret_post", "none"} == set(
            document["token_endpoint_auth_methods_supported"]
        )


async def test_jwks_publishes_public_keys_only(client, app):
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert [key["kid"] for key in keys] == [app.state.auth.keys.signing.kid]
    assert all("d" not in key and key["use"] == "sig" for key in keys)
