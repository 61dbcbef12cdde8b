"""The employment events in the catalog: every event the employee machine names
is declared, with the payload keys integrators rely on, and none of them may
carry pay or personal data. (What the commands write to the outbox is proved
over HTTP in test_employee_mutations.py and test_employee_lifecycle.py.)"""

from __future__ import annotations

import pytest

from app.events import CATALOG
from app.events.employees import EMPLOYEE_LEAVE_STARTED
from app.workflows import EMPLOYEE

SUMMARY = {"id", "number", "status", "departmentId", "managerId"}
PAYLOAD_KEYS = {
    "employee.hired": SUMMARY | {"hiredOn"},
    "employee.updated": SUMMARY | {"fields"},
    "employee.activated": SUMMARY | {"from"},
    "employee.transferred": SUMMARY,
    "employee.salary_changed": SUMMARY,
    "employee.leave_started": SUMMARY | {"from"},
    "employee.leave_ended": SUMMARY | {"from"},
    "employee.terminated": SUMMARY | {"from", "endedOn", "departmentsLeftWithoutHead"},
    "employee.retired": SUMMARY | {"from", "endedOn", "departmentsLeftWithoutHead"},
}


def test_every_event_of_the_employee_machine_is_declared():
    named = {t.event for t in EMPLOYEE.transitions.values()} | {"employee.hired"}
    assert None not in named
    declared = {name for name, event in CATALOG.items() if event.entity == "Employee"}
    assert named == declared == set(PAYLOAD_KEYS)


@pytest.mark.parametrize("name", sorted(PAYLOAD_KEYS))
def test_employee_events_carry_their_keys_all_required_and_nothing_personal(name):
    event = CATALOG[name]
    assert event.keys == event.required_keys == PAYLOAD_KEYS[name]
    assert event.keys.isdisjoint({"salary", "dateOfBirth", "nationalId", "email", "phone", "note"})
    assert event.description.endswith(".")


def test_a_status_change_without_the_status_it_left_is_refused():
    summary = dict.fromkeys(SUMMARY, None)
    with pytest.raises(TypeError, match="from"):
        EMPLOYEE_LEAVE_STARTED.announce(summary)
    announced = EMPLOYEE_LEAVE_STARTED.announce({**summary, "from": "active"})
    assert announced.event.name == "employee.leave_started"
