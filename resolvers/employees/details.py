"""Checks of an employee's personal details, as hiring and editing give them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from resolvers.employees.inputs import HireEmployee, UpdateEmployee
from resolvers.employees.records import COLUMNS
from resolvers.writes.checks import Checks, Path, label
from resolvers.writes.inputs import given
from resolvers.writes.session import WriteSession

MIN_AGE = 14  # at the first day of work
NOTE_MAX = 500

# Text field → (maximum length, may it be cleared with None). Names, email and
# title are NOT NULL columns: None or blank is REQUIRED, not "clear it".
_TEXTS = {
    "first_name": (100, False),
    "last_name": (100, False),
    "title": (120, False),
    "phone": (32, True),
    "national_id": (32, True),
}
PERSONAL = (*_TEXTS, "email", "date_of_birth")
_BORN: Path = ("date_of_birth",)

# The read policy names an employee's fields as the API does (``dateOfBirth``);
# the inputs name them as the columns do (``date_of_birth``).
_POLICY_NAME = {column: name for name, column in COLUMNS.items()}


async def today(session: WriteSession) -> dt.date:
    """The database's today: the same day the SQL of the commands (and guards) calls CURRENT_DATE."""
    day: dt.date = await session.value("SELECT CURRENT_DATE")
    return day


def given_details(command: HireEmployee | UpdateEmployee) -> dict[str, Any]:
    """The personal fields the command gives (a hire gives them all), by name."""
    fields = {name: getattr(command, name) for name in PERSONAL}
    return {name: value for name, value in fields.items() if given(value)}


def person(checks: Checks, fields: dict[str, Any], now: dt.date) -> dict[str, Any]:
    """The checked values of the personal ``fields`` given, by name (the column's)."""
    values: dict[str, Any] = {}
    for name, (limit, nullable) in _TEXTS.items():
        if name in fields:
            values[name] = checks.text((name,), fields[name], max_length=limit, required=not nullable)
    if "email" in fields:
        email = fields["email"]
        if email is None or not email.strip():  # Checks.email would add INVALID_EMAIL to REQUIRED
            values["email"] = checks.text(("email",), email, max_length=254, required=True)
        else:
            values["email"] = checks.email(("email",), email, required=True)
    if "date_of_birth" in fields:
        values["date_of_birth"] = born = fields["date_of_birth"]
        if born is not None and born >= now:
            checks.fail(_BORN, "INVALID", f"{label(_BORN)} must be in the past")
    return values


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_age(checks: Checks, born: dt.date | None, first_day: dt.date) -> None:
    """Nobody starts work younger than ``MIN_AGE``."""
    if born is not None and age_on(born, first_day) < MIN_AGE:
        checks.fail(
            _BORN,
            "INVALID",
            f"the employee would be younger than {MIN_AGE} on their first day ({first_day.isoformat()})",
        )


def note(checks: Checks, text: str | None) -> str | None:
    return checks.text(("note",), text, max_length=NOTE_MAX)


def sensitive_paths(values: dict[str, Any]) -> dict[str, Path]:
    """Every field set, by its name in the read policy: ``check_writable`` picks out
    the ones the policy restricts."""
    return {_POLICY_NAME[name]: (name,) for name in values}
