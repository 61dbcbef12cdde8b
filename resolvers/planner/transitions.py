"""The state machines (``app/workflows.py``) as SQL for one principal.

One condition per transition: the row is in a source state, in the row scope of
a role that may perform it, and passes its guards. Commands evaluate it on the
row they lock; the planner turns it into ``availableTransitions``.
"""

from __future__ import annotations

from app.workflows import Machine, Transition
from resolvers.planner.access import Access
from resolvers.planner.catalog import Entity
from resolvers.planner.sqltext import SqlParams, quote_literal


def in_source_state(transition: Transition, alias: str) -> str:
    states = ", ".join(quote_literal(state) for state in transition.sources)
    return f"{alias}.status IN ({states})"


def may_act(access: Access, entity: Entity, transition: Transition, alias: str, params: SqlParams) -> str:
    """The row is one the principal may perform ``transition`` on (roles and row scope)."""
    return access.acting_rows(entity, transition.roles, alias, params)


def guard_sql(transition: Transition, alias: str) -> list[str]:
    return [guard.sql.format(t=alias) for guard in transition.guards]


def available_transitions_sql(machine: Machine, access: Access, entity: Entity, alias: str, params: SqlParams) -> str:
    """A JSON array of the transitions the principal may perform on the row now."""
    cases = []
    for transition in machine.transitions.values():
        if access.roles.isdisjoint(transition.roles):
            continue
        condition = " AND ".join(
            [
                in_source_state(transition, alias),
                may_act(access, entity, transition, alias, params),
                *guard_sql(transition, alias),
            ]
        )
        cases.append(f"CASE WHEN {condition} THEN {quote_literal(transition.name)} END")
    if not cases:
        return "'[]'::json"
    return f"to_json(array_remove(ARRAY[{', '.join(cases)}]::text[], NULL))"
