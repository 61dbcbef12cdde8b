"""Every readable entity, assembled from the domains."""

from resolvers.activity.catalog import AUDIT_ENTRY, INTEGRATION_EVENT
from resolvers.customers.catalog import CUSTOMER
from resolvers.departments.catalog import DEPARTMENT
from resolvers.employees.catalog import EMPLOYEE, EMPLOYMENT_EVENT
from resolvers.invoices.catalog import INVOICE, INVOICE_LINE, PAYMENT
from resolvers.notifications.catalog import EMAIL_ATTEMPT, EMAIL_DELIVERY
from resolvers.orders.catalog import ORDER, ORDER_LINE
from resolvers.planner.catalog import Catalog
from resolvers.products.catalog import PRODUCT
from resolvers.webhooks.catalog import WEBHOOK_ATTEMPT, WEBHOOK_DELIVERY, WEBHOOK_ENDPOINT

CATALOG = Catalog(
    [
        CUSTOMER,
        PRODUCT,
        ORDER,
        ORDER_LINE,
        INVOICE,
        INVOICE_LINE,
        PAYMENT,
        EMPLOYEE,
        EMPLOYMENT_EVENT,
        DEPARTMENT,
        AUDIT_ENTRY,
        INTEGRATION_EVENT,
        EMAIL_DELIVERY,
        EMAIL_ATTEMPT,
        WEBHOOK_ENDPOINT,
        WEBHOOK_DELIVERY,
        WEBHOOK_ATTEMPT,
    ]
)
