"""Aggregate groups for analysts: one type per aggregated entity."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET

from schema.customers.types import CustomerSegment
from schema.employees.types import EmployeeStatus
from schema.invoices.types import InvoiceStatus, PaymentMethod
from schema.orders.types import OrderStatus

if TYPE_CHECKING:  # the lazy references below, for the type checker
    from schema.customers.types import Customer
    from schema.departments.types import Department
    from schema.employees.types import Employee
    from schema.products.types import Product

CustomerRef = Annotated["Customer", strawberry.lazy("schema.customers.types")]
EmployeeRef = Annotated["Employee", strawberry.lazy("schema.employees.types")]
ProductRef = Annotated["Product", strawberry.lazy("schema.products.types")]
DepartmentRef = Annotated["Department", strawberry.lazy("schema.departments.types")]

BUCKET_HELP = "Start of the time bucket (a local date in the organization's time zone); null unless grouped by time."
COUNT_HELP = "How many rows are in the group."


@strawberry.enum(description="Calendar period to group by, in the organization's time zone (weeks start on Monday).")
class TimeBucket(enum.Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


# Each aggregate function (sum, avg, min, max) answers with one of these: the
# measures of its entity, null for an empty group.
@strawberry.type(description="Order amounts under one aggregate function (exact decimals; averages rounded to cents).")
class OrderMeasures:
    subtotal: decimal.Decimal | None = strawberry.field(description="Order subtotals.")
    tax: decimal.Decimal | None = strawberry.field(description="Order tax.")
    total: decimal.Decimal | None = strawberry.field(description="Order totals.")


@strawberry.type(
    description="Invoice amounts under one aggregate function (exact decimals; averages rounded to cents)."
)
class InvoiceMeasures:
    total: decimal.Decimal | None = strawberry.field(description="Invoice totals.")
    amount_paid: decimal.Decimal | None = strawberry.field(description="Amounts paid.")
    amount_due: decimal.Decimal | None = strawberry.field(description="Amounts still due.")


@strawberry.type(description="Payment amounts under one aggregate function.")
class PaymentMeasures:
    amount: decimal.Decimal | None = strawberry.field(description="Payment amounts.")


@strawberry.type(description="Order line quantities and amounts under one aggregate function.")
class OrderLineMeasures:
    quantity: decimal.Decimal | None = strawberry.field(description="Units (averages to four places).")
    line_total: decimal.Decimal | None = strawberry.field(description="Line totals.")


@strawberry.type(description="Employee salaries under one aggregate function.")
class EmployeeMeasures:
    salary: decimal.Decimal | None = strawberry.field(description="Yearly salaries.")


@strawberry.type(description="Orders grouped by the requested time bucket and dimensions.")
class OrderGroup:
    bucket: dt.date | None = strawberry.field(description=BUCKET_HELP + " Orders bucket by placedAt.")
    status: OrderStatus | None = strawberry.field(description="Status, when grouped by STATUS.")
    customer: CustomerRef | None = strawberry.field(description="Customer, when grouped by CUSTOMER.")
    customer_segment: CustomerSegment | None = strawberry.field(description="When grouped by CUSTOMER_SEGMENT.")
    customer_country: str | None = strawberry.field(description="When grouped by CUSTOMER_COUNTRY.")
    sales_rep: EmployeeRef | None = strawberry.field(description="When grouped by SALES_REP.")
    account_manager: EmployeeRef | None = strawberry.field(description="When grouped by ACCOUNT_MANAGER.")
    count: int = strawberry.field(description=COUNT_HELP)
    sum: OrderMeasures = strawberry.field(description="Sums.")
    avg: OrderMeasures = strawberry.field(description="Averages.")
    min: OrderMeasures = strawberry.field(description="Minimums.")
    max: OrderMeasures = strawberry.field(description="Maximums.")


@strawberry.type(description="Invoices grouped by the requested time bucket and dimensions.")
class InvoiceGroup:
    bucket: dt.date | None = strawberry.field(description=BUCKET_HELP + " Invoices bucket by issuedAt.")
    status: InvoiceStatus | None = strawberry.field(description="Status, when grouped by STATUS.")
    customer: CustomerRef | None = strawberry.field(description="Customer, when grouped by CUSTOMER.")
    customer_segment: CustomerSegment | None = strawberry.field(description="When grouped by CUSTOMER_SEGMENT.")
    customer_country: str | None = strawberry.field(description="When grouped by CUSTOMER_COUNTRY.")
    count: int = strawberry.field(description=COUNT_HELP)
    sum: InvoiceMeasures = strawberry.field(description="Sums.")
    avg: InvoiceMeasures = strawberry.field(description="Averages.")
    min: InvoiceMeasures = strawberry.field(description="Minimums.")
    max: InvoiceMeasures = strawberry.field(description="Maximums.")


@strawberry.type(description="Payments grouped by the requested time bucket and dimensions.")
class PaymentGroup:
    bucket: dt.date | None = strawberry.field(description=BUCKET_HELP + " Payments bucket by paidAt.")
    method: PaymentMethod | None = strawberry.field(description="Method, when grouped by METHOD.")
    count: int = strawberry.field(description=COUNT_HELP)
    sum: PaymentMeasures = strawberry.field(description="Sums.")
    avg: PaymentMeasures = strawberry.field(description="Averages.")
    min: PaymentMeasures = strawberry.field(description="Minimums.")
    max: PaymentMeasures = strawberry.field(description="Maximums.")


@strawberry.type(description="Order lines grouped by the requested time bucket and dimensions.")
class OrderLineGroup:
    bucket: dt.date | None = strawberry.field(description=BUCKET_HELP + " Lines bucket by their order's placedAt.")
    product: ProductRef | None = strawberry.field(description="Product, when grouped by PRODUCT.")
    order_status: OrderStatus | None = strawberry.field(description="When grouped by ORDER_STATUS.")
    count: int = strawberry.field(description=COUNT_HELP)
    sum: OrderLineMeasures = strawberry.field(description="Sums.")
    avg: OrderLineMeasures = strawberry.field(description="Averages.")
    min: OrderLineMeasures = strawberry.field(description="Minimums.")
    max: OrderLineMeasures = strawberry.field(description="Maximums.")


@strawberry.type(description="Employees grouped by the requested time bucket and dimensions.")
class EmployeeGroup:
    bucket: dt.date | None = strawberry.field(description=BUCKET_HELP + " Employees bucket by hiredOn.")
    status: EmployeeStatus | None = strawberry.field(description="Status, when grouped by STATUS.")
    department: DepartmentRef | None = strawberry.field(description="When grouped by DEPARTMENT.")
    count: int = strawberry.field(description=COUNT_HELP)
    sum: EmployeeMeasures = strawberry.field(description="Sums.")
    avg: EmployeeMeasures = strawberry.field(description="Averages.")
    min: EmployeeMeasures = strawberry.field(description="Minimums.")
    max: EmployeeMeasures = strawberry.field(description="Maximums.")


@strawberry.enum(description="What orders can be grouped by.")
class OrderDimension(enum.Enum):
    STATUS = "STATUS"
    CUSTOMER = "CUSTOMER"
    CUSTOMER_SEGMENT = "CUSTOMER_SEGMENT"
    CUSTOMER_COUNTRY = "CUSTOMER_COUNTRY"
    SALES_REP = "SALES_REP"
    ACCOUNT_MANAGER = "ACCOUNT_MANAGER"


@strawberry.enum(description="What invoices can be grouped by.")
class InvoiceDimension(enum.Enum):
    STATUS = "STATUS"
    CUSTOMER = "CUSTOMER"
    CUSTOMER_SEGMENT = "CUSTOMER_SEGMENT"
    CUSTOMER_COUNTRY = "CUSTOMER_COUNTRY"


@strawberry.enum(description="What payments can be grouped by.")
class PaymentDimension(enum.Enum):
    METHOD = "METHOD"


@strawberry.enum(description="What order lines can be grouped by.")
class OrderLineDimension(enum.Enum):
    PRODUCT = "PRODUCT"
    ORDER_STATUS = "ORDER_STATUS"


@strawberry.enum(description="What employees can be grouped by.")
class EmployeeDimension(enum.Enum):
    STATUS = "STATUS"
    DEPARTMENT = "DEPARTMENT"


@strawberry.input(description="How to group orders; with nothing, one group of all of them.")
class OrderGroupBy:
    bucket: TimeBucket | None = strawberry.field(default=UNSET, description="Group by this calendar period.")
    dimensions: list[OrderDimension] | None = strawberry.field(
        default=UNSET, description="Group by these dimensions, in this order."
    )


@strawberry.input(description="How to group invoices; with nothing, one group of all of them.")
class InvoiceGroupBy:
    bucket: TimeBucket | None = strawberry.field(default=UNSET, description="Group by this calendar period.")
    dimensions: list[InvoiceDimension] | None = strawberry.field(
        default=UNSET, description="Group by these dimensions, in this order."
    )


@strawberry.input(description="How to group payments; with nothing, one group of all of them.")
class PaymentGroupBy:
    bucket: TimeBucket | None = strawberry.field(default=UNSET, description="Group by this calendar period.")
    dimensions: list[PaymentDimension] | None = strawberry.field(
        default=UNSET, description="Group by these dimensions, in this order."
    )


@strawberry.input(description="How to group order lines; with nothing, one group of all of them.")
class OrderLineGroupBy:
    bucket: TimeBucket | None = strawberry.field(default=UNSET, description="Group by this calendar period.")
    dimensions: list[OrderLineDimension] | None = strawberry.field(
        default=UNSET, description="Group by these dimensions, in this order."
    )


@strawberry.input(description="How to group employees; with nothing, one group of all of them.")
class EmployeeGroupBy:
    bucket: TimeBucket | None = strawberry.field(default=UNSET, description="Group by this calendar period.")
    dimensions: list[EmployeeDimension] | None = strawberry.field(
        default=UNSET, description="Group by these dimensions, in this order."
    )
