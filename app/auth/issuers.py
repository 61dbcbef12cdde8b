"""External OpenID Connect providers whose access tokens bizgraph accepts.

``BIZGRAPH_TRUSTED_ISSUERS`` is a JSON list; each entry names the issuer, where
its keys are published and which claims carry the organization, the roles and
(optionally) the user's email and links to an employee or a customer::

    [{"issuer": "https://login.example.com/realms/acme",
      "jwks_uri": "https://login.example.com/realms/acme/protocol/openid-connect/certs",
      "audience": "bizgraph", "org_claim": "org", "roles_claim": "roles",
      "employee_claim": "bizgraph_employee_id", "max_token_lifetime_seconds": 3600}]

The organization claim holds the organization's slug. Links are taken from
claims rather than looked up by email: the identity provider is the one that
knows who a person is, and a claim costs no database round trip.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any, Literal, overload
from urllib.parse import urlsplit

from app.errors import ConfigError

SETTING = "BIZGRAPH_TRUSTED_ISSUERS"

# Only asymmetric algorithms: with a shared-secret one (HS*), anyone holding the
# published key could mint tokens.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("RS256", "ES256")
# BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS's default: no accepted token lives longer than a day.
DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400
KNOWN_FIELDS = frozenset(
    {
        "issuer",
        "jwks_uri",
        "audience",
        "algorithms",
        "org_claim",
        "roles_claim",
        "email_claim",
        "employee_claim",
        "customer_claim",
        "max_token_lifetime_seconds",
    }
)


@dataclass(frozen=True)
class TrustedIssuer:
    issuer: str
    jwks_uri: str
    audience: str
    algorithms: frozenset[str] = frozenset(DEFAULT_ALGORITHMS)
    org_claim: str = "org"
    roles_claim: str = "roles"
    email_claim: str = "email"
    employee_claim: str | None = None
    customer_claim: str | None = None
    # The longest lifetime (exp - iat) accepted from this issuer; None: BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS.
    max_token_lifetime_seconds: int | None = None


def parse_trusted_issuers(raw: str, *, default_audience: str, own_issuer: str) -> tuple[TrustedIssuer, ...]:
    try:
        entries = json.loads(raw)
    except ValueError as error:
        raise ConfigError(f"{SETTING} is not valid JSON: {error}") from None
    if not isinstance(entries, list):
        raise ConfigError(f"{SETTING} must be a JSON list of objects")
    issuers = tuple(_parse_entry(entry, i, default_audience) for i, entry in enumerate(entries))
    names = [issuer.issuer for issuer in issuers]
    if own_issuer in names:
        raise ConfigError(f"{SETTING}: {own_issuer!r} is bizgraph's own issuer (BIZGRAPH_ISSUER)")
    if len(set(names)) != len(names):
        raise ConfigError(f"{SETTING}: an issuer is listed twice")
    return issuers


def _parse_entry(entry: object, index: int, default_audience: str) -> TrustedIssuer:
    where = f"{SETTING}[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object")
    unknown = sorted(set(entry) - KNOWN_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    issuer = _text(entry, "issuer", where, required=True)
    jwks_uri = _text(entry, "jwks_uri", where, required=True)
    if not is_secure_url(jwks_uri):
        raise ConfigError(f"{where}.jwks_uri must be an https:// URL (http:// only on a loopback host)")
    algorithms = entry.get("algorithms", list(DEFAULT_ALGORITHMS))
    if not isinstance(algorithms, list) or not algorithms or not all(isinstance(a, str) for a in algorithms):
        raise ConfigError(f"{where}.algorithms must be a non-empty list of algorithm names")
    refused = sorted(set(algorithms) - ASYMMETRIC_ALGORITHMS)
    if refused:
        raise ConfigError(
            f"{where}.algorithms: {', '.join(refused)} not accepted; use {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}"
        )
    return TrustedIssuer(
        issuer=issuer,
        jwks_uri=jwks_uri,
        audience=_text(entry, "audience", where) or default_audience,
        algorithms=frozenset(algorithms),
        org_claim=_text(entry, "org_claim", where) or "org",
        roles_claim=_text(entry, "roles_claim", where) or "roles",
        email_claim=_text(entry, "email_claim", where) or "email",
        employee_claim=_text(entry, "employee_claim", where),
        customer_claim=_text(entry, "customer_claim", where),
        max_token_lifetime_seconds=_positive(entry, "max_token_lifetime_seconds", where),
    )


def _positive(entry: dict[str, Any], name: str, where: str) -> int | None:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}.{name} must be a positive whole number of seconds")
    return value


@overload
def _text(entry: dict[str, Any], name: str, where: str, *, required: Literal[True]) -> str: ...


@overload
def _text(entry: dict[str, Any], name: str, where: str, *, required: bool = False) -> str | None: ...


def _text(entry: dict[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    value = entry.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{name} must be a non-empty string")
    return value.strip()


def is_secure_url(url: str) -> bool:
    """Keys fetched over plain HTTP could be swapped in transit; allow it only on this machine."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False
