"""Customer commands: create, update, and the lifecycle (lead → active → inactive)."""

from __future__ import annotations

import re
from typing import Any

from app.workflows import CUSTOMER
from resolvers.writes.checks import Checks
from resolvers.writes.lifecycle import (
    acting_roles,
    check_writable,
    ensure_acting_scope,
    ensure_exists,
    lock_for,
    require_role,
)
from resolvers.writes.runner import Outcome
from resolvers.writes.session import Row, WriteSession, changes

# API field → column, for the fields a client may set.
COLUMNS = {
    "name": "name",
    "kind": "kind",
    "email": "email",
    "phone": "phone",
    "segment": "segment",
    "country": "country",
    "taxId": "tax_id",
    "creditLimit": "credit_limit",
    "paymentTermsDays": "payment_terms_days",
    "accountManagerId": "account_manager_id",
    "billingAddress.street": "billing_street",
    "billingAddress.city": "billing_city",
    "billingAddress.postalCode": "billing_postal_code",
}
REQUIRED_ON_CREATE = ("name", "kind", "segment", "country")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _details(checks: Checks, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The checked values of the fields sent, by API field name."""
    values: dict[str, Any] = {}
    for name in ("name", "kind", "segment"):
        if name in data or creating:
            values[name] = checks.text(("input", name), data.get(name), max_length=200, required=True)
    if "email" in data:
        values["email"] = checks.email(("input", "email"), data["email"])
    if "phone" in data:
        values["phone"] = checks.text(("input", "phone"), data["phone"], max_length=32)
    if "country" in data or creating:
        country = checks.text(("input", "country"), data.get("country"), max_length=200, required=True)
        if country is not None and not _COUNTRY.match(country.upper()):
            checks.fail(("input", "country"), "INVALID", "country must be an ISO 3166-1 alpha-2 code")
        values["country"] = country.upper() if country else country
    if "taxId" in data:
        values["taxId"] = checks.text(("input", "taxId"), data["taxId"], max_length=32)
    if "creditLimit" in data:
        values["creditLimit"] = checks.money(("input", "creditLimit"), data["creditLimit"], required=True)
    if "paymentTermsDays" in data:
        values["paymentTermsDays"] = checks.whole(("input", "paymentTermsDays"), data["paymentTermsDays"], low=0, high=365)
    if "accountManagerId" in data:
        values["accountManagerId"] = checks.global_id(
            ("input", "accountManagerId"), data["accountManagerId"], "Employee", required=False
        )
    address = data.get("billingAddress")
    if address is not None:
        limits = {"street": 200, "city": 100, "postalCode": 20}
        for part, limit in limits.items():
            if part in address:
                path = ("input", "billingAddress", part)
                values[f"billingAddress.{part}"] = checks.text(path, address[part], max_length=limit)
    elif "billingAddress" in data:  # explicitly null: clear it
        for part in ("street", "city", "postalCode"):
            values[f"billingAddress.{part}"] = None
    return values


def _sensitive_paths(values: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    paths = {name: ("input", name) for name in values if "." not in name}
    if any(name.startswith("billingAddress.") for name in values):
        paths["billingAddress"] = ("input", "billingAddress")
    return paths


def _api(row: Row) -> dict[str, Any]:
    return {field: row[column] for field, column in COLUMNS.items()} | {"status": row["status"]}


async def create(session: WriteSession, data: dict[str, Any]) -> Outcome:
    require_role(session, CUSTOMER.creators, "create customers")
    roles = acting_roles(session, CUSTOMER.creators)
    checks = Checks()
    values = _details(checks, data, creating=True)
    if "accountManagerId" not in data and session.principal.employee_id is not None and "sales" in roles:
        values["accountManagerId"] = session.principal.employee_id  # a rep's new account is the rep's own
    check_writable(checks, "Customer", _sensitive_paths(values), roles)
    checks.done()
    await ensure_exists(session, "Employee", values.get("accountManagerId"), ("input", "accountManagerId"))
    number = await session.sequence_number("customer_numbers")
    columns = {COLUMNS[name]: value for name, value in values.items()}
    columns |= {"number": f"C-{number:06d}", "org_id": session.org_id}
    names = ", ".join(columns)
    placeholders = ", ".join(f"%({c})s" for c in columns)
    row = await session.row(f"INSERT INTO customers ({names}) VALUES ({placeholders}) RETURNING *", columns)
    assert row is not None
    await ensure_acting_scope(session, "Customer", row["id"], roles, ("input", "accountManagerId"))
    await session.record(
        "customer.created", "Customer", row["id"], changes(None, _api(row)),
        [("customer.created", {"number": row["number"], "status": row["status"]})],
    )
    return Outcome("Customer", row["id"])


async def update(session: WriteSession, data: dict[str, Any]) -> Outcome:
    checks = Checks()
    pk = checks.global_id(("input", "id"), data.get("id"), "Customer")
    values = _details(checks, data, creating=False)
    step = CUSTOMER["EDIT"]
    check_writable(checks, "Customer", _sensitive_paths(values), acting_roles(session, step.roles))
    checks.done()
    before = await lock_for(session, "Customer", "EDIT", pk, version=data.get("version"))
    await ensure_exists(session, "Employee", values.get("accountManagerId"), ("input", "accountManagerId"))
    columns = {COLUMNS[name]: value for name, value in values.items()}
    after = await session.update("customers", pk, columns)
    await ensure_acting_scope(session, "Customer", pk, acting_roles(session, step.roles), ("input", "accountManagerId"))
    changed = changes(_api(before), _api(after))
    await session.record("customer.updated", "Customer", pk, changed, [(step.event, {"fields": sorted(changed)})])
    return Outcome("Customer", pk)


async def transition(session: WriteSession, action: str, data: dict[str, Any]) -> Outcome:
    """ACTIVATE, DEACTIVATE or REACTIVATE."""
    checks = Checks()
    pk = checks.global_id(("input", "id"), data.get("id"), "Customer")
    checks.done()
    step = CUSTOMER[action]
    before = await lock_for(session, "Customer", action, pk, version=data.get("version"))
    after = await session.update("customers", pk, {"status": step.targets[0]})
    await session.record(
        step.event, "Customer", pk, changes(_api(before), _api(after), ["status"]),
        [(step.event, {"from": before["status"], "to": after["status"]})],
    )
    return Outcome("Customer", pk)

