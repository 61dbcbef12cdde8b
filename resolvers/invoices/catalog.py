"""How invoices, their lines and payments are read."""

from resolvers.planner.catalog import Column, Entity, ForeignId, GlobalId, ToMany, ToOne, Transitions, Wording, col

INVOICE = Entity(
    name="Invoice",
    table="invoices",
    fields={
        "id": GlobalId(),
        "number": col("number", "text", nullable=True),
        "status": col("status", "enum"),
        "issuedAt": col("issued_at", "datetime", nullable=True),
        "dueAt": col("due_at", "datetime", nullable=True),
        "subtotal": col("subtotal", "decimal"),
        "tax": col("tax", "decimal"),
        "total": col("total", "decimal"),
        "amountPaid": col("amount_paid", "decimal"),
        "amountDue": Column("({t}.total - {t}.amount_paid)", "decimal"),
        "availableTransitions": Transitions("Invoice"),
        "order": ToOne("Order", local="order_id"),
        "customer": ToOne("Customer", local="customer_id"),
        "lines": ToMany("InvoiceLine", remote="invoice_id"),
        "payments": ToMany("Payment", remote="invoice_id"),
        "history": ToMany("AuditEntry", remote="entity_id", where="{c}.entity_type = 'Invoice'"),
        "version": col("version", "bigint"),
        "createdAt": col("created_at", "datetime"),
        "updatedAt": col("updated_at", "datetime"),
    },
    sorts={
        "ID": (),
        "NUMBER": (col("number", "text", nullable=True),),
        "ISSUED_AT": (col("issued_at", "datetime", nullable=True),),
        "DUE_AT": (col("due_at", "datetime", nullable=True),),
        "TOTAL": (col("total", "decimal"),),
    },
    filters={
        "id": ForeignId("Invoice", "id", description="The invoice's ID."),
        "number": col("number", "text", nullable=True, description="Invoice number."),
        "status": col("status", "enum", description="Status."),
        "issuedAt": col("issued_at", "datetime", nullable=True, description="When issued."),
        "dueAt": col("due_at", "datetime", nullable=True, description="When due."),
        "total": col("total", "decimal", description="Total."),
        "amountPaid": col("amount_paid", "decimal", description="Amount paid."),
        "customerId": ForeignId("Customer", "customer_id", description="The customer's ID."),
        "orderId": ForeignId("Order", "order_id", description="The order's ID."),
        "customer": ToOne("Customer", local="customer_id", description="Conditions on the customer."),
    },
    wording=Wording("invoices"),
)

INVOICE_LINE = Entity(
    name="InvoiceLine",
    table="invoice_lines",
    fields={
        "id": GlobalId(),
        "lineNo": col("line_no", "int"),
        "sku": col("sku", "text"),
        "description": col("description", "text"),
        "quantity": col("quantity", "int"),
        "unitPrice": col("unit_price", "decimal"),
        "discount": col("discount", "decimal"),
        "taxRate": col("tax_rate", "decimal"),
        "lineTotal": col("line_total", "decimal"),
        "invoice": ToOne("Invoice", local="invoice_id"),
        "product": ToOne("Product", local="product_id"),
    },
    sorts={"ID": (), "LINE_NO": (col("line_no", "int"),)},
    default_sort=("LINE_NO", "ASC"),
    filters={
        "id": ForeignId("InvoiceLine", "id", description="The line's ID."),
        "sku": col("sku", "text", description="SKU."),
        "productId": ForeignId("Product", "product_id", description="The product's ID."),
    },
    wording=Wording("invoice lines"),
)

PAYMENT = Entity(
    name="Payment",
    table="payments",
    fields={
        "id": GlobalId(),
        "amount": col("amount", "decimal"),
        "method": col("method", "enum"),
        "paidAt": col("paid_at", "datetime"),
        "reference": col("reference", "text", nullable=True),
        "invoice": ToOne("Invoice", local="invoice_id"),
        "createdAt": col("created_at", "datetime"),
    },
    sorts={
        "ID": (),
        "PAID_AT": (col("paid_at", "datetime"),),
        "AMOUNT": (col("amount", "decimal"),),
    },
    filters={
        "id": ForeignId("Payment", "id", description="The payment's ID."),
        "amount": col("amount", "decimal", description="Amount."),
        "method": col("method", "enum", description="Method."),
        "paidAt": col("paid_at", "datetime", description="When paid."),
        "invoiceId": ForeignId("Invoice", "invoice_id", description="The invoice's ID."),
        "invoice": ToOne("Invoice", local="invoice_id", description="Conditions on the invoice."),
    },
    wording=Wording("payments"),
)
