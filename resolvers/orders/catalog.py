"""How orders and their lines are read."""

from resolvers.planner.catalog import Entity, ForeignId, GlobalId, ToMany, ToOne, Transitions, Wording, col

ORDER = Entity(
    name="Order",
    table="orders",
    fields={
        "id": GlobalId(),
        "number": col("number", "text"),
        "status": col("status", "enum"),
        "availableTransitions": Transitions("Order"),
        "placedAt": col("placed_at", "datetime", nullable=True),
        "approvedAt": col("approved_at", "datetime", nullable=True),
        "fulfilledAt": col("fulfilled_at", "datetime", nullable=True),
        "cancelledAt": col("cancelled_at", "datetime", nullable=True),
        "subtotal": col("subtotal", "decimal"),
        "tax": col("tax", "decimal"),
        "total": col("total", "decimal"),
        "note": col("note", "text", nullable=True),
        "customer": ToOne("Customer", local="customer_id"),
        "salesRep": ToOne("Employee", local="sales_rep_id"),
        "lines": ToMany("OrderLine", remote="order_id"),
        # The order's current invoice: at most one is not void (a partial unique index).
        "invoice": ToOne("Invoice", local="id", remote="order_id", where="{c}.status <> 'void'"),
        "invoices": ToMany("Invoice", remote="order_id"),
        "history": ToMany("AuditEntry", remote="entity_id", where="{c}.entity_type = 'Order'"),
        "version": col("version", "bigint"),
        "createdAt": col("created_at", "datetime"),
        "updatedAt": col("updated_at", "datetime"),
    },
    sorts={
        "ID": (),
        "NUMBER": (col("number", "text"),),
        "PLACED_AT": (col("placed_at", "datetime", nullable=True),),
        "CREATED_AT": (col("created_at", "datetime"),),
        "TOTAL": (col("total", "decimal"),),
    },
    filters={
        "id": ForeignId("Order", "id", description="The order's ID."),
        "number": col("number", "text", description="Order number."),
        "status": col("status", "enum", description="Status."),
        "placedAt": col("placed_at", "datetime", nullable=True, description="When placed."),
        "createdAt": col("created_at", "datetime", description="When created."),
        "subtotal": col("subtotal", "decimal", description="Subtotal."),
        "total": col("total", "decimal", description="Total."),
        "customerId": ForeignId("Customer", "customer_id", description="The customer's ID."),
        "salesRepId": ForeignId("Employee", "sales_rep_id", description="The sales rep's ID."),
        "customer": ToOne("Customer", local="customer_id", description="Conditions on the customer."),
    },
    wording=Wording(
        "orders",
        sort_key="One sort key for orders; ties are broken by ID. Drafts (no placedAt) sort last ascending.",
    ),
)

ORDER_LINE = Entity(
    name="OrderLine",
    table="order_lines",
    fields={
        "id": GlobalId(),
        "lineNo": col("line_no", "int"),
        "quantity": col("quantity", "int"),
        "unitPrice": col("unit_price", "decimal"),
        "discount": col("discount", "decimal"),
        "taxRate": col("tax_rate", "decimal"),
        "lineTotal": col("line_total", "decimal"),
        "note": col("note", "text", nullable=True),
        "order": ToOne("Order", local="order_id"),
        "product": ToOne("Product", local="product_id"),
    },
    sorts={"ID": (), "LINE_NO": (col("line_no", "int"),)},
    default_sort=("LINE_NO", "ASC"),
    filters={
        "id": ForeignId("OrderLine", "id", description="The line's ID."),
        "quantity": col("quantity", "int", description="Quantity."),
        "lineTotal": col("line_total", "decimal", description="Line total."),
        "orderId": ForeignId("Order", "order_id", description="The order's ID."),
        "productId": ForeignId("Product", "product_id", description="The product's ID."),
        "order": ToOne("Order", local="order_id", description="Conditions on the order."),
        "product": ToOne("Product", local="product_id", description="Conditions on the product."),
    },
    wording=Wording("order lines"),
)
