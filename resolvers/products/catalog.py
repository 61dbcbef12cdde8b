"""How products are read."""

from resolvers.planner.catalog import Column, Entity, ForeignId, GlobalId, ToMany, Wording, col

PRODUCT = Entity(
    name="Product",
    table="products",
    fields={
        "id": GlobalId(),
        "sku": col("sku", "text"),
        "name": col("name", "text"),
        "description": col("description", "text", nullable=True),
        "unitPrice": col("unit_price", "decimal"),
        "taxRate": col("tax_rate", "decimal"),
        "stockOnHand": col("stock_on_hand", "int"),
        "stockReserved": col("stock_reserved", "int"),
        "stockAvailable": Column("({t}.stock_on_hand - {t}.stock_reserved)", "int"),
        "active": col("active", "bool"),
        "orderLines": ToMany("OrderLine", remote="product_id"),
        "history": ToMany("AuditEntry", remote="entity_id", where="{c}.entity_type = 'Product'"),
        "version": col("version", "bigint"),
        "createdAt": col("created_at", "datetime"),
        "updatedAt": col("updated_at", "datetime"),
    },
    sorts={
        "ID": (),
        "SKU": (col("sku", "text"),),
        "NAME": (col("name", "text"),),
        "UNIT_PRICE": (col("unit_price", "decimal"),),
        "STOCK_ON_HAND": (col("stock_on_hand", "int"),),
    },
    filters={
        "id": ForeignId("Product", "id", description="The product's ID."),
        "sku": col("sku", "text", description="SKU."),
        "name": col("name", "text", description="Name."),
        "unitPrice": col("unit_price", "decimal", description="Unit price."),
        "stockOnHand": col("stock_on_hand", "int", description="Units on hand."),
        "active": col("active", "bool", description="Whether it can be ordered."),
        "createdAt": col("created_at", "datetime", description="Creation time."),
    },
    wording=Wording("products"),
)
