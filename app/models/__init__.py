"""SQLAlchemy tables, one module per domain. Importing this package registers them all."""

from app.models.base import Base
from app.models.billing import Invoice, InvoiceLine, Payment
from app.models.hr import Department, Employee, EmploymentEvent
from app.models.notifications import EmailAttempt, EmailCursor, EmailDelivery
from app.models.org import OAuthClient, Organization, User
from app.models.sales import Customer, Order, OrderLine, Product
from app.models.system import AuditEntry, Counter, IdempotencyKey, OutboxEvent, StoredOperation
from app.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookProgress

metadata = Base.metadata

__all__ = [
    "AuditEntry",
    "Base",
    "Counter",
    "Customer",
    "Department",
    "EmailAttempt",
    "EmailCursor",
    "EmailDelivery",
    "Employee",
    "EmploymentEvent",
    "IdempotencyKey",
    "Invoice",
    "InvoiceLine",
    "OAuthClient",
    "Order",
    "OrderLine",
    "Organization",
    "OutboxEvent",
    "Payment",
    "Product",
    "StoredOperation",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookProgress",
    "metadata",
]
