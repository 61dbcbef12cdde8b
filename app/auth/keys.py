"""The keys bizgraph signs its access tokens with, and publishes in its JWKS.

``BIZGRAPH_SIGNING_KEYS`` lists PEM private keys; the first one signs, all of
them verify and are published. Rotating is therefore: put a new key first, keep
the previous one listed until the last token it signed has expired (the access
token lifetime plus the leeway), then drop it.

Every key's ``kid`` is its RFC 7638 thumbprint, so the same file always gets the
same id on every server process without any coordination.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from joserfc.jwk import ECKey, KeyParameters, RSAKey

from app.errors import ConfigError

SETTING = "BIZGRAPH_SIGNING_KEYS"
MIN_RSA_BITS = 2048
DEMO_KEY_NAME = "demo-signing-key.pem"


@dataclass(frozen=True)
class SigningKey:
    """One private key with its JOSE algorithm and thumbprint id."""

    kid: str
    alg: str
    key: ECKey | RSAKey
    source: str  # where it was read from, for messages

    def public_jwk(self) -> dict[str, Any]:
        return self.key.as_dict(private=False)


@dataclass(frozen=True)
class KeyRing:
    """The configured keys, in order: the first signs, every one verifies."""

    keys: tuple[SigningKey, ...]
    _by_kid: dict[str, SigningKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ConfigError(f"{SETTING} is not set: list at least one PEM private key (EC P-256 or RSA)")
        object.__setattr__(self, "_by_kid", {key.kid: key for key in self.keys})

    @property
    def signing(self) -> SigningKey:
        return self.keys[0]

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset(key.alg for key in self.keys)

    def by_kid(self, kid: object) -> SigningKey | None:
        return self._by_kid.get(kid) if isinstance(kid, str) else None

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [key.public_jwk() for key in self.keys]}


def load_key_ring(paths: Sequence[Path]) -> KeyRing:
    return KeyRing(tuple(read_signing_key(path) for path in paths))


def read_signing_key(path: Path) -> SigningKey:
    """Read one unencrypted PEM private key; refuse anything but EC P-256 and RSA ≥ 2048 bits."""
    try:
        pem = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(f"{SETTING}: cannot read {path}: {error.strerror}") from None
    try:
        native = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{SETTING}: {path} is not an unencrypted PEM private key") from None
    if isinstance(native, ec.EllipticCurvePrivateKey):
        if not isinstance(native.curve, ec.SECP256R1):
            raise ConfigError(f"{SETTING}: {path} is an EC key on {native.curve.name}; only P-256 (ES256) is supported")
        alg = "ES256"
    elif isinstance(native, rsa.RSAPrivateKey):
        if native.key_size < MIN_RSA_BITS:
            raise ConfigError(f"{SETTING}: {path} is a {native.key_size}-bit RSA key; use at least {MIN_RSA_BITS}")
        alg = "RS256"
    else:
        raise ConfigError(f"{SETTING}: {path} is neither an EC P-256 nor an RSA private key")
    kid = _jose_key(native, {"use": "sig", "alg": alg}).thumbprint()
    key = _jose_key(native, {"use": "sig", "alg": alg, "kid": kid})
    return SigningKey(kid=kid, alg=alg, key=key, source=str(path))


def _jose_key(native: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, parameters: KeyParameters) -> ECKey | RSAKey:
    if isinstance(native, ec.EllipticCurvePrivateKey):
        return ECKey.import_key(native, parameters)
    return RSAKey.import_key(native, parameters)


def write_new_es256_key(path: Path) -> Path:
    """Create a fresh P-256 private key readable by its owner only; never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = ECKey.generate_key("P-256", private=True).as_pem(private=True)
    # O_EXCL: two processes starting at once must not both write (and one lose) a key.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    return path


def demo_key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / DEMO_KEY_NAME


def ensure_demo_key(data_dir: Path) -> Path:
    """The demo's signing key: made once, then reused so tokens survive restarts."""
    path = demo_key_path(data_dir)
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it a moment ago
            write_new_es256_key(path)
    return path
