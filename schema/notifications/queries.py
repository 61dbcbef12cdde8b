"""The email deliveries root field."""

from __future__ import annotations

import strawberry

from schema.pagination import root_connection_field


@strawberry.type
class NotificationQueries:
    email_deliveries = root_connection_field(
        "notifications",
        "EmailDelivery",
        "The emails sent (or to be sent) to customers and staff, newest first, each with its attempts:"
        " the organization's admins only.",
    )
