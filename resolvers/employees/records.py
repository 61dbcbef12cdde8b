"""The employee row as the API names it, and the writes every employee command shares:
the row update, the employment event, and the audit row with its outbox event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.events import Announcement
from app.events.employees import EmployeeSummary
from resolvers.planner.ids import encode_id
from resolvers.writes.session import Row, WriteSession, changes

# API field → column: what the audit log records, by the names clients know.
COLUMNS = {
    "number": "number",
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "phone": "phone",
    "title": "title",
    "status": "status",
    "hiredOn": "hired_on",
    "endedOn": "ended_on",
    "salary": "salary",
    "dateOfBirth": "date_of_birth",
    "nationalId": "national_id",
    "departmentId": "department_id",
    "managerId": "manager_id",
}
EMPLOYED = ("onboarding", "active", "on_leave")


def api(row: Row) -> dict[str, Any]:
    return {name: row[column] for name, column in COLUMNS.items()}


def _gid(type_name: str, pk: int | None) -> str | None:
    return None if pk is None else encode_id(type_name, pk)


def summary(row: Row) -> EmployeeSummary:
    """What every employee event carries: who, in which state, where in the
    organization. Never the salary, the date of birth or the national id (outbox
    readers are integrations, not HR); the audit row is where those changes are kept."""
    return {
        "id": encode_id("Employee", row["id"]),
        "number": row["number"],
        "status": row["status"],
        "departmentId": _gid("Department", row["department_id"]),
        "managerId": _gid("Employee", row["manager_id"]),
    }


# clock_timestamp(), not now(): now() is when the transaction began, and a
# transaction that waited for the employee's row lock began before the one it
# waited for, so its event would sort before an event that happened earlier.
_ADD_EVENT = (
    "INSERT INTO employment_events"
    " (org_id, employee_id, kind, occurred_at, department_id, manager_id, title, salary, note)"
    " VALUES (%(org)s, %(employee)s, %(kind)s, {occurred_at}, %(department)s, %(manager)s, %(title)s,"
    " %(salary)s, %(note)s)"
)


async def add_event(
    session: WriteSession,
    employee_id: int,
    kind: str,
    *,
    department_id: int | None = None,
    manager_id: int | None = None,
    title: str | None = None,
    salary: Any = None,
    note: str | None = None,
    occurred_at_sql: str = "clock_timestamp()",
    params: Mapping[str, Any] | None = None,
) -> None:
    """One step of the employment's history (``Employee.history``)."""
    await session.execute(
        _ADD_EVENT.format(occurred_at=occurred_at_sql),
        {
            "employee": employee_id,
            "kind": kind,
            "department": department_id,
            "manager": manager_id,
            "title": title,
            "salary": salary,
            "note": note,
            **(params or {}),
        },
    )


async def record(
    session: WriteSession,
    announced: Announcement,
    before: Row | None,
    after: Row,
    *,
    extra_changes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The audit row (each changed field's before and after, salary included),
    named like the event, and the outbox event ``announced``; returns the changes recorded."""
    changed = changes(None if before is None else api(before), api(after)) | dict(extra_changes or {})
    await session.record(announced.event.name, "Employee", after["id"], changed, [announced])
    return changed
