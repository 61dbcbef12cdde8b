"""Customer mutations."""

from __future__ import annotations

from typing import List, Optional

import strawberry

from resolvers.customers import commands
from schema.customers.inputs import CreateCustomerInput, CustomerTransitionInput, UpdateCustomerInput
from schema.customers.types import Customer
from schema.mutations import UserError, provided, run_command


@strawberry.type(description="The result of a customer mutation.")
class CustomerPayload:
    customer: Optional[Customer] = strawberry.field(description="The customer as the mutation left it; null on errors.")
    errors: List[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(description="Create a customer (a lead unless said otherwise). Roles: admin, sales, finance.")
    async def create_customer(self, info: strawberry.Info, input: CreateCustomerInput) -> CustomerPayload:
        return await run_command(info, "customer", lambda s: commands.create(s, provided(input)))

    @strawberry.mutation(description="Change a customer's details. Roles: admin, sales (own accounts), finance.")
    async def update_customer(self, info: strawberry.Info, input: UpdateCustomerInput) -> CustomerPayload:
        return await run_command(info, "customer", lambda s: commands.update(s, provided(input)))

    @strawberry.mutation(description="Convert a lead into an active customer.")
    async def activate_customer(self, info: strawberry.Info, input: CustomerTransitionInput) -> CustomerPayload:
        return await run_command(info, "customer", lambda s: commands.transition(s, "ACTIVATE", provided(input)))

    @strawberry.mutation(description="Stop doing business with a customer (lead or active → inactive).")
    async def deactivate_customer(self, info: strawberry.Info, input: CustomerTransitionInput) -> CustomerPayload:
        return await run_command(info, "customer", lambda s: commands.transition(s, "DEACTIVATE", provided(input)))

    @strawberry.mutation(description="Do business with an inactive customer again. Roles: admin, finance.")
    async def reactivate_customer(self, info: strawberry.Info, input: CustomerTransitionInput) -> CustomerPayload:
        return await run_command(info, "customer", lambda s: commands.transition(s, "REACTIVATE", provided(input)))
