"""Given a new signing key put first and the previous one kept, when tokens arrive, then tokens
signed by the previous key are still accepted, new tokens are signed by the new key, and the
JWKS publishes both — the rotation the README describes. The new key is RSA, so RS256 is covered."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.auth.keys import read_signing_key
from app.seed.users import DEMO_PASSWORD
from tests.support.auth import token_for_user
from tests.support.graphql import running_app

QUERY = {"query": "{ customers(first: 1) { totalCount } }"}


@pytest.fixture(scope="module")
def new_key(tmp_path_factory):
    path = tmp_path_factory.mktemp("rotation") / "new-rsa.pem"
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


@pytest.fixture(scope="module")
async def rotated(demo_settings, signing_key, new_key):
    """The same database served with ``BIZGRAPH_SIGNING_KEYS=new,previous``."""
    async with running_app(replace(demo_settings, signing_keys=(new_key, signing_key))) as (_, http):
        yield http


async def _get_token(http):
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": "bizgraph-dev",
            "username": "analyst@acme.example",
            "password": DEMO_PASSWORD,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def test_a_token_signed_by_the_previous_key_is_still_accepted(rotated, app):
    previous = token_for_user(app, "admin@acme.example")  # the unrotated app signs with the previous key
    response = await rotated.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {previous}"})
    assert response.status_code == 200, response.text


async def test_new_tokens_are_signed_by_the_new_key(rotated, new_key):
    token = await _get_token(rotated)
    header = json.loads(_header_segment(token))
    assert header["alg"] == "RS256" and header["kid"] == read_signing_key(new_key).kid
    response = await rotated.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


async def test_jwks_publishes_the_new_key_first_and_the_previous_one(rotated, new_key, signing_key):
    keys = (await rotated.get("/.well-known/jwks.json")).json()["keys"]
    assert [k["kid"] for k in keys] == [read_signing_key(new_key).kid, read_signing_key(signing_key).kid]
    assert [k["alg"] for k in keys] == ["RS256", "ES256"]


async def test_a_server_that_does_not_list_the_new_key_refuses_its_tokens(rotated, client):
    token = await _get_token(rotated)
    response = await client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]


def _header_segment(token: str) -> bytes:
    part = token.split(".")[0]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
