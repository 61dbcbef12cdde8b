"""Customer types."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.workflows import CUSTOMER
from schema.connections import connection_types
from schema.mutations import transitions_enum
from schema.node import Node
from schema.pagination import connection_field

if TYPE_CHECKING:  # the lazy references below, for the type checker
    from schema.employees.types import Employee

EmployeeRef = Annotated["Employee", strawberry.lazy("schema.employees.types")]


@strawberry.enum(description="Where a customer is in its lifecycle.")
class CustomerStatus(enum.Enum):
    LEAD = "LEAD"
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


@strawberry.enum(description="Whether the customer is a company or a person.")
class CustomerKind(enum.Enum):
    COMPANY = "COMPANY"
    INDIVIDUAL = "INDIVIDUAL"


@strawberry.enum(description="The market segment a customer belongs to.")
class CustomerSegment(enum.Enum):
    ENTERPRISE = "ENTERPRISE"
    MID_MARKET = "MID_MARKET"
    SMALL_BUSINESS = "SMALL_BUSINESS"
    CONSUMER = "CONSUMER"


@strawberry.enum(description="A kind of email a customer gets, and may opt out of.")
class CustomerEmailKind(enum.Enum):
    ORDER_CONFIRMATION = strawberry.enum_value("ORDER_CONFIRMATION", description="When an order is placed.")
    INVOICE_ISSUED = strawberry.enum_value("INVOICE_ISSUED", description="An issued invoice, its PDF attached.")
    PAYMENT_RECEIPT = strawberry.enum_value("PAYMENT_RECEIPT", description="When a payment is recorded.")
    OVERDUE_REMINDER = strawberry.enum_value("OVERDUE_REMINDER", description="When an invoice becomes overdue.")


# The actions of the workflow, as an enum strawberry builds at import: a variable, not a
# class, to the type checker (hence the ignore where it is used).
CustomerTransition = transitions_enum(CUSTOMER, "CustomerTransition")


@strawberry.type(description="A postal address.")
class Address:
    street: str | None = strawberry.field(description="Street and number.")
    city: str | None = strawberry.field(description="City.")
    postal_code: str | None = strawberry.field(description="Postal code.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")


@strawberry.type(description="A customer: a company or a person the organization sells to.")
class Customer(Node):
    number: str = strawberry.field(description="The customer number, unique in the organization.")
    name: str = strawberry.field(description="Display name.")
    kind: CustomerKind = strawberry.field(description="Company or individual.")
    email: str | None = strawberry.field(description="Contact email.")
    phone: str | None = strawberry.field(description="Contact phone number.")
    segment: CustomerSegment = strawberry.field(description="Market segment.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    billing_address: Address | None = strawberry.field(
        description="Where invoices are addressed; null with FORBIDDEN for roles that may not read contact details."
    )
    tax_id: str | None = strawberry.field(description="VAT or tax registration number.")
    credit_limit: decimal.Decimal | None = strawberry.field(
        description="Most the customer may owe (open invoices plus new orders), in the organization's currency."
    )
    payment_terms_days: int = strawberry.field(description="Days from an invoice's issue to its due date.")
    email_opt_outs: list[CustomerEmailKind] | None = strawberry.field(
        description="The kinds of email the customer asked not to get (empty: all of them);"
        " null with FORBIDDEN for roles that may not read contact details."
    )
    status: CustomerStatus = strawberry.field(description="Lifecycle status.")
    # Values are action names; their GraphQL enum is built from the lifecycle at
    # import, which the checker cannot read as a type.
    available_transitions: list[str] = strawberry.field(
        graphql_type=list[CustomerTransition],  # type: ignore[valid-type]
        description="The lifecycle actions you may perform on this customer now.",
    )
    account_manager: EmployeeRef | None = strawberry.field(description="The employee who manages this account.")
    orders = connection_field("orders", "Order", "The customer's orders.")
    invoices = connection_field("invoices", "Invoice", "The customer's invoices.")
    history = connection_field(
        "activity",
        "AuditEntry",
        "Every change made to the customer, newest first (for the roles that read the audit log).",
    )
    version: int = strawberry.field(description="Incremented on every change; send it back when updating.")
    created_at: dt.datetime = strawberry.field(description="When the customer was created.")
    updated_at: dt.datetime = strawberry.field(description="When the customer last changed.")


CustomerEdge, CustomerConnection = connection_types(Customer, "customers")
