"""How customers are read."""

from resolvers.planner.catalog import (
    Column,
    Embedded,
    Entity,
    ForeignId,
    GlobalId,
    ToMany,
    ToOne,
    Transitions,
    Wording,
    col,
)

# The kinds of email the customer opted out of, as the API's enum names, in a stable order.
EMAIL_OPT_OUTS = Column(
    "(SELECT coalesce(array_to_json(array_agg(upper(k) ORDER BY k)), '[]'::json) FROM unnest({t}.email_opt_outs) AS k)",
    "json",
)

CUSTOMER = Entity(
    name="Customer",
    table="customers",
    fields={
        "id": GlobalId(),
        "number": col("number", "text"),
        "name": col("name", "text"),
        "kind": col("kind", "enum"),
        "email": col("email", "text", nullable=True),
        "phone": col("phone", "text", nullable=True),
        "segment": col("segment", "enum"),
        "country": col("country", "text"),
        "billingAddress": Embedded(
            "Address",
            {
                "street": col("billing_street", "text", nullable=True),
                "city": col("billing_city", "text", nullable=True),
                "postalCode": col("billing_postal_code", "text", nullable=True),
                "country": col("country", "text"),
            },
        ),
        "taxId": col("tax_id", "text", nullable=True),
        "creditLimit": col("credit_limit", "decimal"),
        "paymentTermsDays": col("payment_terms_days", "int"),
        "emailOptOuts": EMAIL_OPT_OUTS,
        "status": col("status", "enum"),
        "availableTransitions": Transitions("Customer"),
        "accountManager": ToOne("Employee", local="account_manager_id"),
        "orders": ToMany("Order", remote="customer_id"),
        "invoices": ToMany("Invoice", remote="customer_id"),
        "history": ToMany("AuditEntry", remote="entity_id", where="{c}.entity_type = 'Customer'"),
        "version": col("version", "bigint"),
        "createdAt": col("created_at", "datetime"),
        "updatedAt": col("updated_at", "datetime"),
    },
    sorts={
        "ID": (),
        "NUMBER": (col("number", "text"),),
        "NAME": (col("name", "text"),),
        "CREATED_AT": (col("created_at", "datetime"),),
        "CREDIT_LIMIT": (col("credit_limit", "decimal"),),
    },
    filters={
        "id": ForeignId("Customer", "id", description="The customer's ID."),
        "number": col("number", "text", description="Customer number."),
        "name": col("name", "text", description="Name."),
        "email": col("email", "text", nullable=True, description="Email."),
        "kind": col("kind", "enum", description="Company or individual."),
        "segment": col("segment", "enum", description="Segment."),
        "country": col("country", "text", description="Country code."),
        "status": col("status", "enum", description="Status."),
        "creditLimit": col("credit_limit", "decimal", description="Credit limit."),
        "createdAt": col("created_at", "datetime", description="Creation time."),
        "accountManagerId": ForeignId("Employee", "account_manager_id", description="Account manager's ID."),
        "accountManager": ToOne(
            "Employee", local="account_manager_id", description="Conditions on the account manager."
        ),
    },
    wording=Wording("customers"),
)
