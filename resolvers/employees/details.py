"""Checks of an employee's personal details, as hiring and editing send them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from resolvers.writes.checks import Checks, Path
from resolvers.writes.session import WriteSession

MIN_AGE = 14  # at the first day of work
NOTE_MAX = 500

# API field → (maximum length, may it be cleared with null). Names, email and
# title are NOT NULL columns: null or blank is REQUIRED, not "clear it".
_TEXTS = {
    "firstName": (100, False),
    "lastName": (100, False),
    "title": (120, False),
    "phone": (32, True),
    "nationalId": (32, True),
}


async def today(session: WriteSession) -> dt.date:
    """The database's today: the same day the SQL of the commands (and guards) calls CURRENT_DATE."""
    return await session.value("SELECT CURRENT_DATE")


def person(checks: Checks, data: dict[str, Any], now: dt.date, *, creating: bool) -> dict[str, Any]:
    """The checked values of the personal fields sent, by API name."""
    values: dict[str, Any] = {}
    for name, (limit, nullable) in _TEXTS.items():
        if name in data or (creating and not nullable):
            values[name] = checks.text(("input", name), data.get(name), max_length=limit, required=not nullable)
    if "email" in data or creating:
        email = data.get("email")
        if email is None or not email.strip():  # Checks.email would add INVALID_EMAIL to REQUIRED
            values["email"] = checks.text(("input", "email"), email, max_length=254, required=True)
        else:
            values["email"] = checks.email(("input", "email"), email, required=True)
    if "dateOfBirth" in data:
        values["dateOfBirth"] = born = data["dateOfBirth"]
        if born is not None and born >= now:
            checks.fail(("input", "dateOfBirth"), "INVALID", "dateOfBirth must be in the past")
    return values


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_age(checks: Checks, born: dt.date | None, first_day: dt.date) -> None:
    """Nobody starts work younger than ``MIN_AGE``."""
    if born is not None and age_on(born, first_day) < MIN_AGE:
        checks.fail(
            ("input", "dateOfBirth"), "INVALID",
            f"the employee would be younger than {MIN_AGE} on their first day ({first_day.isoformat()})",
        )


def note(checks: Checks, data: dict[str, Any]) -> str | None:
    return checks.text(("input", "note"), data.get("note"), max_length=NOTE_MAX)


def sensitive_paths(values: dict[str, Any]) -> dict[str, Path]:
    """Every field sent, by path: ``check_writable`` picks out the ones the read policy restricts."""
    return {name: ("input", name) for name in values}
