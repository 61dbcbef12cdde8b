"""Customer filters and sorting, derived from the catalog entry; the inputs of the customer mutations."""

from __future__ import annotations

import decimal

import strawberry
from strawberry import UNSET

from resolvers.customers.catalog import CUSTOMER
from schema.customers.types import Customer, CustomerEmailKind, CustomerKind, CustomerSegment
from schema.derived_inputs import filter_input, sort_inputs


@filter_input(CUSTOMER, Customer)
class CustomerFilter:
    """Its fields are the filters of ``CUSTOMER`` in resolvers/customers/catalog.py."""


CustomerSortField, CustomerSort = sort_inputs(CUSTOMER)


@strawberry.input(description="A postal address; fields left out stay as they are.")
class AddressInput:
    street: str | None = strawberry.field(default=UNSET, description="Street and number (up to 200 characters).")
    city: str | None = strawberry.field(default=UNSET, description="City (up to 100 characters).")
    postal_code: str | None = strawberry.field(default=UNSET, description="Postal code (up to 20 characters).")


@strawberry.input(description="A new customer. Sales reps become the account manager of the customers they create.")
class CreateCustomerInput:
    name: str = strawberry.field(description="Display name (up to 200 characters).")
    kind: CustomerKind = strawberry.field(description="Company or individual.")
    segment: CustomerSegment = strawberry.field(description="Market segment.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    email: str | None = strawberry.field(default=UNSET, description="Contact email.")
    phone: str | None = strawberry.field(default=UNSET, description="Contact phone (up to 32 characters).")
    billing_address: AddressInput | None = strawberry.field(default=UNSET, description="Billing address.")
    tax_id: str | None = strawberry.field(default=UNSET, description="Tax registration number (finance, admin).")
    credit_limit: decimal.Decimal | None = strawberry.field(
        default=UNSET, description="Most the customer may owe (finance, admin); 0 when left out."
    )
    payment_terms_days: int | None = strawberry.field(
        default=UNSET, description="Days from an invoice's issue to its due date (0–365; 30 when left out)."
    )
    account_manager_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The employee who manages the account."
    )
    email_opt_outs: list[CustomerEmailKind] | None = strawberry.field(
        default=UNSET, description="The kinds of email the customer does not want; none when left out."
    )


@strawberry.input(description="Changes to a customer; fields left out stay as they are.")
class UpdateCustomerInput:
    id: strawberry.ID = strawberry.field(description="The customer to change.")
    version: int = strawberry.field(description="The version you read; a stale one changes nothing (CONFLICT).")
    name: str | None = strawberry.field(default=UNSET, description="Display name.")
    kind: CustomerKind | None = strawberry.field(default=UNSET, description="Company or individual.")
    segment: CustomerSegment | None = strawberry.field(default=UNSET, description="Market segment.")
    country: str | None = strawberry.field(default=UNSET, description="ISO 3166-1 alpha-2 country code.")
    email: str | None = strawberry.field(default=UNSET, description="Contact email; null clears it.")
    phone: str | None = strawberry.field(default=UNSET, description="Contact phone; null clears it.")
    billing_address: AddressInput | None = strawberry.field(
        default=UNSET, description="Billing address; null clears it."
    )
    tax_id: str | None = strawberry.field(default=UNSET, description="Tax registration number (finance, admin).")
    credit_limit: decimal.Decimal | None = strawberry.field(default=UNSET, description="Credit limit (finance, admin).")
    payment_terms_days: int | None = strawberry.field(default=UNSET, description="Payment terms in days (0–365).")
    account_manager_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The employee who manages the account; null leaves it unmanaged."
    )
    email_opt_outs: list[CustomerEmailKind] | None = strawberry.field(
        default=UNSET,
        description="The kinds of email the customer does not want, all of them (replaces the list; null or []: none).",
    )


@strawberry.input(description="Which kinds of email a customer gets.")
class SetEmailOptOutsInput:
    id: strawberry.ID = strawberry.field(description="The customer (a customer user: its own).")
    email_opt_outs: list[CustomerEmailKind] = strawberry.field(
        description="The kinds of email the customer does not want, all of them (replaces the list; []: none)."
    )
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )


@strawberry.input(description="A lifecycle action on a customer.")
class CustomerTransitionInput:
    id: strawberry.ID = strawberry.field(description="The customer.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
