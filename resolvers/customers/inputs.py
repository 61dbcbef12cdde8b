"""The inputs of the customer commands, in domain terms.

Optional details default to ``UNCHANGED``: on an update the detail stays as it
is, on a create it takes the database's default; ``None`` clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from resolvers.writes.inputs import UNCHANGED, Maybe

# The lifecycle actions of a customer (app/workflows.py, CUSTOMER).
CustomerAction = Literal["ACTIVATE", "DEACTIVATE", "REACTIVATE"]


@dataclass(frozen=True)
class Address:
    """A billing address; the parts left UNCHANGED stay as they are."""

    street: Maybe[str | None] = UNCHANGED
    city: Maybe[str | None] = UNCHANGED
    postal_code: Maybe[str | None] = UNCHANGED


@dataclass(frozen=True)
class CreateCustomer:
    """A new customer (a lead). A sales rep's new account is the rep's own unless
    ``account_manager_id`` is given; ``None`` leaves it unmanaged."""

    name: str
    kind: str  # as stored: "company", "individual"
    segment: str  # as stored: "enterprise", "mid_market", "small_business", "consumer"
    country: str  # ISO 3166-1 alpha-2, in either case
    email: Maybe[str | None] = UNCHANGED
    phone: Maybe[str | None] = UNCHANGED
    billing_address: Maybe[Address | None] = UNCHANGED
    tax_id: Maybe[str | None] = UNCHANGED
    credit_limit: Maybe[Decimal | None] = UNCHANGED  # None is refused: 0 is "no credit"
    payment_terms_days: Maybe[int | None] = UNCHANGED
    account_manager_id: Maybe[int | None] = UNCHANGED
    # The kinds of email (app/models/states.py, CUSTOMER_EMAIL_KINDS) the customer does not want.
    email_opt_outs: Maybe[tuple[str, ...] | None] = UNCHANGED


@dataclass(frozen=True)
class UpdateCustomer:
    """Changes to the customer ``id``, refused unless it is still at ``version``.
    ``None`` clears a detail; name, kind, segment, country and the credit limit
    cannot be cleared (refused as REQUIRED)."""

    id: int
    version: int
    name: Maybe[str | None] = UNCHANGED
    kind: Maybe[str | None] = UNCHANGED
    segment: Maybe[str | None] = UNCHANGED
    country: Maybe[str | None] = UNCHANGED
    email: Maybe[str | None] = UNCHANGED
    phone: Maybe[str | None] = UNCHANGED
    billing_address: Maybe[Address | None] = UNCHANGED
    tax_id: Maybe[str | None] = UNCHANGED
    credit_limit: Maybe[Decimal | None] = UNCHANGED
    payment_terms_days: Maybe[int | None] = UNCHANGED
    account_manager_id: Maybe[int | None] = UNCHANGED
    email_opt_outs: Maybe[tuple[str, ...] | None] = UNCHANGED


@dataclass(frozen=True)
class SetEmailOptOuts:
    """The kinds of email the customer ``id`` does not want: all of them (replacing the
    list); with ``version``, only if it is still the version the caller read."""

    id: int
    email_opt_outs: tuple[str, ...]
    version: int | None = None


@dataclass(frozen=True)
class TransitionCustomer:
    """A lifecycle action on the customer ``id``; with ``version``, only if it is
    still the version the caller read."""

    id: int
    version: int | None = None
