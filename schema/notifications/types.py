"""Email deliveries and their attempts."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.connections import connection_types
from schema.node import Node
from schema.pagination import connection_field

if TYPE_CHECKING:  # the lazy reference below, for the type checker
    from schema.activity.types import IntegrationEvent

IntegrationEventRef = Annotated["IntegrationEvent", strawberry.lazy("schema.activity.types")]


@strawberry.enum(description="A kind of email bizgraph sends.")
class EmailKind(enum.Enum):
    ORDER_CONFIRMATION = "ORDER_CONFIRMATION"
    INVOICE_ISSUED = "INVOICE_ISSUED"
    PAYMENT_RECEIPT = "PAYMENT_RECEIPT"
    OVERDUE_REMINDER = "OVERDUE_REMINDER"
    EMPLOYEE_HIRED = "EMPLOYEE_HIRED"
    EMPLOYEE_LEAVE = "EMPLOYEE_LEAVE"


@strawberry.enum(description="Where an email delivery stands.")
class EmailDeliveryStatus(enum.Enum):
    PENDING = strawberry.enum_value("PENDING", description="Not sent yet: due at nextAttemptAt.")
    SENT = strawberry.enum_value("SENT", description="The SMTP server accepted it.")
    FAILED = strawberry.enum_value("FAILED", description="Given up: refused for good, or every retry failed.")
    SKIPPED = strawberry.enum_value("SKIPPED", description="Not sent on purpose: reason says why (an opt-out).")


@strawberry.enum(description="How one attempt to send an email ended.")
class EmailAttemptOutcome(enum.Enum):
    SENT = strawberry.enum_value("SENT", description="Accepted by the SMTP server.")
    REFUSED = strawberry.enum_value("REFUSED", description="The SMTP server answered with a refusal.")
    ERROR = strawberry.enum_value("ERROR", description="No answer to be had: no connection, a timeout, a render error.")


@strawberry.type(description="One try at sending an email.")
class EmailAttempt(Node):
    attempt_no: int = strawberry.field(description="1 for the first try, then 2, 3 …")
    attempted_at: dt.datetime = strawberry.field(description="When it was made.")
    outcome: EmailAttemptOutcome = strawberry.field(description="How it ended.")
    smtp_code: int | None = strawberry.field(description="The SMTP server's reply code, when it answered.")
    smtp_response: str | None = strawberry.field(description="The server's reply text, or the connection error.")
    latency_ms: int = strawberry.field(description="How long the try took, in milliseconds.")
    delivery: EmailDelivery = strawberry.field(description="The email it tried to send.")


@strawberry.type(
    description="One email to one recipient about one event (an order confirmation, an invoice with its PDF …),"
    " with its retries. Admins only."
)
class EmailDelivery(Node):
    kind: EmailKind = strawberry.field(description="What kind of email.")
    recipient: str = strawberry.field(description="The address it goes to.")
    status: EmailDeliveryStatus = strawberry.field(description="Where it stands.")
    reason: str | None = strawberry.field(description="Why it was skipped or failed.")
    subject: str | None = strawberry.field(description="The subject, once it was rendered.")
    attempts: int = strawberry.field(description="How many tries were made.")
    next_attempt_at: dt.datetime | None = strawberry.field(description="When the next try is due, while pending.")
    sent_at: dt.datetime | None = strawberry.field(description="When the SMTP server accepted it.")
    event_type: str = strawberry.field(description="The event that caused it, e.g. `order.placed`.")
    entity_type: str = strawberry.field(description="The type of the entity the event is about.")
    entity_id: strawberry.ID = strawberry.field(description="The global ID of the entity the event is about.")
    event: IntegrationEventRef = strawberry.field(description="The event that caused it.")
    attempt_log = connection_field("notifications", "EmailAttempt", "Every try, oldest first.")
    created_at: dt.datetime = strawberry.field(description="When it was made from its event.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")


EmailDeliveryEdge, EmailDeliveryConnection = connection_types(EmailDelivery, "email deliveries")
EmailAttemptEdge, EmailAttemptConnection = connection_types(EmailAttempt, "email attempts")
