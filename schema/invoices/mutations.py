"""Invoice and payment mutations."""

from __future__ import annotations

import strawberry

from resolvers.invoices import commands
from resolvers.invoices.inputs import IssueInvoice, RecordPayment, SweepOverdueInvoices, VoidInvoice
from schema.invoices.inputs import IssueInvoiceInput, RecordPaymentInput, SweepOverdueInvoicesInput, VoidInvoiceInput
from schema.invoices.types import Invoice, Payment
from schema.mutations import GlobalIds, UserError, given_or_none, maybe, run_command
from schema.planned import PlannedObject


@strawberry.type(description="The result of an invoice mutation.")
class InvoicePayload:
    invoice: Invoice | None = strawberry.field(description="The invoice as the mutation left it; null on errors.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type(description="The result of recording a payment.")
class PaymentPayload:
    payment: Payment | None = strawberry.field(
        description="The payment recorded (its invoice shows the new amount due); null on errors."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type(description="The result of the overdue sweep.")
class SweepOverduePayload:
    # Nullable only because a refused sweep has no count.
    marked_overdue: int | None = strawberry.field(
        description="How many invoices the sweep marked overdue; null on errors."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class InvoiceMutations:
    @strawberry.mutation(
        description="Issue the invoice of an approved or fulfilled order: the next number of the year, a snapshot of"
        " the order's lines and totals, due after the customer's payment terms. Roles: admin, finance.",
        graphql_type=InvoicePayload,
    )
    async def issue_invoice(self, info: strawberry.Info, input: IssueInvoiceInput) -> PlannedObject:
        return await run_command(info, "invoice", lambda s: commands.issue_invoice(s, _issue_invoice(input)))

    @strawberry.mutation(
        description="Record a payment against an invoice; it becomes PAID when nothing is due any more."
        " Roles: admin, finance.",
        graphql_type=PaymentPayload,
    )
    async def record_payment(self, info: strawberry.Info, input: RecordPaymentInput) -> PlannedObject:
        return await run_command(info, "payment", lambda s: commands.record_payment(s, _record_payment(input)))

    @strawberry.mutation(
        description="Void an invoice without payments; it keeps its number, and its order may be invoiced again."
        " Roles: admin, finance.",
        graphql_type=InvoicePayload,
    )
    async def void_invoice(self, info: strawberry.Info, input: VoidInvoiceInput) -> PlannedObject:
        return await run_command(info, "invoice", lambda s: commands.void_invoice(s, _void_invoice(input)))

    @strawberry.mutation(
        description="Mark every issued or partially paid invoice past its due date as OVERDUE. Roles: admin, finance.",
        graphql_type=SweepOverduePayload,
    )
    async def sweep_overdue_invoices(self, info: strawberry.Info, input: SweepOverdueInvoicesInput) -> PlannedObject:
        # The payload has no entity, only the count.
        return await run_command(info, "", lambda s: commands.sweep_overdue_invoices(s, _sweep_overdue_invoices(input)))


def _issue_invoice(input: IssueInvoiceInput) -> IssueInvoice:
    ids = GlobalIds()
    order_id = ids.key("order_id", input.order_id, "Order")
    ids.done()
    return IssueInvoice(order_id=order_id, idempotency_key=given_or_none(input.idempotency_key))


def _record_payment(input: RecordPaymentInput) -> RecordPayment:
    ids = GlobalIds()
    invoice_id = ids.key("invoice_id", input.invoice_id, "Invoice")
    ids.done()
    return RecordPayment(
        invoice_id=invoice_id,
        amount=input.amount,
        method=maybe(input.method),
        paid_at=given_or_none(input.paid_at),
        reference=given_or_none(input.reference),
        idempotency_key=given_or_none(input.idempotency_key),
    )


def _void_invoice(input: VoidInvoiceInput) -> VoidInvoice:
    ids = GlobalIds()
    pk = ids.key("id", input.id, "Invoice")
    ids.done()
    return VoidInvoice(id=pk, version=given_or_none(input.version), reason=given_or_none(input.reason))


def _sweep_overdue_invoices(input: SweepOverdueInvoicesInput) -> SweepOverdueInvoices:
    return SweepOverdueInvoices(as_of=given_or_none(input.as_of))
