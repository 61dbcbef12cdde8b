"""Assembles the schema from the domains."""

from __future__ import annotations

import strawberry
from graphql import ASTValidationRule, GraphQLError, specified_rules
from strawberry.extensions import AddValidationRules
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.config import Settings
from schema.activity.queries import ActivityQueries
from schema.analytics.queries import AnalyticsQueries
from schema.customers.mutations import CustomerMutations
from schema.customers.queries import CustomerQueries
from schema.departments.queries import DepartmentQueries
from schema.employees.mutations import EmployeeMutations
from schema.employees.queries import EmployeeQueries
from schema.errors import ErrorCodes
from schema.execution_context import AcyclicExecutionContext
from schema.invoices.mutations import InvoiceMutations
from schema.invoices.queries import InvoiceQueries
from schema.limits.bounds import DocumentLimits
from schema.limits.extension import DocumentLimitsExtension
from schema.limits.parsing import Documents, attach_documents
from schema.limits.root_fields import RootFieldLimit
from schema.live.subscription_type import with_subscriptions
from schema.me.queries import MeQueries
from schema.node import NodeQueries
from schema.notifications.queries import NotificationQueries
from schema.orders.mutations import OrderMutations
from schema.orders.queries import OrderQueries
from schema.planned import install_planned_resolvers
from schema.products.mutations import ProductMutations
from schema.products.queries import ProductQueries
from schema.scalars import SCALAR_OVERRIDES
from schema.webhooks.mutations import webhook_mutations
from schema.webhooks.queries import WebhookQueries

ROOT_QUERIES = (
    NodeQueries,
    CustomerQueries,
    ProductQueries,
    OrderQueries,
    InvoiceQueries,
    EmployeeQueries,
    DepartmentQueries,
    AnalyticsQueries,
    ActivityQueries,
    NotificationQueries,
    WebhookQueries,
    MeQueries,
)

ROOT_MUTATIONS = (
    CustomerMutations,
    EmployeeMutations,
    InvoiceMutations,
    ProductMutations,
    OrderMutations,
)

# Types with field functions of their own, not resolved from planner JSON.
UNPLANNED_TYPES = {
    "Query",
    "Mutation",
    "Subscription",
    "Me",
    "Organization",
    "TypePermissions",
    "FieldPermission",
    "RowScopeGrant",
}


def _root(name: str, parts: tuple[type, ...], description: str) -> type:
    """One root type from the domains' parts (strawberry's merge_types, with a description)."""
    return strawberry.type(type(name, parts[::-1], {}), description=description)


class BizgraphSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # ErrorCodes logs unexpected errors once, with the request id; expected
        # ones (bad IDs, cursors, validation) are answers, not incidents.
        return None


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    query = _root("Query", ROOT_QUERIES, "Reads: every entry point into the organization's data.")
    mutation = _root(
        "Mutation",
        # The webhook mutations seal secrets with the configured key: built per schema.
        (*ROOT_MUTATIONS, webhook_mutations((settings or Settings()).webhooks)),
        "Changes. Each field runs in one transaction and answers a payload whose errors say why it changed nothing.",
    )
    limits = DocumentLimits.from_settings(settings or Settings())
    # Built once: the same rule classes every request, so validation results stay cached.
    # Every rule added here applies to the standard way and to the fast path alike.
    validation_rules: list[type[ASTValidationRule]] = [*limits.validation_rules()]
    validation_rules.append(RootFieldLimit.bound((settings or Settings()).max_root_fields))
    documents = Documents(limits, (*specified_rules, *validation_rules))
    schema = BizgraphSchema(
        query=query,
        mutation=mutation,
        config=StrawberryConfig(disable_field_suggestions=not (settings and settings.demo)),
        scalar_overrides=SCALAR_OVERRIDES,
        # Frees each operation's objects as soon as it ends (schema/execution_context.py).
        execution_context_class=AcyclicExecutionContext,
        # Parsing and validating the same document again is most of a small request's
        # cost: both are cached, under the limits, in ``documents`` (shared with the fast path).
        extensions=[
            lambda: DocumentLimitsExtension(documents),
            lambda: AddValidationRules(validation_rules),
            ErrorCodes,
        ],
    )
    # graphql-core's schema, with the Subscription type mirroring Query (schema/live).
    schema._schema = with_subscriptions(schema._schema)
    attach_documents(schema._schema, documents)
    install_planned_resolvers(schema._schema, UNPLANNED_TYPES)
    return schema
