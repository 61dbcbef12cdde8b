"""The ``me`` root field."""

from __future__ import annotations

import strawberry

from schema.context import operation_scope
from schema.me.types import Me


@strawberry.type
class MeQueries:
    @strawberry.field(description="The principal of this request: who, in which organization, allowed what.")
    def me(self, info: strawberry.Info) -> Me:
        # Several statements may follow (organization, employee, customer).
        operation_scope(info).declare_several_statements()
        return Me(principal=info.context.principal)
