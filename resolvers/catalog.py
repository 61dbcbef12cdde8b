"""Every readable entity, assembled from the domains."""

from resolvers.activity.sql import AUDIT_ENTRY, INTEGRATION_EVENT
from resolvers.customers.sql import CUSTOMER
from resolvers.departments.sql import DEPARTMENT
from resolvers.employees.sql import EMPLOYEE, EMPLOYMENT_EVENT
from resolvers.invoices.sql import INVOICE, INVOICE_LINE, PAYMENT
from resolvers.orders.sql import ORDER, ORDER_LINE
from resolvers.planner.catalog import Catalog
from resolvers.products.sql import PRODUCT

CATALOG = Catalog(
    [
        CUSTOMER, PRODUCT, ORDER, ORDER_LINE, INVOICE, INVOICE_LINE, PAYMENT, EMPLOYEE, EMPLOYMENT_EVENT, DEPARTMENT,
        AUDIT_ENTRY, INTEGRATION_EVENT,
    ]
)
