"""The inputs of the employee commands, in domain terms.

Keys are the employee's (and department's) primary keys. ``version``, where an
input has one, is the version the caller read: a stale one changes nothing
(optional on the lifecycle steps, required on an edit). ``note`` says why, for
the employment history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from resolvers.writes.inputs import UNCHANGED, Maybe


@dataclass(frozen=True)
class HireEmployee:
    """A new hire: ONBOARDING when ``hired_on`` is after today, else ACTIVE."""

    first_name: str
    last_name: str
    email: str
    title: str
    salary: Decimal
    hired_on: dt.date
    phone: str | None = None
    department_id: int | None = None
    manager_id: int | None = None
    date_of_birth: dt.date | None = None
    national_id: str | None = None


@dataclass(frozen=True)
class UpdateEmployee:
    """Changes to an employee's details; a field left UNCHANGED stays as it is.
    ``None`` clears the phone, the date of birth or the national id; for the
    names, the email and the title it is refused (they are required)."""

    id: int
    version: int
    first_name: Maybe[str | None] = UNCHANGED
    last_name: Maybe[str | None] = UNCHANGED
    email: Maybe[str | None] = UNCHANGED
    phone: Maybe[str | None] = UNCHANGED
    title: Maybe[str | None] = UNCHANGED
    date_of_birth: Maybe[dt.date | None] = UNCHANGED
    national_id: Maybe[str | None] = UNCHANGED


@dataclass(frozen=True)
class ActivateEmployee:
    """The first working day of an ONBOARDING employee."""

    id: int
    version: int | None = None


@dataclass(frozen=True)
class StartLeave:
    id: int
    version: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class EndLeave:
    id: int
    version: int | None = None


@dataclass(frozen=True)
class TransferEmployee:
    """A move to another department and/or manager: give either or both; one
    left UNCHANGED stays, ``None`` leaves the employee without one."""

    id: int
    version: int | None = None
    department_id: Maybe[int | None] = UNCHANGED
    manager_id: Maybe[int | None] = UNCHANGED
    note: str | None = None


@dataclass(frozen=True)
class ChangeEmployeeSalary:
    id: int
    salary: Decimal
    version: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class EndEmployment:
    """A termination or a retirement; ``ended_on``, the last day, defaults to today."""

    id: int
    version: int | None = None
    ended_on: dt.date | None = None
    note: str | None = None
