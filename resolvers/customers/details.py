"""A customer's details: how the ones a command sets are checked, stored and audited."""

from __future__ import annotations

import re
from typing import Any

from app.models.states import CUSTOMER_EMAIL_KINDS
from resolvers.customers.inputs import Address, CreateCustomer, UpdateCustomer
from resolvers.writes.checks import Checks, Path
from resolvers.writes.inputs import UNCHANGED, Maybe
from resolvers.writes.session import Row

# Column → the input path that sets it, and the field name the audit log and the
# read policy know it by (the API's: billingAddress is one field of three columns).
DETAILS: dict[str, tuple[Path, str]] = {
    "name": (("name",), "name"),
    "kind": (("kind",), "kind"),
    "email": (("email",), "email"),
    "phone": (("phone",), "phone"),
    "segment": (("segment",), "segment"),
    "country": (("country",), "country"),
    "tax_id": (("tax_id",), "taxId"),
    "credit_limit": (("credit_limit",), "creditLimit"),
    "payment_terms_days": (("payment_terms_days",), "paymentTermsDays"),
    "account_manager_id": (("account_manager_id",), "accountManagerId"),
    "email_opt_outs": (("email_opt_outs",), "emailOptOuts"),
    "billing_street": (("billing_address", "street"), "billingAddress.street"),
    "billing_city": (("billing_address", "city"), "billingAddress.city"),
    "billing_postal_code": (("billing_address", "postal_code"), "billingAddress.postalCode"),
}
_ADDRESS_LIMITS = {"billing_street": 200, "billing_city": 100, "billing_postal_code": 20}
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def check_details(checks: Checks, command: CreateCustomer | UpdateCustomer) -> dict[str, Any]:
    """The checked values of the details the command sets, by column.

    (``is not UNCHANGED`` rather than ``given``: mypy narrows the former.)"""
    values: dict[str, Any] = {}
    for column, value in (("name", command.name), ("kind", command.kind), ("segment", command.segment)):
        if value is not UNCHANGED:
            values[column] = checks.text((column,), value, max_length=200, required=True)
    if command.email is not UNCHANGED:
        values["email"] = checks.email(("email",), command.email)
    if command.phone is not UNCHANGED:
        values["phone"] = checks.text(("phone",), command.phone, max_length=32)
    if command.country is not UNCHANGED:
        country = checks.text(("country",), command.country, max_length=200, required=True)
        if country is not None and not _COUNTRY.match(country.upper()):
            checks.fail(("country",), "INVALID", "country must be an ISO 3166-1 alpha-2 code")
        values["country"] = country.upper() if country else country
    if command.tax_id is not UNCHANGED:
        values["tax_id"] = checks.text(("tax_id",), command.tax_id, max_length=32)
    if command.credit_limit is not UNCHANGED:
        values["credit_limit"] = checks.money(("credit_limit",), command.credit_limit, required=True)
    if command.payment_terms_days is not UNCHANGED:
        terms = command.payment_terms_days
        values["payment_terms_days"] = checks.whole(("payment_terms_days",), terms, low=0, high=365)
    if command.account_manager_id is not UNCHANGED:
        values["account_manager_id"] = command.account_manager_id
    if command.email_opt_outs is not UNCHANGED:
        values["email_opt_outs"] = check_opt_outs(checks, command.email_opt_outs)
    values |= _address(checks, command.billing_address)
    return values


def check_opt_outs(checks: Checks, kinds: tuple[str, ...] | None) -> list[str]:
    """The kinds, each once and sorted (null: none); an unknown kind is refused."""
    chosen = sorted(set(kinds or ()))
    unknown = [kind for kind in chosen if kind not in CUSTOMER_EMAIL_KINDS]
    if unknown:
        checks.fail(("email_opt_outs",), "INVALID", f"unknown kinds of email: {', '.join(unknown)}")
    return chosen


def _address(checks: Checks, address: Maybe[Address | None]) -> dict[str, Any]:
    """The billing columns an address sets; None clears all three."""
    if address is UNCHANGED:
        return {}
    if address is None:
        return dict.fromkeys(_ADDRESS_LIMITS)
    parts = {"billing_street": address.street, "billing_city": address.city, "billing_postal_code": address.postal_code}
    return {
        column: checks.text(DETAILS[column][0], value, max_length=_ADDRESS_LIMITS[column])
        for column, value in parts.items()
        if value is not UNCHANGED
    }


def fields_set(values: dict[str, Any]) -> dict[str, Path]:
    """The fields the values set, as the read policy names them, each with the
    input path to blame when a role may not set it (the whole address for its parts)."""
    fields: dict[str, Path] = {}
    for column in values:
        path, field = DETAILS[column]
        fields[field.split(".")[0]] = path[:1]
    return fields


def customer_api(row: Row) -> dict[str, Any]:
    """A customer row as the audit log records it (API field names)."""
    return {field: row[column] for column, (_, field) in DETAILS.items()} | {"status": row["status"]}
