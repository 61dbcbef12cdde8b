"""The product events."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from app.events.catalog import declare


class ProductCreatedPayload(TypedDict):
    sku: str
    unitPrice: Decimal
    active: bool


class ProductUpdatedPayload(TypedDict):
    sku: str
    fields: list[str]  # the changed fields, as the API names them, sorted


class StockAdjustedPayload(TypedDict):
    sku: str
    delta: int
    stockOnHand: int
    reason: str


PRODUCT_CREATED = declare("product.created", "Product", ProductCreatedPayload, "A product was added to the catalog.")
PRODUCT_UPDATED = declare(
    "product.updated",
    "Product",
    ProductUpdatedPayload,
    "A product's details or price changed; fields names what changed (existing order lines keep their prices).",
)
STOCK_ADJUSTED = declare(
    "product.stock_adjusted",
    "Product",
    StockAdjustedPayload,
    "The stock on hand was corrected or received: delta units, stockOnHand after, and why.",
)
