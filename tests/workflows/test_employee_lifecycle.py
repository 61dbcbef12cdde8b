"""Employee mutations over HTTP with real tokens, part 2: the lifecycle after the
hire (first day, leave, salary, transfers, termination, retirement), the
management tree's rules, concurrency, availableTransitions, history and outbox."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tests.support.employees import (
    audit_changes,
    errors,
    hire,
    kinds,
    ok,
    outbox_payloads,
    read,
    run,
    today,
    written,
)
from tests.support.graphql import gql
from tests.support.workflow import codes, gid, pk, sql, token

ACTIVE = ["EDIT", "TRANSFER", "CHANGE_SALARY", "START_LEAVE", "TERMINATE", "RETIRE"]
ON_LEAVE = ["EDIT", "TRANSFER", "CHANGE_SALARY", "END_LEAVE", "TERMINATE", "RETIRE"]
ONBOARDING = ["EDIT", "ACTIVATE", "TRANSFER", "CHANGE_SALARY", "TERMINATE"]
EVERY_ACTION = [
    ("updateEmployee", {"title": "Again"}),
    ("activateEmployee", {}),
    ("transferEmployee", {"managerId": None}),
    ("changeEmployeeSalary", {"salary": "1.00"}),
    ("startLeave", {}),
    ("endLeave", {}),
    ("terminateEmployee", {}),
    ("retireEmployee", {}),
]


async def _onboarding_whose_first_day_came(client, settings):
    """An ONBOARDING employee on their first day: hired for tomorrow, then a day passes."""
    url = settings.database_url
    employee = await hire(client, settings, hiredOn=str(today(url) + dt.timedelta(days=1)))
    sql(url, "UPDATE employees SET hired_on = CURRENT_DATE WHERE id = %s RETURNING id", pk(employee["id"], "Employee"))
    return employee


async def test_from_onboarding_to_retirement(writes_client, writes_settings):
    url = writes_settings.database_url
    employee = await hire(writes_client, writes_settings, hiredOn=str(today(url) + dt.timedelta(days=3)))
    early = await run(writes_client, writes_settings, "activateEmployee", {"id": employee["id"]})
    assert codes(early) == ["INVALID_TRANSITION"]  # the first day has not come
    sql(url, "UPDATE employees SET hired_on = CURRENT_DATE WHERE id = %s RETURNING id", pk(employee["id"], "Employee"))
    assert (await read(writes_client, writes_settings, employee["id"]))["availableTransitions"] == ONBOARDING

    steps = [
        ("activateEmployee", {}, "ACTIVE", ACTIVE),
        ("startLeave", {"note": "Sabbatical"}, "ON_LEAVE", ON_LEAVE),
        ("endLeave", {}, "ACTIVE", ACTIVE),
        ("changeEmployeeSalary", {"salary": "60000.00", "note": "Yearly review"}, "ACTIVE", ACTIVE),
        ("retireEmployee", {"note": "Well earned"}, "RETIRED", []),
    ]
    for version, (field, extra, status, actions) in enumerate(steps, start=1):
        employee = ok(
            await run(writes_client, writes_settings, field, {"id": employee["id"], "version": version, **extra})
        )
        assert (employee["status"], employee["availableTransitions"], employee["version"]) == (
            status,
            actions,
            version + 1,
        ), field
    assert employee["endedOn"] == str(today(url)) and employee["salary"] == "60000.00"
    assert [(n["kind"], n["note"], n["salary"]) for n in employee["history"]["nodes"]] == [
        ("HIRED", None, "52000.00"),
        ("LEAVE_STARTED", "Sabbatical", None),
        ("LEAVE_ENDED", None, None),
        ("SALARY_CHANGED", "Yearly review", "60000.00"),
        ("RETIRED", "Well earned", None),
    ]
    key = pk(employee["id"], "Employee")
    events = sql(
        url, "SELECT event_type FROM outbox WHERE entity_id = %s AND entity_type = 'Employee' ORDER BY id", key
    )
    assert [e for (e,) in events] == [
        "employee.hired",
        "employee.activated",
        "employee.leave_started",
        "employee.leave_ended",
        "employee.salary_changed",
        "employee.retired",
    ]
    assert sql(url, "SELECT status, ended_on FROM employees WHERE id = %s", key)[0] == ("retired", today(url))


@pytest.mark.parametrize(
    "start, field, extra",
    [
        ("onboarding", "retireEmployee", {}),
        ("onboarding", "startLeave", {}),
        ("active", "endLeave", {}),
        ("active", "activateEmployee", {}),
        ("on_leave", "startLeave", {}),
        ("on_leave", "activateEmployee", {}),
    ],
)
async def test_actions_outside_their_source_states_are_invalid_transitions(
    writes_client, writes_settings, start, field, extra
):
    url = writes_settings.database_url
    if start == "onboarding":
        employee = await _onboarding_whose_first_day_came(writes_client, writes_settings)
    else:
        employee = await hire(writes_client, writes_settings)
        if start == "on_leave":
            ok(await run(writes_client, writes_settings, "startLeave", {"id": employee["id"]}))
    before = written(url)
    payload = await run(writes_client, writes_settings, field, {"id": employee["id"], **extra})
    assert codes(payload) == ["INVALID_TRANSITION"] and payload["employee"] is None
    assert written(url) == before


async def test_nothing_happens_to_someone_who_has_left(writes_client, writes_settings):
    url = writes_settings.database_url
    employee = await hire(writes_client, writes_settings)
    gone = ok(
        await run(writes_client, writes_settings, "terminateEmployee", {"id": employee["id"], "endedOn": "2024-05-31"})
    )
    assert (gone["status"], gone["endedOn"], gone["availableTransitions"]) == ("TERMINATED", "2024-05-31", [])
    before = written(url)
    for field, extra in EVERY_ACTION:
        payload = await run(writes_client, writes_settings, field, {"id": employee["id"], "version": 2, **extra})
        assert codes(payload) == ["INVALID_TRANSITION"], field
    assert written(url) == before


async def test_the_last_day_is_not_before_the_first(writes_client, writes_settings):
    url = writes_settings.database_url
    employee = await hire(writes_client, writes_settings, hiredOn="2022-02-01")
    before = written(url)
    for field in ("terminateEmployee", "retireEmployee"):
        payload = await run(writes_client, writes_settings, field, {"id": employee["id"], "endedOn": "2022-01-31"})
        assert errors(payload) == [("INVALID", ["input", "endedOn"])]
    assert written(url) == before
    same_day = ok(
        await run(
            writes_client,
            writes_settings,
            "terminateEmployee",
            {"id": employee["id"], "endedOn": "2022-02-01", "note": "Changed their mind"},
        )
    )
    assert same_day["endedOn"] == "2022-02-01" and kinds(same_day) == ["HIRED", "TERMINATED"]
    assert same_day["history"]["nodes"][1]["note"] == "Changed their mind"


async def test_nobody_leaves_while_managing_employed_people(writes_client, writes_settings):
    url = writes_settings.database_url
    boss = await hire(writes_client, writes_settings, title="Head of Things")
    report = await hire(writes_client, writes_settings, managerId=boss["id"])
    leaver = await hire(writes_client, writes_settings, managerId=boss["id"])
    ok(await run(writes_client, writes_settings, "terminateEmployee", {"id": leaver["id"]}))
    shown = await read(writes_client, writes_settings, boss["id"])
    assert shown["availableTransitions"] == ["EDIT", "TRANSFER", "CHANGE_SALARY", "START_LEAVE"]
    before = written(url)
    for field in ("terminateEmployee", "retireEmployee"):
        refused = await run(writes_client, writes_settings, field, {"id": boss["id"]})
        assert codes(refused) == ["HAS_REPORTS"], field
    assert written(url) == before
    # Once the employed report has a new manager (none, here), the boss may go; the leaver never counted.
    ok(await run(writes_client, writes_settings, "transferEmployee", {"id": report["id"], "managerId": None}))
    assert (await read(writes_client, writes_settings, boss["id"]))["availableTransitions"] == ACTIVE
    gone = ok(await run(writes_client, writes_settings, "retireEmployee", {"id": boss["id"]}))
    assert gone["status"] == "RETIRED"


async def test_a_leaving_department_head_leaves_the_department_without_a_head(writes_client, writes_settings):
    url = writes_settings.database_url
    (department, head) = sql(url, "SELECT id, head_id FROM departments WHERE org_id = 1 AND code = 'MKT'")[0]
    employee = await hire(writes_client, writes_settings, departmentId=gid("Department", department))
    key = pk(employee["id"], "Employee")
    sql(url, "UPDATE departments SET head_id = %s WHERE id = %s RETURNING id", key, department)  # no API sets heads
    try:
        ok(await run(writes_client, writes_settings, "terminateEmployee", {"id": employee["id"], "note": "Moved on"}))
        assert sql(url, "SELECT head_id FROM departments WHERE id = %s", department)[0][0] is None
        (changes,) = audit_changes(url, key, "employee.terminated")
        assert changes["headOfDepartmentIds"] == {"before": [department], "after": []}
        assert changes["status"] == {"before": "active", "after": "terminated"}
        (payload,) = outbox_payloads(url, key, "employee.terminated")
        assert payload["departmentsLeftWithoutHead"] == [gid("Department", department)]
        assert payload["from"] == "active" and payload["status"] == "terminated"
    finally:
        sql(url, "UPDATE departments SET head_id = %s WHERE id = %s RETURNING id", head, department)


async def test_transfers_move_department_and_manager_and_say_so_in_the_history(writes_client, writes_settings):
    url = writes_settings.database_url
    first, second = await hire(writes_client, writes_settings), await hire(writes_client, writes_settings)
    employee = await hire(writes_client, writes_settings, departmentId=gid("Department", 2), managerId=first["id"])
    moved = ok(
        await run(
            writes_client,
            writes_settings,
            "transferEmployee",
            {
                "id": employee["id"],
                "version": 1,
                "departmentId": gid("Department", 3),
                "managerId": second["id"],
                "note": "Reorganisation",
            },
        )
    )
    assert moved["department"] == {"id": gid("Department", 3)} and moved["manager"] == {"id": second["id"]}
    # Only the manager: the department stays, and the step records where the employee now is.
    alone = ok(await run(writes_client, writes_settings, "transferEmployee", {"id": employee["id"], "managerId": None}))
    assert alone["department"] == {"id": gid("Department", 3)} and alone["manager"] is None
    assert [(n["kind"], n["department"], n["manager"], n["note"]) for n in alone["history"]["nodes"]] == [
        ("HIRED", {"id": gid("Department", 2)}, {"id": first["id"]}, None),
        ("TRANSFERRED", {"id": gid("Department", 3)}, {"id": second["id"]}, "Reorganisation"),
        ("TRANSFERRED", {"id": gid("Department", 3)}, None, None),
    ]
    assert audit_changes(url, pk(employee["id"], "Employee"), "employee.transferred")[0] == {
        "departmentId": {"before": 2, "after": 3},
        "managerId": {"before": pk(first["id"], "Employee"), "after": pk(second["id"], "Employee")},
    }


@pytest.mark.parametrize(
    "extra, code, field",
    [
        ({}, "REQUIRED", ["input"]),
        ({"departmentId": gid("Department", 999999)}, "NOT_FOUND", ["input", "departmentId"]),
        ({"managerId": "bm9wZQ=="}, "INVALID_ID", ["input", "managerId"]),
        ({"managerId": gid("Employee", 999999)}, "NOT_FOUND", ["input", "managerId"]),
        ({"departmentId": gid("Department", 5), "note": "n" * 501}, "TOO_LONG", ["input", "note"]),
        ({"departmentId": gid("Department", 5), "version": 9}, "CONFLICT", ["input", "version"]),
        ({"departmentId": None, "managerId": None}, "INVALID", ["input"]),  # already there
    ],
)
async def test_bad_transfers_change_nothing(writes_client, writes_settings, extra, code, field):
    url = writes_settings.database_url
    employee = await hire(writes_client, writes_settings)
    before = written(url)
    payload = await run(writes_client, writes_settings, "transferEmployee", {"id": employee["id"], **extra})
    assert errors(payload) == [(code, field)]
    assert written(url) == before


async def test_transfers_keep_the_management_tree_free_of_cycles(writes_client, writes_settings):
    url = writes_settings.database_url
    top = await hire(writes_client, writes_settings, title="Director")
    middle = await hire(writes_client, writes_settings, managerId=top["id"])
    bottom = await hire(writes_client, writes_settings, managerId=middle["id"])
    (gone,) = sql(url, "SELECT id FROM employees WHERE org_id = 1 AND status = 'terminated' LIMIT 1")[0]
    (foreign,) = sql(url, "SELECT id FROM employees WHERE org_id = 2 AND status = 'active' LIMIT 1")[0]
    tree = "SELECT id, manager_id FROM employees WHERE id = ANY(%s) ORDER BY id"
    keys = [pk(e["id"], "Employee") for e in (top, middle, bottom)]
    shape = sql(url, tree, keys)
    before = written(url)
    for manager, code in [
        (top["id"], "MANAGEMENT_CYCLE"),  # themselves
        (middle["id"], "MANAGEMENT_CYCLE"),  # a direct report
        (bottom["id"], "MANAGEMENT_CYCLE"),  # an indirect report
        (gid("Employee", gone), "INVALID"),  # someone who has left
        (gid("Employee", foreign), "NOT_FOUND"),  # another organization's
    ]:
        payload = await run(writes_client, writes_settings, "transferEmployee", {"id": top["id"], "managerId": manager})
        assert errors(payload) == [(code, ["input", "managerId"])], manager
    assert sql(url, tree, keys) == shape and written(url) == before
    # Sideways and upwards are fine: the bottom reports to the top directly.
    ok(await run(writes_client, writes_settings, "transferEmployee", {"id": bottom["id"], "managerId": top["id"]}))


async def test_concurrent_transfers_cannot_close_a_loop_together(writes_client, writes_settings):
    """B reports to C, D to A. Setting A → B and C → D at once would close A → B → C → D → A
    without the two transfers locking a common row: exactly one may win. (A race: run a few.)"""
    for _ in range(5):
        a, c = await hire(writes_client, writes_settings), await hire(writes_client, writes_settings)
        b = await hire(writes_client, writes_settings, managerId=c["id"])
        d = await hire(writes_client, writes_settings, managerId=a["id"])
        racers = await asyncio.gather(
            run(writes_client, writes_settings, "transferEmployee", {"id": a["id"], "managerId": b["id"]}),
            run(writes_client, writes_settings, "transferEmployee", {"id": c["id"], "managerId": d["id"]}),
        )
        assert sorted(codes(p) for p in racers) == [[], ["MANAGEMENT_CYCLE"]]


async def test_salary_changes_need_the_current_version_and_one_of_two_racers_wins(writes_client, writes_settings):
    url = writes_settings.database_url
    employee = await hire(writes_client, writes_settings, salary="50000.00")
    key = pk(employee["id"], "Employee")
    racers = await asyncio.gather(
        *[
            run(
                writes_client,
                writes_settings,
                "changeEmployeeSalary",
                {"id": employee["id"], "version": 1, "salary": f"5{i}000.00"},
            )
            for i in (1, 2)
        ]
    )
    assert sorted(codes(p) for p in racers) == [[], ["CONFLICT"]]
    winner = next(p["employee"] for p in racers if not p["errors"])
    assert winner["version"] == 2 and kinds(winner) == ["HIRED", "SALARY_CHANGED"]
    assert sql(url, "SELECT salary::text FROM employees WHERE id = %s", key)[0][0] == winner["salary"]
    # One audit entry, and it holds the salary's before and after.
    assert audit_changes(url, key, "employee.salary_changed") == [
        {"salary": {"before": "50000.00", "after": winner["salary"]}}
    ]
    stale = await run(
        writes_client, writes_settings, "changeEmployeeSalary", {"id": employee["id"], "version": 1, "salary": "1.00"}
    )
    assert errors(stale) == [("CONFLICT", ["input", "version"])]


@pytest.mark.parametrize(
    "extra, code, field",
    [
        ({"salary": "50000.001"}, "TOO_MANY_DECIMALS", ["input", "salary"]),
        ({"salary": "-0.01"}, "NEGATIVE", ["input", "salary"]),
        ({"salary": "52000.00"}, "INVALID", ["input", "salary"]),  # no change
        ({"salary": "1.00", "note": "n" * 501}, "TOO_LONG", ["input", "note"]),
    ],
)
async def test_bad_salary_changes_change_nothing(writes_client, writes_settings, extra, code, field):
    url = writes_settings.database_url
    employee = await hire(writes_client, writes_settings)
    before = written(url)
    payload = await run(writes_client, writes_settings, "changeEmployeeSalary", {"id": employee["id"], **extra})
    assert errors(payload) == [(code, field)]
    assert written(url) == before


async def test_available_transitions_follow_the_state_and_the_reader(writes_client, writes_settings):
    onboarding = await _onboarding_whose_first_day_came(writes_client, writes_settings)
    active = await hire(writes_client, writes_settings)
    on_leave = await hire(writes_client, writes_settings)
    ok(await run(writes_client, writes_settings, "startLeave", {"id": on_leave["id"]}))
    gone = await hire(writes_client, writes_settings)
    ok(await run(writes_client, writes_settings, "terminateEmployee", {"id": gone["id"]}))
    expected = [(onboarding, ONBOARDING), (active, ACTIVE), (on_leave, ON_LEAVE), (gone, [])]
    for role in ("hr", "admin"):
        for employee, actions in expected:
            shown = await read(writes_client, writes_settings, employee["id"], "availableTransitions", role)
            assert shown["availableTransitions"] == actions, (role, employee["status"])
    for role in ("employee", "manager", "analyst", "finance"):
        for employee, _ in expected:
            shown = await read(writes_client, writes_settings, employee["id"], "status availableTransitions", role)
            assert shown["availableTransitions"] == [], role


async def test_outbox_events_never_carry_pay_or_personal_data(writes_client, writes_settings):
    url = writes_settings.database_url
    manager = await hire(writes_client, writes_settings)
    employee = await hire(
        writes_client,
        writes_settings,
        salary="87654.32",
        dateOfBirth="1987-06-05",
        nationalId="ZZ-998877",
    )
    steps = [
        ("updateEmployee", {"version": 1, "nationalId": "ZZ-112233", "dateOfBirth": "1987-06-06"}),
        ("changeEmployeeSalary", {"salary": "91234.56"}),
        ("transferEmployee", {"managerId": manager["id"], "departmentId": gid("Department", 4)}),
        ("startLeave", {"note": "Parental leave"}),
        ("endLeave", {}),
        ("terminateEmployee", {}),
    ]
    for field, extra in steps:
        ok(await run(writes_client, writes_settings, field, {"id": employee["id"], **extra}))
    events = sql(
        url,
        "SELECT event_type, payload FROM outbox WHERE entity_id = %s AND entity_type = 'Employee' ORDER BY id",
        pk(employee["id"], "Employee"),
    )
    assert [e for e, _ in events] == [
        "employee.hired",
        "employee.updated",
        "employee.salary_changed",
        "employee.transferred",
        "employee.leave_started",
        "employee.leave_ended",
        "employee.terminated",
    ]
    for event_type, payload in events:
        text = str(payload)
        for secret in ("87654", "91234", "1987-06", "ZZ-", "salary", 'dateOfBirth":', "Parental"):
            assert secret not in text, (event_type, secret)
        assert payload["id"] == employee["id"] and payload["number"] == employee["number"]
    transferred = dict(events)["employee.transferred"]
    assert (transferred["managerId"], transferred["departmentId"]) == (manager["id"], gid("Department", 4))
    # The audit log keeps what the outbox may not.
    audit = sql(
        url,
        "SELECT action, changes FROM audit_log WHERE entity_id = %s AND entity_type = 'Employee' ORDER BY id",
        pk(employee["id"], "Employee"),
    )
    assert dict(audit)["employee.salary_changed"]["salary"] == {"before": "87654.32", "after": "91234.56"}
    assert dict(audit)["employee.updated"]["nationalId"] == {"before": "ZZ-998877", "after": "ZZ-112233"}


async def test_history_lists_every_step_in_order_and_hides_pay_from_whom_the_policy_says(
    writes_client, writes_settings
):
    employee = await hire(writes_client, writes_settings, title="Engineer", salary="70000.00")
    for field, extra in [
        ("updateEmployee", {"version": 1, "title": "Senior Engineer"}),
        ("changeEmployeeSalary", {"salary": "80000.00", "note": "Promotion raise"}),
        ("transferEmployee", {"departmentId": gid("Department", 4)}),
        ("startLeave", {}),
        ("endLeave", {}),
    ]:
        ok(await run(writes_client, writes_settings, field, {"id": employee["id"], **extra}))
    history = await read(writes_client, writes_settings, employee["id"], "history { nodes { kind title salary note } }")
    assert history["history"]["nodes"] == [
        {"kind": "HIRED", "title": "Engineer", "salary": "70000.00", "note": None},
        {"kind": "PROMOTED", "title": "Senior Engineer", "salary": None, "note": None},
        {"kind": "SALARY_CHANGED", "title": None, "salary": "80000.00", "note": "Promotion raise"},
        {"kind": "TRANSFERRED", "title": None, "salary": None, "note": None},
        {"kind": "LEAVE_STARTED", "title": None, "salary": None, "note": None},
        {"kind": "LEAVE_ENDED", "title": None, "salary": None, "note": None},
    ]
    # Analysts see the history, but neither pay nor notes (the read policy, unchanged by writes).
    body = await gql(
        writes_client,
        "query($id: ID!) { employee(id: $id) { history { nodes { kind salary } } } }",
        {"id": employee["id"]},
        token=token(writes_settings, "analyst"),
    )
    nodes = body["data"]["employee"]["history"]["nodes"]
    assert [n["kind"] for n in nodes][:2] == ["HIRED", "PROMOTED"] and all(n["salary"] is None for n in nodes)
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
