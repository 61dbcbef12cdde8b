"""Customer mutations."""

from __future__ import annotations

import strawberry
from strawberry import UNSET

from resolvers.customers import commands
from resolvers.customers.inputs import Address, CreateCustomer, SetEmailOptOuts, TransitionCustomer, UpdateCustomer
from resolvers.writes.inputs import UNCHANGED, Maybe
from schema.customers.inputs import (
    AddressInput,
    CreateCustomerInput,
    CustomerTransitionInput,
    SetEmailOptOutsInput,
    UpdateCustomerInput,
)
from schema.customers.types import Customer, CustomerEmailKind
from schema.mutations import GlobalIds, UserError, given_or_none, maybe, run_command
from schema.planned import PlannedObject


@strawberry.type(description="The result of a customer mutation.")
class CustomerPayload:
    customer: Customer | None = strawberry.field(description="The customer as the mutation left it; null on errors.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(
        description="Create a customer (a lead unless said otherwise). Roles: admin, sales, finance.",
        graphql_type=CustomerPayload,
    )
    async def create_customer(self, info: strawberry.Info, input: CreateCustomerInput) -> PlannedObject:
        return await run_command(info, "customer", lambda s: commands.create_customer(s, _create_customer(input)))

    @strawberry.mutation(
        description="Change a customer's details. Roles: admin, sales (own accounts), finance.",
        graphql_type=CustomerPayload,
    )
    async def update_customer(self, info: strawberry.Info, input: UpdateCustomerInput) -> PlannedObject:
        return await run_command(info, "customer", lambda s: commands.update_customer(s, _update_customer(input)))

    @strawberry.mutation(
        description="Choose which kinds of email a customer gets. Roles: the customer itself, admin,"
        " sales (own accounts), finance.",
        graphql_type=CustomerPayload,
    )
    async def set_email_opt_outs(self, info: strawberry.Info, input: SetEmailOptOutsInput) -> PlannedObject:
        return await run_command(info, "customer", lambda s: commands.set_email_opt_outs(s, _set_opt_outs(input)))

    @strawberry.mutation(description="Convert a lead into an active customer.", graphql_type=CustomerPayload)
    async def activate_customer(self, info: strawberry.Info, input: CustomerTransitionInput) -> PlannedObject:
        return await run_command(
            info, "customer", lambda s: commands.transition_customer(s, "ACTIVATE", _transition_customer(input))
        )

    @strawberry.mutation(
        description="Stop doing business with a customer (lead or active → inactive).", graphql_type=CustomerPayload
    )
    async def deactivate_customer(self, info: strawberry.Info, input: CustomerTransitionInput) -> PlannedObject:
        return await run_command(
            info, "customer", lambda s: commands.transition_customer(s, "DEACTIVATE", _transition_customer(input))
        )

    @strawberry.mutation(
        description="Do business with an inactive customer again. Roles: admin, finance.", graphql_type=CustomerPayload
    )
    async def reactivate_customer(self, info: strawberry.Info, input: CustomerTransitionInput) -> PlannedObject:
        return await run_command(
            info, "customer", lambda s: commands.transition_customer(s, "REACTIVATE", _transition_customer(input))
        )


def _create_customer(input: CreateCustomerInput) -> CreateCustomer:
    ids = GlobalIds()
    account_manager_id = ids.optional("account_manager_id", input.account_manager_id, "Employee")
    ids.done()
    return CreateCustomer(
        name=input.name,
        kind=maybe(input.kind),
        segment=maybe(input.segment),
        country=input.country,
        email=maybe(input.email),
        phone=maybe(input.phone),
        billing_address=_address(input.billing_address),
        tax_id=maybe(input.tax_id),
        credit_limit=maybe(input.credit_limit),
        payment_terms_days=maybe(input.payment_terms_days),
        account_manager_id=account_manager_id,
        email_opt_outs=_opt_outs(input.email_opt_outs),
    )


def _update_customer(input: UpdateCustomerInput) -> UpdateCustomer:
    ids = GlobalIds()
    pk = ids.key("id", input.id, "Customer")
    account_manager_id = ids.optional("account_manager_id", input.account_manager_id, "Employee")
    ids.done()
    return UpdateCustomer(
        id=pk,
        version=input.version,
        name=maybe(input.name),
        kind=maybe(input.kind),
        segment=maybe(input.segment),
        country=maybe(input.country),
        email=maybe(input.email),
        phone=maybe(input.phone),
        billing_address=_address(input.billing_address),
        tax_id=maybe(input.tax_id),
        credit_limit=maybe(input.credit_limit),
        payment_terms_days=maybe(input.payment_terms_days),
        account_manager_id=account_manager_id,
        email_opt_outs=_opt_outs(input.email_opt_outs),
    )


def _opt_outs(kinds: list[CustomerEmailKind] | None) -> Maybe[tuple[str, ...] | None]:
    """Not sent stays UNCHANGED; the kinds as stored (lower case)."""
    if kinds is UNSET:
        return UNCHANGED
    if kinds is None:
        return None
    return tuple(str(kind.value).lower() for kind in kinds)


def _address(input: AddressInput | None) -> Maybe[Address | None]:
    """Not sent stays UNCHANGED, null clears the address, parts not sent stay as they are."""
    if input is UNSET:
        return UNCHANGED
    if input is None:
        return None
    return Address(street=maybe(input.street), city=maybe(input.city), postal_code=maybe(input.postal_code))


def _set_opt_outs(input: SetEmailOptOutsInput) -> SetEmailOptOuts:
    ids = GlobalIds()
    pk = ids.key("id", input.id, "Customer")
    ids.done()
    kinds = _opt_outs(input.email_opt_outs)
    return SetEmailOptOuts(
        id=pk, email_opt_outs=kinds if isinstance(kinds, tuple) else (), version=given_or_none(input.version)
    )


def _transition_customer(input: CustomerTransitionInput) -> TransitionCustomer:
    ids = GlobalIds()
    pk = ids.key("id", input.id, "Customer")
    ids.done()
    return TransitionCustomer(id=pk, version=given_or_none(input.version))
