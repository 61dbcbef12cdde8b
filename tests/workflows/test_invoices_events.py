"""The invoice events integrators rely on are declared in the event catalog,
under the names the invoice lifecycle announces."""

from __future__ import annotations

from app.events import CATALOG
from app.workflows import INVOICE


def test_every_event_of_the_invoice_lifecycle_is_declared_about_invoices():
    for step in INVOICE.transitions.values():
        assert step.event is not None, step.name
        assert CATALOG[step.event].entity == "Invoice", step.event


def test_the_invoice_events_and_their_payload_keys_stay_as_integrators_know_them():
    declared = {name: event.keys for name, event in CATALOG.items() if event.entity == "Invoice"}
    assert declared == {
        "invoice.issued": {"number", "orderId", "total"},
        "invoice.payment_recorded": {"invoiceId", "paymentId", "amount", "amountDue"},
        "invoice.paid": {"invoiceId", "number", "total"},
        "invoice.overdue": {"invoiceId", "number", "amountDue"},
        "invoice.voided": {"invoiceId", "number", "orderId"},
    }
    assert all(CATALOG[name].required_keys == keys for name, keys in declared.items())
