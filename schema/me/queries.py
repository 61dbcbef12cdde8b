"""The ``me`` root field."""

from __future__ import annotations

import strawberry
from graphql import GraphQLObjectType

from schema.me.types import Me

# The types whose permissions ``me`` explains: the planned entities.
EXPLAINED_TYPES = (
    "Customer", "Product", "Order", "OrderLine", "Invoice", "InvoiceLine", "Payment",
    "Employee", "EmploymentEvent", "Department",
)


@strawberry.type
class MeQueries:
    @strawberry.field(description="The principal of this request: who, in which organization, allowed what.")
    def me(self, info: strawberry.Info) -> Me:
        schema = info._raw_info.schema
        field_names = {}
        for name in EXPLAINED_TYPES:
            named = schema.get_type(name)
            if isinstance(named, GraphQLObjectType):
                field_names[name] = list(named.fields)
        # Several statements may follow (organization, employee, customer).
        info.context.transaction.single_statement = False
        return Me(principal=info.context.principal, field_names=field_names)
