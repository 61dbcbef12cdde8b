"""The customer events integrators rely on are declared in the event catalog,
under the names the customer lifecycle announces."""

from __future__ import annotations

from app.events import CATALOG
from app.workflows import CUSTOMER


def test_every_event_of_the_customer_lifecycle_is_declared_about_customers():
    for step in CUSTOMER.transitions.values():
        assert step.event is not None, step.name
        assert CATALOG[step.event].entity == "Customer", step.event


def test_the_customer_events_and_their_payload_keys_stay_as_integrators_know_them():
    declared = {name: event.keys for name, event in CATALOG.items() if event.entity == "Customer"}
    assert declared == {
        "customer.created": {"number", "status"},
        "customer.updated": {"fields"},
        "customer.activated": {"from", "to"},
        "customer.deactivated": {"from", "to"},
        "customer.reactivated": {"from", "to"},
    }
    assert all(CATALOG[name].required_keys == keys for name, keys in declared.items())
