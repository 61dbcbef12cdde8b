"""Customer commands: create, update, and the lifecycle (lead → active → inactive)."""

from __future__ import annotations

from app.events import EventType
from app.events.customers import (
    CUSTOMER_ACTIVATED,
    CUSTOMER_CREATED,
    CUSTOMER_DEACTIVATED,
    CUSTOMER_REACTIVATED,
    CUSTOMER_UPDATED,
    CustomerCreatedPayload,
    CustomerStatusChangedPayload,
    CustomerUpdatedPayload,
)
from app.workflows import CUSTOMER
from resolvers.customers.details import DETAILS, check_details, check_opt_outs, customer_api, fields_set
from resolvers.customers.inputs import (
    CreateCustomer,
    CustomerAction,
    SetEmailOptOuts,
    TransitionCustomer,
    UpdateCustomer,
)
from resolvers.writes.checks import Checks
from resolvers.writes.inputs import given
from resolvers.writes.lifecycle import (
    acting_roles,
    check_writable,
    ensure_acting_scope,
    ensure_exists,
    lock_for,
    require_role,
)
from resolvers.writes.runner import Outcome
from resolvers.writes.session import WriteSession, changes

_MANAGER_PATH = DETAILS["account_manager_id"][0]

# The event each lifecycle action announces, by the name app/workflows.py gives it.
_STATUS_EVENTS: dict[str, EventType[CustomerStatusChangedPayload]] = {
    event.name: event for event in (CUSTOMER_ACTIVATED, CUSTOMER_DEACTIVATED, CUSTOMER_REACTIVATED)
}


async def create_customer(session: WriteSession, command: CreateCustomer) -> Outcome:
    require_role(session, CUSTOMER.creators, "create customers")
    roles = acting_roles(session, CUSTOMER.creators)
    checks = Checks()
    values = check_details(checks, command)
    if not given(command.account_manager_id) and session.principal.employee_id is not None and "sales" in roles:
        values["account_manager_id"] = session.principal.employee_id  # a rep's new account is the rep's own
    check_writable(checks, "Customer", fields_set(values), roles)
    checks.done()
    await ensure_exists(session, "Employee", values.get("account_manager_id"), _MANAGER_PATH)
    number = await session.sequence_number("customer_numbers")
    columns = values | {"number": f"C-{number:06d}", "org_id": session.org_id}
    names = ", ".join(columns)
    placeholders = ", ".join(f"%({c})s" for c in columns)
    row = await session.row(f"INSERT INTO customers ({names}) VALUES ({placeholders}) RETURNING *", columns)
    assert row is not None
    await ensure_acting_scope(session, "Customer", row["id"], roles, _MANAGER_PATH)
    created = CustomerCreatedPayload(number=row["number"], status=row["status"])
    await session.record(
        CUSTOMER_CREATED.name,
        "Customer",
        row["id"],
        changes(None, customer_api(row)),
        [CUSTOMER_CREATED.announce(created)],
    )
    return Outcome("Customer", row["id"])


async def update_customer(session: WriteSession, command: UpdateCustomer) -> Outcome:
    checks = Checks()
    values = check_details(checks, command)
    roles = acting_roles(session, CUSTOMER["EDIT"].roles)
    check_writable(checks, "Customer", fields_set(values), roles)
    checks.done()
    pk = command.id
    before = await lock_for(session, "Customer", "EDIT", pk, version=command.version)
    await ensure_exists(session, "Employee", values.get("account_manager_id"), _MANAGER_PATH)
    after = await session.update("customers", pk, values)
    await ensure_acting_scope(session, "Customer", pk, roles, _MANAGER_PATH)
    changed = changes(customer_api(before), customer_api(after))
    updated = CustomerUpdatedPayload(fields=sorted(changed))
    await session.record(CUSTOMER_UPDATED.name, "Customer", pk, changed, [CUSTOMER_UPDATED.announce(updated)])
    return Outcome("Customer", pk)


async def set_email_opt_outs(session: WriteSession, command: SetEmailOptOuts) -> Outcome:
    """What ``updateCustomer`` does for ``emailOptOuts`` alone, open to the customer itself."""
    checks = Checks()
    values = {"email_opt_outs": check_opt_outs(checks, command.email_opt_outs)}
    check_writable(checks, "Customer", fields_set(values), acting_roles(session, CUSTOMER["SET_EMAIL_OPT_OUTS"].roles))
    checks.done()
    pk = command.id
    before = await lock_for(session, "Customer", "SET_EMAIL_OPT_OUTS", pk, version=command.version)
    after = await session.update("customers", pk, values)
    changed = changes(customer_api(before), customer_api(after))
    updated = CustomerUpdatedPayload(fields=sorted(changed))
    await session.record(CUSTOMER_UPDATED.name, "Customer", pk, changed, [CUSTOMER_UPDATED.announce(updated)])
    return Outcome("Customer", pk)


async def transition_customer(session: WriteSession, action: CustomerAction, command: TransitionCustomer) -> Outcome:
    """ACTIVATE, DEACTIVATE or REACTIVATE."""
    step = CUSTOMER[action]
    assert step.event is not None
    event = _STATUS_EVENTS[step.event]
    pk = command.id
    before = await lock_for(session, "Customer", action, pk, version=command.version)
    after = await session.update("customers", pk, {"status": step.targets[0]})
    moved = CustomerStatusChangedPayload({"from": before["status"], "to": after["status"]})
    await session.record(
        event.name,
        "Customer",
        pk,
        changes(customer_api(before), customer_api(after), ["status"]),
        [event.announce(moved)],
    )
    return Outcome("Customer", pk)
