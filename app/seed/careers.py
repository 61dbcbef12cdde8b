"""One employee's history: hired, then yearly raises, promotions, a transfer or a leave,
and the event that matches the final status (a leave still open, a termination, a retirement)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.seed.common import ANCHOR_DAY, YEAR_DAYS

# (occurred_at, kind, department_id, manager_id, title, salary in whole units, note);
# the salary is a float while raises and rounding to hundreds work on it.
Event = tuple[datetime, str, "int | None", "int | None", "str | None", "float | None", "str | None"]

LEAVING_NOTES = {"terminated": ("Resigned", "Position eliminated", "Contract ended"), "retired": ("Retirement",)}


@dataclass
class Placement:
    """Where someone works: the department and the manager they report to."""

    department_id: int
    manager_id: int | None
    department_name: str


@dataclass
class Career:
    status: str
    hired: date
    ended: date | None
    ladder: tuple[str, ...]  # titles from the first level up
    final_level: int
    pay: tuple[float, ...]  # yearly pay per ladder level, in currency units
    placement: Placement
    earlier_placement: Placement | None  # set when they transferred into their department
    hour_utc: int


def _when(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def history(rng: random.Random, c: Career) -> tuple[list[Event], int]:
    """The events in time order, and the salary they end with."""
    leave_day = ANCHOR_DAY - timedelta(days=rng.randint(3, 80)) if c.status == "on_leave" else None
    # Yearly reviews stop before whatever closes the story (leave, exit, today).
    last_day = leave_day or c.ended or ANCHOR_DAY
    years = max(0, ((last_day - c.hired).days - 21) // YEAR_DAYS)
    promotions = min(c.final_level, rng.randint(0, years // 2)) if years >= 2 else 0
    level = c.final_level - promotions
    transfer_year = rng.randint(1, years) if c.earlier_placement and years >= 1 else None
    # A transfer year is drawn only for someone with an earlier placement.
    start = c.earlier_placement if transfer_year and c.earlier_placement else c.placement
    salary = round(c.pay[level] * rng.uniform(0.9, 1.1), -2)
    events: list[Event] = [
        (_when(c.hired, c.hour_utc), "hired", start.department_id, start.manager_id, c.ladder[level], salary, None)
    ]
    leave_year = rng.randint(1, years - 1) if c.status == "active" and years >= 2 and rng.random() < 0.12 else None
    for year in range(1, years + 1):
        day = c.hired + timedelta(days=year * YEAR_DAYS + rng.randint(0, 20))
        slots_left = years - year + (0 if transfer_year and transfer_year > year else 1)
        if year == transfer_year:
            p = c.placement
            note = f"Moved to {p.department_name}"
            events.append((_when(day, c.hour_utc), "transferred", p.department_id, p.manager_id, None, None, note))
        elif promotions and (promotions >= slots_left or rng.random() < 0.5):
            promotions -= 1
            level += 1
            salary = max(round(salary * 1.08, -2), round(c.pay[level] * rng.uniform(0.95, 1.05), -2))
            events.append((_when(day, c.hour_utc), "promoted", None, None, c.ladder[level], salary, None))
        else:
            salary = round(salary * rng.uniform(1.02, 1.06))
            events.append((_when(day, c.hour_utc), "salary_changed", None, None, None, salary, "Annual review"))
        if year == leave_year:
            away = day + timedelta(days=60)
            back = away + timedelta(days=rng.randint(20, 120))
            events.append((_when(away, c.hour_utc), "leave_started", None, None, None, None, "Parental leave"))
            events.append((_when(back, c.hour_utc), "leave_ended", None, None, None, None, None))
    if leave_day is not None:
        note = rng.choice(("Parental leave", "Medical leave", "Sabbatical"))
        events.append((_when(leave_day, c.hour_utc), "leave_started", None, None, None, None, note))
    if c.ended is not None:
        note = rng.choice(LEAVING_NOTES[c.status])
        events.append((_when(c.ended, c.hour_utc + 8), c.status, None, None, None, None, note))
    return events, int(salary)
