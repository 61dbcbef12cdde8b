"""What every mutation shares: ``UserError``, input conversion, and running a
command into its payload.

A payload is ``{ <entity>, errors: [UserError!]! }``. Like every other object
here it is built as JSON keyed by response keys (aliases included), so the
entity inside it resolves exactly as it would in a query, under the same field
policy; a payload with errors has a null entity and changed nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from graphql import get_named_type
from strawberry import UNSET
from strawberry.utils.str_converters import to_camel_case

from app.errors import USER_ERROR_CODES, BizgraphError, CommandError, InvalidId, Rejected
from app.workflows import Machine
from resolvers.planner.ids import decode_id
from resolvers.writes.inputs import UNCHANGED
from resolvers.writes.runner import Outcome
from resolvers.writes.session import WriteSession
from schema.context import operation_scope
from schema.selection import SelectionReader

# Built from app.errors' list, so a new code is declared in one place.
UserErrorCode = strawberry.enum(
    enum.Enum("UserErrorCode", {code: code for code in USER_ERROR_CODES}),  # type: ignore[call-overload]
    description="Why a mutation refused to act. Stable: clients may branch on it.",
)


@strawberry.type(description="A reason a mutation changed nothing.")
class UserError:
    # The value is the code's name; its GraphQL enum is built at import (above).
    code: str = strawberry.field(
        graphql_type=UserErrorCode,
        description="What went wrong, as a stable code.",
    )
    field: list[str] | None = strawberry.field(
        description="The path to the input field at fault, from the argument name"
        ' (e.g. ["input", "lines", "0", "quantity"]).'
    )
    message: str = strawberry.field(description="What went wrong, for people.")


def input_path(field: list[str] | None) -> list[str] | None:
    """A refusal's path in the command's domain names (``["lines", "2", "unit_price"]``)
    as the GraphQL input names it (``["input", "lines", "2", "unitPrice"]``)."""
    if field is None:
        return None
    return ["input", *(part if part.isdigit() else to_camel_case(part) for part in field)]


class GlobalIds:
    """Decodes the global IDs of one mutation input into keys, collecting every
    ID that does not decode (or names another type); ``done`` refuses them
    together, named by the domain field they were meant for."""

    def __init__(self) -> None:
        self.errors: list[BizgraphError] = []

    def key(self, name: str | tuple[str | int, ...], value: Any, type_name: str) -> int:
        """The key a required ID names (0 after a failure: ``done`` raises before it is used)."""
        path = [str(part) for part in ((name,) if isinstance(name, str) else name)]
        try:
            return decode_id(str(value), type_name)[1]
        except InvalidId as error:
            self.errors.append(CommandError("INVALID_ID", error.message, field=path))
            return 0

    def optional(self, name: str | tuple[str | int, ...], value: Any, type_name: str) -> Any:
        """UNSET stays UNCHANGED, null stays None, an ID becomes its key."""
        if value is UNSET:
            return UNCHANGED
        if value is None:
            return None
        return self.key(name, value, type_name)

    def done(self) -> None:
        if self.errors:
            raise Rejected(self.errors)


def maybe(value: Any) -> Any:
    """An optional input field for a command: UNSET (not sent) becomes UNCHANGED,
    enums their stored lower-case value."""
    if value is UNSET or value is UNCHANGED:
        return UNCHANGED
    if isinstance(value, enum.Enum):
        return str(value.value).lower()
    return value


def given_or_none(value: Any) -> Any:
    """An optional input field where "not sent" and null mean the same (enums as stored values)."""
    value = maybe(value)
    return None if value is UNCHANGED else value


def _error_json(error: BizgraphError, selection: Any) -> dict[str, Any]:
    values = {"code": error.code, "field": input_path(error.field), "message": error.message, "__typename": "UserError"}
    return {child.key: values[child.name] for child in selection.selections}


async def run_command(
    info: strawberry.Info, entity_field: str, command: Callable[[WriteSession], Awaitable[Outcome]]
) -> dict[str, Any]:
    """Run ``command`` in its own transaction and build the payload the operation selected."""
    raw: Any = getattr(info, "_raw_info", info)
    payload_type = get_named_type(raw.return_type)
    reader = SelectionReader.from_info(info)
    selected = reader.fields_of(payload_type, [node.selection_set for node in raw.field_nodes if node.selection_set])
    result = await operation_scope(info).run_command(command, {s.key: s for s in selected if s.name == entity_field})
    payload: dict[str, Any] = {}
    for selection in selected:
        if selection.name == "__typename":
            payload[selection.key] = payload_type.name
        elif selection.name == "errors":
            payload[selection.key] = [_error_json(error, selection) for error in result.errors]
        elif selection.name == entity_field:
            payload[selection.key] = result.entities.get(selection.key)
        else:
            payload[selection.key] = None if result.errors else result.values.get(selection.name)
    return payload


def transitions_enum(machine: Machine, name: str) -> type[enum.Enum]:
    """The GraphQL enum of a machine's actions (``availableTransitions``)."""
    members = {t.name: t.name for t in machine.transitions.values()}
    enum_type = enum.Enum(name, members)  # type: ignore[misc]  # mypy reads only literal enum names
    return strawberry.enum(
        enum_type,
        description=f"An action on a {machine.entity.lower()}: "
        + "; ".join(f"{t.name}: {t.description}" for t in machine.transitions.values()),
    )
