"""The order events in the catalog: every event the order workflow names is
declared for orders, and a payload key declared as sometimes present may
really be left out (an automatic approval has no previous state)."""

from __future__ import annotations

from decimal import Decimal

from app.events import CATALOG
from app.events.orders import ORDER_APPROVED, OrderApprovedPayload
from app.workflows import ORDER


def test_every_event_of_the_order_workflow_is_declared_for_orders() -> None:
    named = {step.event for step in ORDER.transitions.values() if step.event is not None}
    assert named and named <= set(CATALOG)
    assert {CATALOG[name].entity for name in named} == {"Order"}


def test_an_approval_may_be_automatic_or_from_a_previous_state() -> None:
    summary = {"number": "SO-0000001", "status": "approved", "total": Decimal("10.00")}
    automatic = OrderApprovedPayload(number="SO-0000001", status="approved", total=Decimal("10.00"), automatic=True)
    manual = OrderApprovedPayload(number="SO-0000001", status="approved", total=Decimal("10.00"), previous="placed")
    assert ORDER_APPROVED.announce(automatic).payload == {**summary, "automatic": True}
    assert ORDER_APPROVED.announce(manual).payload == {**summary, "previous": "placed"}
    assert ORDER_APPROVED.required_keys == {"number", "status", "total"}
