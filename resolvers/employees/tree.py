"""Where an employee sits in the organization: departments, managers, and the
management tree's rules (a manager is employed; nobody manages themselves,
directly or through others; a leaver leaves no one without a manager)."""

from __future__ import annotations

from app.errors import CommandError
from resolvers.employees.records import EMPLOYED
from resolvers.writes.checks import Checks, Path, not_found, path_of
from resolvers.writes.session import WriteSession

_EMPLOYED_SQL = ", ".join(f"'{status}'" for status in EMPLOYED)


async def check_department(session: WriteSession, checks: Checks, pk: int | None, path: Path) -> None:
    """The department exists in the principal's organization (a foreign key alone
    would accept another organization's)."""
    if pk is None:
        return
    found = await session.value("SELECT 1 FROM departments WHERE id = %(pk)s AND org_id = %(org)s", {"pk": pk})
    if not found:
        checks.errors.append(not_found(path, "Department"))


async def check_manager(session: WriteSession, checks: Checks, pk: int | None, path: Path) -> None:
    """The manager exists in the organization and is still employed.

    FOR KEY SHARE holds the manager's row until commit: a concurrent termination
    of that manager (FOR UPDATE) waits for us and then sees the new report, or
    we wait for it and then read the manager as terminated."""
    if pk is None:
        return
    status = await session.value(
        "SELECT status FROM employees WHERE id = %(pk)s AND org_id = %(org)s FOR KEY SHARE", {"pk": pk}
    )
    if status is None:
        checks.errors.append(not_found(path, "Employee"))
    elif status not in EMPLOYED:
        checks.fail(path, "INVALID", f"the manager is {status.upper()}: only employed people manage others")


async def serialize_tree_changes(session: WriteSession) -> None:
    """One manager change at a time per organization, until commit.

    Row locks cannot keep the tree acyclic: A → B and C → A, made concurrently
    while B already reports to C, each pass their own check and together close
    a loop without touching a common row. Manager changes are rare, so they
    queue on one advisory lock; the cycle check then reads a tree nobody else
    is changing. Take it before any row lock, so transfers wait in one order."""
    await session.execute("SELECT pg_advisory_xact_lock(hashtextextended('bizgraph:employee-tree:' || %(org)s, 0))")


async def check_no_cycle(session: WriteSession, employee: int, manager: int, path: Path) -> None:
    """``manager`` is neither ``employee`` nor anyone below it, at any depth (leavers included:
    their manager_id still links the tree)."""
    below = employee == manager or await session.value(
        "WITH RECURSIVE below(id) AS ("
        " SELECT id FROM employees WHERE org_id = %(org)s AND manager_id = %(employee)s"
        " UNION SELECT e.id FROM employees e JOIN below ON e.manager_id = below.id WHERE e.org_id = %(org)s"
        ") SELECT EXISTS (SELECT 1 FROM below WHERE id = %(manager)s)",
        {"employee": employee, "manager": manager},
    )
    if below:
        raise CommandError(
            "MANAGEMENT_CYCLE",
            "the new manager is the employee or one of their reports (directly or indirectly)",
            field=path_of(path),
        )


async def check_no_reports(session: WriteSession, pk: int) -> None:
    """Nobody employed reports to ``pk``.

    The machine's guard says the same, but it is evaluated in the statement that
    waited for the row lock, on a snapshot taken before the wait; this fresh
    statement also sees a report a concurrent transfer committed meanwhile."""
    reports = await session.value(
        f"SELECT count(*) FROM employees WHERE manager_id = %(pk)s AND status IN ({_EMPLOYED_SQL})", {"pk": pk}
    )
    if reports:
        raise CommandError(
            "HAS_REPORTS",
            f"the employee still manages {reports} employed people: transfer them to another manager first",
        )


async def clear_department_head(session: WriteSession, pk: int) -> list[int]:
    """Leave the departments ``pk`` heads without a head; the ids of those departments."""
    rows = await session.rows(
        "UPDATE departments SET head_id = NULL WHERE org_id = %(org)s AND head_id = %(pk)s RETURNING id", {"pk": pk}
    )
    return sorted(row["id"] for row in rows)
