"""Audit entry and integration event filters and sorting, derived from their catalog entries."""

from __future__ import annotations

from resolvers.activity.catalog import AUDIT_ENTRY, INTEGRATION_EVENT
from schema.activity.types import AuditEntry, IntegrationEvent
from schema.derived_inputs import filter_input, sort_inputs


@filter_input(AUDIT_ENTRY, AuditEntry)
class AuditEntryFilter:
    """Its fields are the filters of ``AUDIT_ENTRY`` in resolvers/activity/catalog.py."""


AuditEntrySortField, AuditEntrySort = sort_inputs(AUDIT_ENTRY)


@filter_input(INTEGRATION_EVENT, IntegrationEvent)
class IntegrationEventFilter:
    """Its fields are the filters of ``INTEGRATION_EVENT`` in resolvers/activity/catalog.py."""


IntegrationEventSortField, IntegrationEventSort = sort_inputs(INTEGRATION_EVENT)
