"""Order mutations: drafts and their lines, and the lifecycle."""

from __future__ import annotations

from typing import List, Optional

import strawberry

from resolvers.orders import commands
from schema.mutations import UserError, provided, run_command
from schema.orders.inputs import (
    AddOrderLineInput,
    CancelOrderInput,
    CreateOrderInput,
    OrderTransitionInput,
    PlaceOrderInput,
    RemoveOrderLineInput,
    UpdateOrderLineInput,
)
from schema.orders.types import Order


@strawberry.type(description="The result of an order mutation.")
class OrderPayload:
    order: Optional[Order] = strawberry.field(description="The order as the mutation left it; null on errors.")
    errors: List[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class OrderMutations:
    @strawberry.mutation(description="Create a draft order, its lines priced from the catalog. Roles: admin, sales (own accounts).")
    async def create_order(self, info: strawberry.Info, input: CreateOrderInput) -> OrderPayload:
        return await run_command(info, "order", lambda s: commands.create(s, provided(input)))

    @strawberry.mutation(description="Add a line to a draft order. Roles: admin, sales (own accounts).")
    async def add_order_line(self, info: strawberry.Info, input: AddOrderLineInput) -> OrderPayload:
        return await run_command(info, "order", lambda s: commands.add_line(s, provided(input)))

    @strawberry.mutation(description="Change a draft order's line (quantity, discount). Roles: admin, sales (own accounts).")
    async def update_order_line(self, info: strawberry.Info, input: UpdateOrderLineInput) -> OrderPayload:
        return await run_command(info, "order", lambda s: commands.update_line(s, provided(input)))

    @strawberry.mutation(description="Remove a line from a draft order. Roles: admin, sales (own accounts).")
    async def remove_order_line(self, info: strawberry.Info, input: RemoveOrderLineInput) -> OrderPayload:
        return await run_command(info, "order", lambda s: commands.remove_line(s, provided(input)))

    @strawberry.mutation(
        description="Place a draft: reserve its stock, check the customer's credit; approved at once up to the"
        " organization's approval threshold. Accepts an idempotency key. An INSUFFICIENT_STOCK error points at the"
        " first line of the short product: [\"input\", \"lines\", \"<index from 0, in line order>\"]."
        " Roles: admin, sales (own accounts)."
    )
    async def place_order(self, info: strawberry.Info, input: PlaceOrderInput) -> OrderPayload:
        return await run_command(info, "order", lambda s: commands.place(s, provided(input)))

    @strawberry.mutation(description="Approve a placed order. Roles: admin, finance, manager (orders of its reports).")
    async def approve_order(self, info: strawberry.Info, input: OrderTransitionInput) -> OrderPayload:
        return await run_command(info, "order", lambda s: commands.approve(s, provided(input)))

    @strawberry.mutation(description="Fulfil an approved order: its reserved stock leaves the warehouse. Roles: admin, sales.")
    async def fulfil_order(self, info: strawberry.Info, input: OrderTransitionInput) -> OrderPayload:
        return await run_command(info, "order", lambda s: commands.fulfil(s, provided(input)))

    @strawberry.mutation(
        description="Cancel an order that is not invoiced, releasing its reserved stock. Roles: admin, sales, finance."
    )
    async def cancel_order(self, info: strawberry.Info, input: CancelOrderInput) -> OrderPayload:
        return await run_command(info, "order", lambda s: commands.cancel(s, provided(input)))
