"""The customer events."""

from __future__ import annotations

from typing import TypedDict

from app.events.catalog import declare


class CustomerCreatedPayload(TypedDict):
    number: str
    status: str


class CustomerUpdatedPayload(TypedDict):
    fields: list[str]


# "from" is a Python keyword, hence the functional form.
CustomerStatusChangedPayload = TypedDict("CustomerStatusChangedPayload", {"from": str, "to": str})


CUSTOMER_CREATED = declare(
    "customer.created",
    "Customer",
    CustomerCreatedPayload,
    "A customer was created, with its number and its first status (usually lead).",
)
CUSTOMER_UPDATED = declare(
    "customer.updated",
    "Customer",
    CustomerUpdatedPayload,
    "A customer's details changed; fields names the changed fields (the new values are read from the API).",
)
CUSTOMER_ACTIVATED = declare(
    "customer.activated",
    "Customer",
    CustomerStatusChangedPayload,
    "A lead became an active customer.",
)
CUSTOMER_DEACTIVATED = declare(
    "customer.deactivated",
    "Customer",
    CustomerStatusChangedPayload,
    "Business with the customer stopped: it is inactive now.",
)
CUSTOMER_REACTIVATED = declare(
    "customer.reactivated",
    "Customer",
    CustomerStatusChangedPayload,
    "An inactive customer is active again.",
)
