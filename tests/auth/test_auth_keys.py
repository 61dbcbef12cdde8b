"""Signing keys: what ``BIZGRAPH_SIGNING_KEYS`` accepts, and the key the demo makes for itself."""

from __future__ import annotations

import stat
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey

from app.auth.keys import ensure_demo_key, load_key_ring, read_signing_key, write_new_es256_key
from app.errors import ConfigError


def _pem(private) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_the_kid_is_the_rfc7638_thumbprint_and_the_first_key_signs(tmp_path):
    first, second = write_new_es256_key(tmp_path / "a.pem"), write_new_es256_key(tmp_path / "b.pem")
    ring = load_key_ring([first, second])
    expected = ECKey.import_key(first.read_bytes()).thumbprint()
    assert ring.signing.kid == expected and ring.signing.alg == "ES256"
    assert [k["kid"] for k in ring.jwks()["keys"]] == [expected, read_signing_key(second).kid]
    assert ring.by_kid(expected) is ring.signing and ring.by_kid("nope") is None and ring.by_kid(None) is None


def test_new_key_files_are_private_and_never_overwritten(tmp_path):
    path = write_new_es256_key(tmp_path / "k" / "signing.pem")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_new_es256_key(path)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: None, "cannot read"),
        (lambda p: p.write_text("hello"), "not an unencrypted PEM private key"),
        (lambda p: p.write_bytes(_pem(ec.generate_private_key(ec.SECP384R1()))), "only P-256"),
        (lambda p: p.write_bytes(_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))), "1024-bit"),
    ],
)
def test_unusable_keys_stop_the_start_naming_the_variable(tmp_path, make, words):
    path = tmp_path / "key.pem"
    make(path)
    with pytest.raises(ConfigError, match="BIZGRAPH_SIGNING_KEYS") as error:
        load_key_ring([path])
    assert words in str(error.value)


def test_no_keys_at_all_stops_the_start(demo_settings):
    from app.server import create_app

    with pytest.raises(ConfigError, match="BIZGRAPH_SIGNING_KEYS is not set"):
        create_app(replace(demo_settings, signing_keys=()))


def test_an_issuer_on_plain_http_elsewhere_than_loopback_stops_the_start(demo_settings):
    from app.server import create_app

    with pytest.raises(ConfigError, match="https://"):
        create_app(replace(demo_settings, issuer="http://bizgraph.internal"))


def test_the_demo_key_is_made_once_and_kept(tmp_path):
    first = ensure_demo_key(tmp_path)
    content = first.read_bytes()
    assert ensure_demo_key(tmp_path) == first and first.read_bytes() == content
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert read_signing_key(first).alg == "ES256"
