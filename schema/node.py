"""The Relay ``Node`` interface and ``node(id:)``."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLObjectType

from resolvers.planner.selection import FieldSelection
from schema.context import reads
from schema.planned import PlannedObject
from schema.selection import SelectionReader


@strawberry.interface(description="An object with a global ID.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global ID; `node(id:)` fetches it from anywhere.")


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description="Any object by its global ID; null (with a NOT_FOUND error) when it does not exist.",
        graphql_type=Node | None,
    )
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> PlannedObject:
        raw: Any = info._raw_info
        reader = SelectionReader.from_info(raw)
        sets = [n.selection_set for n in raw.field_nodes if n.selection_set]

        def selection_for(type_name: str) -> FieldSelection:
            runtime_type = raw.schema.get_type(type_name)
            assert isinstance(runtime_type, GraphQLObjectType)
            return FieldSelection(key=raw.path.key, name="node", selections=reader.fields_of(runtime_type, sets))

        return await reads(info).node(id, selection_for)
