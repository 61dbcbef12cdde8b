"""Assembles the schema from the domains."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from app.config import Settings
from schema.analytics.queries import AnalyticsQueries
from schema.customers.queries import CustomerQueries
from schema.departments.queries import DepartmentQueries
from schema.employees.queries import EmployeeQueries
from schema.errors import ErrorCodes
from schema.extensions import CloseTransaction
from schema.invoices.queries import InvoiceQueries
from schema.me.queries import MeQueries
from schema.node import NodeQueries
from schema.orders.queries import OrderQueries
from schema.planned import install_planned_resolvers
from schema.products.queries import ProductQueries
from schema.scalars import SCALAR_OVERRIDES

ROOT_QUERIES = (
    NodeQueries,
    CustomerQueries,
    ProductQueries,
    OrderQueries,
    InvoiceQueries,
    EmployeeQueries,
    DepartmentQueries,
    AnalyticsQueries,
    MeQueries,
)

# Types with field functions of their own, not resolved from planner JSON.
UNPLANNED_TYPES = {
    "Query", "Mutation", "Subscription", "Me", "Organization", "TypePermissions", "FieldPermission", "RowScopeGrant",
}


class BizgraphSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # ErrorCodes logs unexpected errors once, with the request id; expected
        # ones (bad IDs, cursors, validation) are answers, not incidents.
        return None


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    query = merge_types("Query", ROOT_QUERIES)
    schema = BizgraphSchema(
        query=query,
        config=StrawberryConfig(disable_field_suggestions=not (settings and settings.demo)),
        scalar_overrides=SCALAR_OVERRIDES,
        # Parsing and validating the same document again is most of a small
        # request's cost; both depend only on the document text.
        # (their LRU caches live at module level, shared by every request's instance).
        extensions=[lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512), CloseTransaction, ErrorCodes],
    )
    install_planned_resolvers(schema._schema, UNPLANNED_TYPES)
    return schema
