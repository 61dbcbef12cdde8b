"""Helpers of the employee mutation tests: documents, a hire with a fresh email,
and the database's view of what a command wrote."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.workflow import data, mutate, sql, token

EMPLOYEE = (
    "id number status version title salary hiredOn endedOn availableTransitions"
    " department { id } manager { id }"
    " history { nodes { kind title salary note department { id } manager { id } } }"
)
INPUTS = {
    "hireEmployee": "HireEmployeeInput",
    "updateEmployee": "UpdateEmployeeInput",
    "activateEmployee": "EmployeeTransitionInput",
    "transferEmployee": "TransferEmployeeInput",
    "changeEmployeeSalary": "ChangeEmployeeSalaryInput",
    "startLeave": "StartLeaveInput",
    "endLeave": "EmployeeTransitionInput",
    "terminateEmployee": "EndEmploymentInput",
    "retireEmployee": "EndEmploymentInput",
}
READ = "query($id: ID!) { employee(id: $id) { %s } }"
# What a refused command must not have touched.
WRITTEN = ("employees", "employment_events", "audit_log", "outbox", "departments WHERE head_id IS NULL")


def document(field: str, selection: str = EMPLOYEE) -> str:
    return (
        f"mutation($input: {INPUTS[field]}!) {{ {field}(input: $input) {{"
        f" employee {{ {selection} }} errors {{ code field message }} }} }}"
    )


async def run(client, settings, field: str, input: dict[str, Any], role: str = "hr", org: str = "acme") -> dict:
    return await mutate(client, document(field), {"input": input}, token(settings, role, org))


async def read(client, settings, gid: str, selection: str = EMPLOYEE, role: str = "hr") -> dict | None:
    result = await data(client, READ % selection, {"id": gid}, token=token(settings, role))
    return result["employee"]


def new_hire(**extra: Any) -> dict[str, Any]:
    """A valid hire (today, no department or manager) with an email nobody has."""
    return {
        "firstName": "Ada",
        "lastName": "Quist",
        "email": f"ada.{uuid.uuid4().hex[:12]}@staff.acme.example",
        "title": "Analyst",
        "salary": "52000.00",
        "hiredOn": extra.pop("hiredOn", None) or "2020-01-06",
        **extra,
    }


async def hire(client, settings, role: str = "hr", **extra: Any) -> dict[str, Any]:
    payload = await run(client, settings, "hireEmployee", new_hire(**extra), role)
    assert payload["errors"] == [], payload["errors"]
    return payload["employee"]


def ok(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["errors"] == [], payload["errors"]
    return payload["employee"]


def today(url) -> Any:
    return sql(url, "SELECT CURRENT_DATE")[0][0]


def written(url) -> tuple[int, ...]:
    """Row counts of everything a command writes (and the departments without a head)."""
    return tuple(sql(url, f"SELECT count(*) FROM {table}")[0][0] for table in WRITTEN)


def kinds(employee: dict[str, Any]) -> list[str]:
    return [node["kind"] for node in employee["history"]["nodes"]]


def errors(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


def audit_changes(url, employee_pk: int, action: str) -> list[dict[str, Any]]:
    """The ``changes`` of the employee's audit entries for ``action``, oldest first."""
    rows = sql(
        url,
        "SELECT changes FROM audit_log WHERE entity_type = 'Employee' AND entity_id = %s AND action = %s ORDER BY id",
        employee_pk,
        action,
    )
    return [changes for (changes,) in rows]


def outbox_payloads(url, employee_pk: int, event_type: str) -> list[dict[str, Any]]:
    rows = sql(
        url,
        "SELECT payload FROM outbox WHERE entity_type = 'Employee' AND entity_id = %s AND event_type = %s ORDER BY id",
        employee_pk,
        event_type,
    )
    return [payload for (payload,) in rows]
