"""From the verified claims of an access token to the ``Principal`` of a request."""

from __future__ import annotations

from typing import Any

from app.auth.issuers import TrustedIssuer
from app.auth.principal import ROLES, SERVICE_ROLES, Principal
from app.errors import Unauthenticated


def own_principal(claims: dict[str, Any], issuer: str) -> Principal:
    """A token bizgraph issued itself (layout in ``app.auth.tokens``): the organization
    id and the links are taken as they are, since bizgraph signed them."""
    user_id = _optional_id(claims, "user_id")
    scopes = _roles(claims.get("scope", ""), "scope")
    roles = _roles(claims.get("roles"), "roles")
    if user_id is None:
        # A service token never carries a personal role, whatever it claims.
        roles &= SERVICE_ROLES
    return _with_roles(
        Principal(
            org_id=_required_id(claims, "org_id"),
            subject=_subject(claims),
            roles=roles,
            kind="user" if user_id is not None else "service",
            user_id=user_id,
            email=_optional_text(claims, "email"),
            employee_id=_optional_id(claims, "employee_id"),
            customer_id=_optional_id(claims, "customer_id"),
            client_id=_optional_text(claims, "client_id"),
            scopes=scopes,
            issuer=issuer,
        )
    )


def external_principal(claims: dict[str, Any], issuer: TrustedIssuer, org_id: int) -> Principal:
    """A token of a trusted identity provider, read through its configured claim names."""
    return _with_roles(
        Principal(
            org_id=org_id,
            subject=_subject(claims),
            roles=_roles(claims.get(issuer.roles_claim), issuer.roles_claim),
            kind="user",
            email=_optional_text(claims, issuer.email_claim),
            employee_id=_optional_id(claims, issuer.employee_claim) if issuer.employee_claim else None,
            customer_id=_optional_id(claims, issuer.customer_claim) if issuer.customer_claim else None,
            client_id=_optional_text(claims, "client_id") or _optional_text(claims, "azp"),
            scopes=_roles(claims.get("scope", ""), "scope"),
            issuer=issuer.issuer,
        )
    )


def organization_slug(claims: dict[str, Any], issuer: TrustedIssuer) -> str:
    slug = claims.get(issuer.org_claim)
    if not isinstance(slug, str) or not slug:
        raise Unauthenticated("invalid_token", f"the token has no organization claim ({issuer.org_claim})")
    return slug


def _with_roles(principal: Principal) -> Principal:
    if not principal.roles:
        raise Unauthenticated("invalid_token", "the token grants no bizgraph role")
    return principal


def _subject(claims: dict[str, Any]) -> str:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("invalid_token", "the token has no subject (sub)")
    return subject


def _roles(value: object, name: str) -> frozenset[str]:
    """Roles as a JSON list or a space-separated string (the ``scope`` style); names
    bizgraph does not know are dropped: an identity provider has roles of its own."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        names = value.split()
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        names = value
    else:
        raise Unauthenticated("invalid_token", f"the token's {name} claim is neither a list nor a string")
    return frozenset(names) & ROLES


def _required_id(claims: dict[str, Any], name: str) -> int:
    value = _optional_id(claims, name)
    if value is None:
        raise Unauthenticated("invalid_token", f"the token has no {name} claim")
    return value


def _optional_id(claims: dict[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    # Identity providers often put numbers into string claims.
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise Unauthenticated("invalid_token", f"the token's {name} claim is not an id")


def _optional_text(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None
