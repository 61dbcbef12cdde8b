"""Lock an entity for a lifecycle action and check that the action is allowed.

The checks run in the order a client can act on: is the ID one of yours
(NOT_FOUND), may your roles do this to it (FORBIDDEN), is it still the version
you read (CONFLICT), does its state allow the action (INVALID_TRANSITION), and
does it pass the action's guards (the guard's code). The row stays locked until
the command's transaction ends, so nothing changes it between check and write.
"""

from __future__ import annotations

from app.auth.access import DENIED, field_access, restricted_fields
from app.errors import CommandError
from app.workflows import MACHINES, Transition
from resolvers.catalog import CATALOG
from resolvers.planner.sqltext import SqlParams
from resolvers.planner.transitions import guard_sql, may_act
from resolvers.writes.checks import Checks, Path, not_found, path_of
from resolvers.writes.session import Row, WriteSession
from resolvers.writes.wording import indefinite, noun


def transition(entity: str, name: str) -> Transition:
    return MACHINES[entity][name]


def require_role(session: WriteSession, roles: frozenset[str], what: str) -> None:
    if session.principal.roles.isdisjoint(roles):
        raise CommandError("FORBIDDEN", f"your roles may not {what}")


async def lock_for(
    session: WriteSession,
    entity_name: str,
    action: str,
    pk: int,
    *,
    id_path: Path = ("id",),
    version: int | None = None,
) -> Row:
    """The row ``pk`` of ``entity_name``, locked, once ``action`` is known to be allowed on it."""
    step = transition(entity_name, action)
    verb = action.lower().replace("_", " ")
    require_role(session, step.roles, f"{verb} {indefinite(entity_name)}")
    entity = CATALOG[entity_name]
    params = SqlParams()
    visible = session.access.rows(entity, "t", params)
    acting = may_act(session.access, entity, step, "t", params)
    row = await session.row(
        f"SELECT t.*, ({acting}) AS may_act FROM {entity.table} t WHERE t.id = %(pk)s AND {visible} FOR UPDATE OF t",
        {**params.values, "pk": pk},
    )
    if row is None:
        raise not_found(id_path, entity_name)
    if not row["may_act"]:
        raise CommandError("FORBIDDEN", f"your roles may not {verb} this {noun(entity_name)}", field=path_of(id_path))
    check_version(row, version, entity_name)
    if row["status"] not in step.sources:
        raise CommandError(
            "INVALID_TRANSITION",
            f"cannot {verb} {indefinite(entity_name)} that is {row['status'].upper()}"
            f" (allowed from {', '.join(s.upper() for s in step.sources)})",
        )
    if step.guards:
        # A statement of its own, after the lock: under READ COMMITTED it sees
        # what committed while this one waited (an invoice issued meanwhile),
        # which the locking statement's snapshot would not.
        columns = ", ".join(f"({sql}) AS guard_{i}" for i, sql in enumerate(guard_sql(step, "t")))
        passed = await session.row(f"SELECT {columns} FROM {entity.table} t WHERE t.id = %(pk)s", {"pk": pk})
        assert passed is not None
        for i, guard in enumerate(step.guards):
            if not passed[f"guard_{i}"]:
                raise CommandError(guard.code, guard.message)
    return row


def check_version(row: Row, version: int | None, entity_name: str) -> None:
    """Optimistic concurrency: the client must have read the row's current version."""
    if version is not None and row["version"] != version:
        raise CommandError(
            "CONFLICT",
            f"the {noun(entity_name)} changed since version {version}"
            f" (it is at version {row['version']}); read it again",
            field=["version"],
        )


def acting_roles(session: WriteSession, roles: frozenset[str]) -> frozenset[str]:
    return session.principal.roles & roles


def check_writable(checks: Checks, type_name: str, fields: dict[str, Path], roles: frozenset[str]) -> None:
    """A sensitive field (named in the read policy) may be set only by a role that
    may read it: sales may not set the credit limit it may not see."""
    for name, path in fields.items():
        if name in restricted_fields(type_name) and field_access(type_name, name, roles) is DENIED:
            checks.fail(path, "FORBIDDEN", f"your roles may not set {type_name}.{name}")


async def ensure_acting_scope(
    session: WriteSession, entity_name: str, pk: int, roles: frozenset[str], path: Path
) -> None:
    """After a write: the row is still one the principal may act on. Nobody creates
    or moves a row out of their own reach (sales hands no account to a colleague)."""
    entity = CATALOG[entity_name]
    params = SqlParams()
    acting = session.access.acting_rows(entity, roles, "t", params)
    inside = await session.value(
        f"SELECT {acting} FROM {entity.table} t WHERE t.id = %(pk)s", {**params.values, "pk": pk}
    )
    if not inside:
        raise CommandError("FORBIDDEN", f"the {noun(entity_name)} would be out of your reach", field=path_of(path))


async def ensure_exists(session: WriteSession, type_name: str, pk: int | None, path: Path, where: str = "") -> None:
    """A referenced row of the principal's organization (foreign keys alone would
    accept another organization's row: PostgreSQL checks them above row-level security)."""
    if pk is None:
        return
    entity = CATALOG[type_name]
    found = await session.value(
        f"SELECT 1 FROM {entity.table} t WHERE t.id = %(pk)s AND t.org_id = %(org)s{where}", {"pk": pk}
    )
    if not found:
        raise not_found(path, type_name)
