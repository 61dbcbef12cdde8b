"""Employee mutations over HTTP with real tokens, part 1: hiring, editing, input
validation, who may act at all, and what the audit log and outbox receive.
(The lifecycle after the hire is in test_employee_lifecycle.py.)"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tests.support.employees import (
    errors,
    hire,
    kinds,
    new_hire,
    ok,
    read,
    run,
    today,
    written,
)
from tests.support.workflow import codes, count, gid, pk, sql

ACTIVE_ACTIONS = ["EDIT", "TRANSFER", "CHANGE_SALARY", "START_LEAVE", "TERMINATE", "RETIRE"]


async def test_hire_numbers_the_employee_and_starts_its_history(writes_client, writes_settings):
    url = writes_settings.database_url
    (highest,) = sql(url, "SELECT max(number) FROM employees WHERE org_id = 1")[0]
    payload = await run(
        writes_client,
        writes_settings,
        "hireEmployee",
        new_hire(hiredOn=str(today(url)), salary="61000.5", title="Data Analyst", phone="+49 30 1234"),
    )
    employee = ok(payload)
    assert employee["number"] == f"E{int(highest[1:]) + 1:05d}"
    assert (employee["status"], employee["version"], employee["salary"]) == ("ACTIVE", 1, "61000.50")
    assert employee["availableTransitions"] == ACTIVE_ACTIONS
    assert employee["history"]["nodes"] == [
        {
            "kind": "HIRED",
            "title": "Data Analyst",
            "salary": "61000.50",
            "note": None,
            "department": None,
            "manager": None,
        }
    ]
    key = pk(employee["id"], "Employee")
    row = sql(url, "SELECT org_id, status, salary::text, phone, hired_on FROM employees WHERE id = %s", key)[0]
    assert row == (1, "active", "61000.50", "+49 30 1234", today(url))
    # The hire took effect at the start of its first day (today here): never later than now.
    (started,) = sql(
        url, "SELECT occurred_at = CURRENT_DATE::timestamptz FROM employment_events WHERE employee_id = %s", key
    )[0]
    assert started


async def test_concurrent_hires_get_distinct_new_numbers(writes_client, writes_settings):
    """Employee numbers are unique and continue after the seeded ones (gaps allowed:
    a sequence hands them out without queueing concurrent hires)."""
    (highest,) = sql(writes_settings.database_url, "SELECT max(substring(number from '[0-9]+$')::int) FROM employees")[
        0
    ]
    made = await asyncio.gather(*[hire(writes_client, writes_settings) for _ in range(6)])
    numbers = sorted(int(e["number"][1:]) for e in made)
    assert len(set(numbers)) == 6 and numbers[0] > highest


async def test_the_first_day_decides_onboarding_or_active(writes_client, writes_settings):
    url = writes_settings.database_url
    day = today(url)
    ahead = await hire(writes_client, writes_settings, hiredOn=str(day + dt.timedelta(days=1)))
    assert ahead["status"] == "ONBOARDING"
    # ACTIVATE waits for the first day; START_LEAVE and RETIRE are for active employees.
    assert ahead["availableTransitions"] == ["EDIT", "TRANSFER", "CHANGE_SALARY", "TERMINATE"]
    past = await hire(writes_client, writes_settings, hiredOn="2019-03-04")
    assert past["status"] == "ACTIVE"
    # A backdated hire is dated on its first day; a future one now (so onboarding steps sort after it).
    (backdated,) = sql(
        url, "SELECT occurred_at FROM employment_events WHERE employee_id = %s", pk(past["id"], "Employee")
    )[0]
    assert backdated == dt.datetime(2019, 3, 4, tzinfo=dt.UTC)
    (recorded_now,) = sql(
        url,
        "SELECT occurred_at BETWEEN now() - interval '1 minute' AND now()"
        " FROM employment_events WHERE employee_id = %s",
        pk(ahead["id"], "Employee"),
    )[0]
    assert recorded_now


async def test_hire_into_a_department_under_a_manager(writes_client, writes_settings):
    url = writes_settings.database_url
    manager = await hire(writes_client, writes_settings, title="Team Lead")
    department = gid("Department", 5)
    employee = await hire(writes_client, writes_settings, departmentId=department, managerId=manager["id"])
    assert employee["department"] == {"id": department} and employee["manager"] == {"id": manager["id"]}
    (event,) = employee["history"]["nodes"]
    assert (event["department"], event["manager"]) == ({"id": department}, {"id": manager["id"]})
    reports = await read(writes_client, writes_settings, manager["id"], "reports { nodes { id } }")
    assert reports["reports"]["nodes"] == [{"id": employee["id"]}]
    assert sql(url, "SELECT department_id, manager_id FROM employees WHERE id = %s", pk(employee["id"], "Employee"))[
        0
    ] == (
        5,
        pk(manager["id"], "Employee"),
    )


async def test_hire_records_an_audit_entry_with_the_salary_and_an_event_without_it(writes_client, writes_settings):
    url = writes_settings.database_url
    employee = await hire(
        writes_client,
        writes_settings,
        salary="73456.78",
        dateOfBirth="1990-02-03",
        nationalId="X-123-456",
        departmentId=gid("Department", 4),
    )
    key = pk(employee["id"], "Employee")
    ((action, actor, changes),) = sql(
        url, "SELECT action, actor, changes FROM audit_log WHERE entity_type = 'Employee' AND entity_id = %s", key
    )
    assert (action, actor) == ("employee.hired", "hr@acme.example")
    assert changes["salary"] == {"before": None, "after": "73456.78"}
    assert changes["nationalId"] == {"before": None, "after": "X-123-456"}
    assert changes["status"] == {"before": None, "after": "active"}
    ((event_type, payload),) = sql(
        url, "SELECT event_type, payload FROM outbox WHERE entity_type = 'Employee' AND entity_id = %s", key
    )
    assert event_type == "employee.hired"
    assert payload == {
        "id": employee["id"],
        "number": employee["number"],
        "status": "active",
        "hiredOn": "2020-01-06",
        "departmentId": gid("Department", 4),
        "managerId": None,
    }


@pytest.mark.parametrize(
    "extra, code, field",
    [
        ({"email": "not-an-email"}, "INVALID_EMAIL", ["input", "email"]),
        ({"email": "  "}, "REQUIRED", ["input", "email"]),
        ({"firstName": "x" * 101}, "TOO_LONG", ["input", "firstName"]),
        ({"lastName": "y" * 101}, "TOO_LONG", ["input", "lastName"]),
        ({"firstName": " "}, "REQUIRED", ["input", "firstName"]),
        ({"title": "t" * 121}, "TOO_LONG", ["input", "title"]),
        ({"phone": "1" * 33}, "TOO_LONG", ["input", "phone"]),
        ({"nationalId": "n" * 33}, "TOO_LONG", ["input", "nationalId"]),
        ({"salary": "50000.001"}, "TOO_MANY_DECIMALS", ["input", "salary"]),
        ({"salary": "-1.00"}, "NEGATIVE", ["input", "salary"]),
        ({"salary": "1000000000000.00"}, "INVALID", ["input", "salary"]),
        ({"dateOfBirth": "2999-01-01"}, "INVALID", ["input", "dateOfBirth"]),
        # 13 years and 364 days old on the first day.
        ({"dateOfBirth": "2006-01-07", "hiredOn": "2020-01-06"}, "INVALID", ["input", "dateOfBirth"]),
        ({"departmentId": "bm9wZQ=="}, "INVALID_ID", ["input", "departmentId"]),
        ({"managerId": gid("Department", 1)}, "INVALID_ID", ["input", "managerId"]),
        ({"departmentId": gid("Department", 999999)}, "NOT_FOUND", ["input", "departmentId"]),
    ],
)
async def test_bad_input_is_a_user_error_with_its_path_and_writes_nothing(
    writes_client, writes_settings, extra, code, field
):
    url = writes_settings.database_url
    before = written(url)
    payload = await run(writes_client, writes_settings, "hireEmployee", new_hire(**extra))
    assert payload["employee"] is None
    assert errors(payload) == [(code, field)]
    assert written(url) == before


async def test_fourteen_on_the_first_day_is_old_enough(writes_client, writes_settings):
    employee = await hire(writes_client, writes_settings, dateOfBirth="2006-01-06", hiredOn="2020-01-06")
    assert employee["status"] == "ACTIVE"


async def test_every_bad_field_is_reported_at_once(writes_client, writes_settings):
    payload = await run(
        writes_client,
        writes_settings,
        "hireEmployee",
        new_hire(firstName="", email="@", salary="1.234", phone="9" * 40),
    )
    assert sorted(e["field"][1] for e in payload["errors"]) == ["email", "firstName", "phone", "salary"]


async def test_another_organizations_department_and_manager_are_not_found(writes_client, writes_settings):
    url = writes_settings.database_url
    (department,) = sql(url, "SELECT id FROM departments WHERE org_id = 2 LIMIT 1")[0]
    (manager,) = sql(url, "SELECT id FROM employees WHERE org_id = 2 AND status = 'active' LIMIT 1")[0]
    before = written(url)
    payload = await run(
        writes_client,
        writes_settings,
        "hireEmployee",
        new_hire(departmentId=gid("Department", department), managerId=gid("Employee", manager)),
    )
    assert errors(payload) == [("NOT_FOUND", ["input", "departmentId"]), ("NOT_FOUND", ["input", "managerId"])]
    assert written(url) == before


async def test_a_manager_who_has_left_cannot_manage(writes_client, writes_settings):
    url = writes_settings.database_url
    for status in ("terminated", "retired"):
        (gone,) = sql(url, "SELECT id FROM employees WHERE org_id = 1 AND status = %s LIMIT 1", status)[0]
        before = written(url)
        payload = await run(writes_client, writes_settings, "hireEmployee", new_hire(managerId=gid("Employee", gone)))
        assert errors(payload) == [("INVALID", ["input", "managerId"])], status
        assert written(url) == before


async def test_emails_are_unique_in_the_organization_whatever_their_case(writes_client, writes_settings):
    url = writes_settings.database_url
    (taken,) = sql(url, "SELECT email FROM employees WHERE org_id = 1 ORDER BY id LIMIT 1")[0]
    before = written(url)
    for email in (taken, taken.upper()):
        payload = await run(writes_client, writes_settings, "hireEmployee", new_hire(email=email))
        assert errors(payload) == [("DUPLICATE", ["input", "email"])], email
    assert written(url) == before
    # Another organization's employees do not count.
    (theirs,) = sql(url, "SELECT email FROM employees WHERE org_id = 2 ORDER BY id LIMIT 1")[0]
    assert (await hire(writes_client, writes_settings, email=theirs))["status"] == "ACTIVE"
    someone = await hire(writes_client, writes_settings)
    clash = await run(
        writes_client, writes_settings, "updateEmployee", {"id": someone["id"], "version": 1, "email": taken}
    )
    assert errors(clash) == [("DUPLICATE", ["input", "email"])]


@pytest.mark.parametrize("role", ["sales", "finance", "analyst", "employee", "customer", "manager"])
async def test_only_hr_and_admins_act_on_employees(writes_client, writes_settings, role):
    url = writes_settings.database_url
    # The manager's own report: seeing a row is not being allowed to change it.
    (report,) = sql(
        url,
        "SELECT e.id FROM employees e JOIN users u ON e.manager_id = u.employee_id"
        " WHERE u.email = 'manager@acme.example' AND e.status = 'active' ORDER BY e.id LIMIT 1",
    )[0]
    target = {"id": gid("Employee", report)}
    attempts = [
        ("hireEmployee", new_hire()),
        ("updateEmployee", {**target, "version": 1, "title": "Chief Everything"}),
        ("changeEmployeeSalary", {**target, "salary": "999999.00"}),
        ("transferEmployee", {**target, "managerId": None}),
        ("startLeave", target),
        ("terminateEmployee", target),
    ]
    before = written(url)
    for field, input in attempts:
        payload = await run(writes_client, writes_settings, field, input, role)
        assert codes(payload) == ["FORBIDDEN"] and payload["employee"] is None, (role, field)
    assert written(url) == before


async def test_admins_hire_too(writes_client, writes_settings):
    employee = await hire(writes_client, writes_settings, role="admin")
    assert employee["status"] == "ACTIVE"


async def test_a_new_title_is_a_promotion_and_contact_changes_are_not_history(writes_client, writes_settings):
    url = writes_settings.database_url
    employee = await hire(writes_client, writes_settings, title="Analyst", phone="+1 555 0100")
    key = pk(employee["id"], "Employee")
    contact = ok(
        await run(
            writes_client,
            writes_settings,
            "updateEmployee",
            {"id": employee["id"], "version": 1, "phone": None, "lastName": "Quist-Berg", "nationalId": "AB-1"},
        )
    )
    assert contact["version"] == 2 and kinds(contact) == ["HIRED"]
    (changes,) = sql(url, "SELECT changes FROM audit_log WHERE entity_id = %s AND action = 'employee.updated'", key)[0]
    assert changes == {
        "phone": {"before": "+1 555 0100", "after": None},
        "lastName": {"before": "Quist", "after": "Quist-Berg"},
        "nationalId": {"before": None, "after": "AB-1"},
    }
    (payload,) = sql(url, "SELECT payload FROM outbox WHERE entity_id = %s AND event_type = 'employee.updated'", key)[0]
    assert payload["fields"] == ["lastName", "nationalId", "phone"] and "AB-1" not in str(payload)

    promoted = ok(
        await run(
            writes_client,
            writes_settings,
            "updateEmployee",
            {"id": employee["id"], "version": 2, "title": "Senior Analyst"},
        )
    )
    assert promoted["title"] == "Senior Analyst" and kinds(promoted) == ["HIRED", "PROMOTED"]
    assert promoted["history"]["nodes"][1]["title"] == "Senior Analyst"
    # The same title again is no promotion.
    same = ok(
        await run(
            writes_client,
            writes_settings,
            "updateEmployee",
            {"id": employee["id"], "version": 3, "title": "Senior Analyst"},
        )
    )
    assert kinds(same) == ["HIRED", "PROMOTED"]


@pytest.mark.parametrize(
    "change, code, field",
    [
        ({"firstName": None}, "REQUIRED", ["input", "firstName"]),
        ({"email": None}, "REQUIRED", ["input", "email"]),
        ({"title": "t" * 121}, "TOO_LONG", ["input", "title"]),
        ({"email": "nope"}, "INVALID_EMAIL", ["input", "email"]),
        # hired 2020-01-06: thirteen on the first day.
        ({"dateOfBirth": "2007-01-01"}, "INVALID", ["input", "dateOfBirth"]),
        ({}, "REQUIRED", ["input"]),
        ({"version": 7, "title": "Boss"}, "CONFLICT", ["input", "version"]),
        ({"id": gid("Employee", 999999), "title": "Boss"}, "NOT_FOUND", ["input", "id"]),
    ],
)
async def test_bad_updates_change_nothing(writes_client, writes_settings, change, code, field):
    url = writes_settings.database_url
    employee = await hire(writes_client, writes_settings)
    before = written(url)
    payload = await run(
        writes_client, writes_settings, "updateEmployee", {"id": employee["id"], "version": 1, **change}
    )
    assert errors(payload) == [(code, field)] and payload["employee"] is None
    assert written(url) == before
    assert sql(url, "SELECT version FROM employees WHERE id = %s", pk(employee["id"], "Employee"))[0][0] == 1


async def test_another_organizations_employee_does_not_exist_for_mutations(writes_client, writes_settings):
    url = writes_settings.database_url
    (theirs, version) = sql(url, "SELECT id, version FROM employees WHERE org_id = 2 AND status = 'active' LIMIT 1")[0]
    before = written(url)
    for field, input in [
        ("updateEmployee", {"id": gid("Employee", theirs), "version": version, "title": "Taken"}),
        ("changeEmployeeSalary", {"id": gid("Employee", theirs), "salary": "1.00"}),
    ]:
        payload = await run(writes_client, writes_settings, field, input)
        assert errors(payload) == [("NOT_FOUND", ["input", "id"])]
    assert written(url) == before
    assert count(url, "employees", "id = %s AND title = 'Taken'", theirs) == 0
