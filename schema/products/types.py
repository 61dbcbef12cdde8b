"""Product types."""

from __future__ import annotations

import datetime as dt
import decimal

import strawberry

from schema.connections import connection_types
from schema.node import Node
from schema.pagination import connection_field


@strawberry.type(description="Something the organization sells, with its price and stock.")
class Product(Node):
    sku: str = strawberry.field(description="Stock keeping unit, unique in the organization.")
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="Longer description.")
    unit_price: decimal.Decimal = strawberry.field(description="Price of one unit before tax.")
    tax_rate: decimal.Decimal = strawberry.field(description="Tax rate as a fraction (0.2 = 20 %).")
    stock_on_hand: int = strawberry.field(description="Units in the warehouse.")
    stock_reserved: int = strawberry.field(description="Units promised to placed orders, not yet shipped.")
    stock_available: int = strawberry.field(description="Units that can still be promised: on hand minus reserved.")
    active: bool = strawberry.field(description="Whether the product can be ordered.")
    order_lines = connection_field("orders", "OrderLine", "Order lines that sold this product.")
    history = connection_field(
        "activity",
        "AuditEntry",
        "Every change made to the product, newest first (for the roles that read the audit log).",
    )
    version: int = strawberry.field(description="Incremented on every change; send it back when updating.")
    created_at: dt.datetime = strawberry.field(description="When the product was created.")
    updated_at: dt.datetime = strawberry.field(description="When the product last changed.")


ProductEdge, ProductConnection = connection_types(Product, "products")
