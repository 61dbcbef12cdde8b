"""Audit and event root fields."""

from __future__ import annotations

import strawberry

from schema.pagination import root_connection_field


@strawberry.type
class ActivityQueries:
    audit_log = root_connection_field(
        "activity",
        "AuditEntry",
        "Who changed what, newest first: admin sees everything, finance the sales ledger's records, "
        "hr the people records.",
    )
    events = root_connection_field(
        "activity",
        "IntegrationEvent",
        "Integration events in the order their changes committed, for consumers that react to changes. To resume, "
        "pass the cursor of the last edge you processed as `after`: a cursor is the event's commit position, so no "
        "event can appear behind it later (event IDs are taken before commit, so paging by ID could skip an event "
        "that commits late).",
    )
