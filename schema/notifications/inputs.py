"""Email delivery and attempt filters and sorting, derived from their catalog entries."""

from __future__ import annotations

from resolvers.notifications.catalog import EMAIL_ATTEMPT, EMAIL_DELIVERY
from schema.derived_inputs import filter_input, sort_inputs
from schema.notifications.types import EmailAttempt, EmailDelivery


@filter_input(EMAIL_DELIVERY, EmailDelivery)
class EmailDeliveryFilter:
    """Its fields are the filters of ``EMAIL_DELIVERY`` in resolvers/notifications/catalog.py."""


EmailDeliverySortField, EmailDeliverySort = sort_inputs(EMAIL_DELIVERY)


@filter_input(EMAIL_ATTEMPT, EmailAttempt)
class EmailAttemptFilter:
    """Its fields are the filters of ``EMAIL_ATTEMPT`` in resolvers/notifications/catalog.py."""


EmailAttemptSortField, EmailAttemptSort = sort_inputs(EMAIL_ATTEMPT)
