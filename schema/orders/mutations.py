"""Order mutations: drafts and their lines, and the lifecycle."""

from __future__ import annotations

import strawberry

from resolvers.orders import commands
from resolvers.orders.inputs import (
    AddOrderLine,
    ApproveOrder,
    CancelOrder,
    CreateOrder,
    FulfilOrder,
    OrderLine,
    PlaceOrder,
    RemoveOrderLine,
    UpdateOrderLine,
)
from schema.mutations import GlobalIds, UserError, given_or_none, maybe, run_command
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
from schema.planned import PlannedObject


@strawberry.type(description="The result of an order mutation.")
class OrderPayload:
    order: Order | None = strawberry.field(description="The order as the mutation left it; null on errors.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class OrderMutations:
    @strawberry.mutation(
        description="Create a draft order, its lines priced from the catalog. Roles: admin, sales (own accounts).",
        graphql_type=OrderPayload,
    )
    async def create_order(self, info: strawberry.Info, input: CreateOrderInput) -> PlannedObject:
        return await run_command(info, "order", lambda s: commands.create_order(s, _create_order(input)))

    @strawberry.mutation(
        description="Add a line to a draft order. Roles: admin, sales (own accounts).", graphql_type=OrderPayload
    )
    async def add_order_line(self, info: strawberry.Info, input: AddOrderLineInput) -> PlannedObject:
        return await run_command(info, "order", lambda s: commands.add_order_line(s, _add_order_line(input)))

    @strawberry.mutation(
        description="Change a draft order's line (quantity, discount). Roles: admin, sales (own accounts).",
        graphql_type=OrderPayload,
    )
    async def update_order_line(self, info: strawberry.Info, input: UpdateOrderLineInput) -> PlannedObject:
        return await run_command(info, "order", lambda s: commands.update_order_line(s, _update_order_line(input)))

    @strawberry.mutation(
        description="Remove a line from a draft order. Roles: admin, sales (own accounts).", graphql_type=OrderPayload
    )
    async def remove_order_line(self, info: strawberry.Info, input: RemoveOrderLineInput) -> PlannedObject:
        return await run_command(info, "order", lambda s: commands.remove_order_line(s, _remove_order_line(input)))

    @strawberry.mutation(
        description="Place a draft: reserve its stock, check the customer's credit; approved at once up to the"
        " organization's approval threshold. Accepts an idempotency key. An INSUFFICIENT_STOCK error points at the"
        ' first line of the short product: ["input", "lines", "<index from 0, in line order>"].'
        " Roles: admin, sales (own accounts).",
        graphql_type=OrderPayload,
    )
    async def place_order(self, info: strawberry.Info, input: PlaceOrderInput) -> PlannedObject:
        return await run_command(info, "order", lambda s: commands.place_order(s, _place_order(input)))

    @strawberry.mutation(
        description="Approve a placed order. Roles: admin, finance, manager (orders of its reports).",
        graphql_type=OrderPayload,
    )
    async def approve_order(self, info: strawberry.Info, input: OrderTransitionInput) -> PlannedObject:
        return await run_command(info, "order", lambda s: commands.approve_order(s, _approve_order(input)))

    @strawberry.mutation(
        description="Fulfil an approved order: its reserved stock leaves the warehouse. Roles: admin, sales.",
        graphql_type=OrderPayload,
    )
    async def fulfil_order(self, info: strawberry.Info, input: OrderTransitionInput) -> PlannedObject:
        return await run_command(info, "order", lambda s: commands.fulfil_order(s, _fulfil_order(input)))

    @strawberry.mutation(
        description="Cancel an order that is not invoiced, releasing its reserved stock. Roles: admin, sales, finance.",
        graphql_type=OrderPayload,
    )
    async def cancel_order(self, info: strawberry.Info, input: CancelOrderInput) -> PlannedObject:
        return await run_command(info, "order", lambda s: commands.cancel_order(s, _cancel_order(input)))


def _create_order(input: CreateOrderInput) -> CreateOrder:
    ids = GlobalIds()
    customer_id = ids.key("customer_id", input.customer_id, "Customer")
    sales_rep_id = ids.optional("sales_rep_id", input.sales_rep_id, "Employee")
    lines = tuple(
        OrderLine(
            product_id=ids.key(("lines", i, "product_id"), line.product_id, "Product"),
            quantity=line.quantity,
            discount=given_or_none(line.discount),
        )
        for i, line in enumerate(given_or_none(input.lines) or ())
    )
    ids.done()
    return CreateOrder(customer_id=customer_id, sales_rep_id=sales_rep_id, note=given_or_none(input.note), lines=lines)


def _add_order_line(input: AddOrderLineInput) -> AddOrderLine:
    ids = GlobalIds()
    order_id = ids.key("order_id", input.order_id, "Order")
    product_id = ids.key("product_id", input.product_id, "Product")
    ids.done()
    return AddOrderLine(
        order_id=order_id,
        product_id=product_id,
        quantity=input.quantity,
        discount=given_or_none(input.discount),
        version=given_or_none(input.version),
    )


def _update_order_line(input: UpdateOrderLineInput) -> UpdateOrderLine:
    ids = GlobalIds()
    line_id = ids.key("line_id", input.line_id, "OrderLine")
    ids.done()
    return UpdateOrderLine(
        line_id=line_id,
        quantity=maybe(input.quantity),
        discount=maybe(input.discount),
        version=given_or_none(input.version),
    )


def _remove_order_line(input: RemoveOrderLineInput) -> RemoveOrderLine:
    ids = GlobalIds()
    line_id = ids.key("line_id", input.line_id, "OrderLine")
    ids.done()
    return RemoveOrderLine(line_id=line_id, version=given_or_none(input.version))


def _place_order(input: PlaceOrderInput) -> PlaceOrder:
    ids = GlobalIds()
    order_id = ids.key("id", input.id, "Order")
    ids.done()
    return PlaceOrder(
        id=order_id, version=given_or_none(input.version), idempotency_key=given_or_none(input.idempotency_key)
    )


def _approve_order(input: OrderTransitionInput) -> ApproveOrder:
    ids = GlobalIds()
    order_id = ids.key("id", input.id, "Order")
    ids.done()
    return ApproveOrder(id=order_id, version=given_or_none(input.version))


def _fulfil_order(input: OrderTransitionInput) -> FulfilOrder:
    ids = GlobalIds()
    order_id = ids.key("id", input.id, "Order")
    ids.done()
    return FulfilOrder(id=order_id, version=given_or_none(input.version))


def _cancel_order(input: CancelOrderInput) -> CancelOrder:
    ids = GlobalIds()
    order_id = ids.key("id", input.id, "Order")
    ids.done()
    return CancelOrder(id=order_id, version=given_or_none(input.version), reason=given_or_none(input.reason))
