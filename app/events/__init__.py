"""The event catalog: every event bizgraph emits, what it is about and what it carries.

An event is declared once, here (each domain's events in its own module of this
package), with its name, the entity it is about and its payload type, a
``TypedDict`` of JSON values keyed as integrators read them (camelCase, global
IDs as strings). Payload values are what the command holds (``Decimal``,
``datetime``, ``date``); the outbox stores them as JSON (decimal and ISO 8601
strings). Commands emit only through
``EVENT.announce(payload)``, which mypy checks against the declared payload type
and which refuses, at run time too, a payload that lacks a required key or carries an
undeclared one. What integrators, subscriptions and webhooks rely on, and the
README's event table, come from ``CATALOG``.
"""

from __future__ import annotations

from app.events import customers, employees, invoices, orders, products, webhooks
from app.events.catalog import CATALOG, Announcement, EventType, declare

__all__ = [
    "CATALOG",
    "Announcement",
    "EventType",
    "customers",
    "declare",
    "employees",
    "invoices",
    "orders",
    "products",
    "webhooks",
]
