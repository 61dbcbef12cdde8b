"""Aggregate groups for analysts: one type per aggregated entity."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Annotated, List, Optional

import strawberry
from strawberry import UNSET

from schema.customers.types import CustomerSegment
from schema.employees.types import EmployeeStatus
from schema.invoices.types import InvoiceStatus, PaymentMethod
from schema.orders.types import OrderStatus

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


def _measures(name: str, fields: dict[str, str], description: str) -> type:
    namespace: dict = {"__annotations__": {}}
    for field, help_text in fields.items():
        namespace["__annotations__"][field] = Optional[decimal.Decimal]
        namespace[field] = strawberry.field(description=help_text)
    return strawberry.type(type(name, (), namespace), description=description)


OrderMeasures = _measures(
    "OrderMeasures",
    {"subtotal": "Order subtotals.", "tax": "Order tax.", "total": "Order totals."},
    "Order amounts under one aggregate function (exact decimals; averages rounded to cents).",
)
InvoiceMeasures = _measures(
    "InvoiceMeasures",
    {"total": "Invoice totals.", "amount_paid": "Amounts paid.", "amount_due": "Amounts still due."},
    "Invoice amounts under one aggregate function (exact decimals; averages rounded to cents).",
)
PaymentMeasures = _measures(
    "PaymentMeasures", {"amount": "Payment amounts."}, "Payment amounts under one aggregate function."
)
OrderLineMeasures = _measures(
    "OrderLineMeasures",
    {"quantity": "Units (averages to four places).", "line_total": "Line totals."},
    "Order line quantities and amounts under one aggregate function.",
)
EmployeeMeasures = _measures(
    "EmployeeMeasures", {"salary": "Yearly salaries."}, "Employee salaries under one aggregate function."
)


@strawberry.type(description="Orders grouped by the requested time bucket and dimensions.")
class OrderGroup:
    bucket: Optional[dt.date] = strawberry.field(description=BUCKET_HELP + " Orders bucket by placedAt.")
    status: Optional[OrderStatus] = strawberry.field(description="Status, when grouped by STATUS.")
    customer: Optional[CustomerRef] = strawberry.field(description="Customer, when grouped by CUSTOMER.")
    customer_segment: Optional[CustomerSegment] = strawberry.field(description="When grouped by CUSTOMER_SEGMENT.")
    customer_country: Optional[str] = strawberry.field(description="When grouped by CUSTOMER_COUNTRY.")
    sales_rep: Optional[EmployeeRef] = strawberry.field(description="When grouped by SALES_REP.")
    account_manager: Optional[EmployeeRef] = strawberry.field(description="When grouped by ACCOUNT_MANAGER.")
    count: int = strawberry.field(description=COUNT_HELP)
    sum: OrderMeasures = strawberry.field(description="Sums.")
    avg: OrderMeasures = strawberry.field(description="Averages.")
    min: OrderMeasures = strawberry.field(description="Minimums.")
    max: OrderMeasures = strawberry.field(description="Maximums.")


@strawberry.type(description="Invoices grouped by the requested time bucket and dimensions.")
class InvoiceGroup:
    bucket: Optional[dt.date] = strawberry.field(description=BUCKET_HELP + " Invoices bucket by issuedAt.")
    status: Optional[InvoiceStatus] = strawberry.field(description="Status, when grouped by STATUS.")
    customer: Optional[CustomerRef] = strawberry.field(description="Customer, when grouped by CUSTOMER.")
    customer_segment: Optional[CustomerSegment] = strawberry.field(description="When grouped by CUSTOMER_SEGMENT.")
    customer_country: Optional[str] = strawberry.field(description="When grouped by CUSTOMER_COUNTRY.")
    count: int = strawberry.field(description=COUNT_HELP)
    sum: InvoiceMeasures = strawberry.field(description="Sums.")
    avg: InvoiceMeasures = strawberry.field(description="Averages.")
    min: InvoiceMeasures = strawberry.field(description="Minimums.")
    max: InvoiceMeasures = strawberry.field(description="Maximums.")


@strawberry.type(description="Payments grouped by the requested time bucket and dimensions.")
class PaymentGroup:
    bucket: Optional[dt.date] = strawberry.field(description=BUCKET_HELP + " Payments bucket by paidAt.")
    method: Optional[PaymentMethod] = strawberry.field(description="Method, when grouped by METHOD.")
    count: int = strawberry.field(description=COUNT_HELP)
    sum: PaymentMeasures = strawberry.field(description="Sums.")
    avg: PaymentMeasures = strawberry.field(description="Averages.")
    min: PaymentMeasures = strawberry.field(description="Minimums.")
    max: PaymentMeasures = strawberry.field(description="Maximums.")


@strawberry.type(description="Order lines grouped by the requested time bucket and dimensions.")
class OrderLineGroup:
    bucket: Optional[dt.date] = strawberry.field(description=BUCKET_HELP + " Lines bucket by their order's placedAt.")
    product: Optional[ProductRef] = strawberry.field(description="Product, when grouped by PRODUCT.")
    order_status: Optional[OrderStatus] = strawberry.field(description="When grouped by ORDER_STATUS.")
    count: int = strawberry.field(description=COUNT_HELP)
    sum: OrderLineMeasures = strawberry.field(description="Sums.")
    avg: OrderLineMeasures = strawberry.field(description="Averages.")
    min: OrderLineMeasures = strawberry.field(description="Minimums.")
    max: OrderLineMeasures = strawberry.field(description="Maximums.")


@strawberry.type(description="Employees grouped by the requested time bucket and dimensions.")
class EmployeeGroup:
    bucket: Optional[dt.date] = strawberry.field(description=BUCKET_HELP + " Employees bucket by hiredOn.")
    status: Optional[EmployeeStatus] = strawberry.field(description="Status, when grouped by STATUS.")
    department: Optional[DepartmentRef] = strawberry.field(description="When grouped by DEPARTMENT.")
    count: int = strawberry.field(description=COUNT_HELP)
    sum: EmployeeMeasures = strawberry.field(description="Sums.")
    avg: EmployeeMeasures = strawberry.field(description="Averages.")
    min: EmployeeMeasures = strawberry.field(description="Minimums.")
    max: EmployeeMeasures = strawberry.field(description="Maximums.")


def _dimension_enum(name: str, values: list[str], what: str) -> type:
    return strawberry.enum(enum.Enum(name, {v: v for v in values}), description=f"What {what} can be grouped by.")


OrderDimension = _dimension_enum(
    "OrderDimension",
    ["STATUS", "CUSTOMER", "CUSTOMER_SEGMENT", "CUSTOMER_COUNTRY", "SALES_REP", "ACCOUNT_MANAGER"],
    "orders",
)
InvoiceDimension = _dimension_enum(
    "InvoiceDimension", ["STATUS", "CUSTOMER", "CUSTOMER_SEGMENT", "CUSTOMER_COUNTRY"], "invoices"
)
PaymentDimension = _dimension_enum("PaymentDimension", ["METHOD"], "payments")
OrderLineDimension = _dimension_enum("OrderLineDimension", ["PRODUCT", "ORDER_STATUS"], "order lines")
EmployeeDimension = _dimension_enum("EmployeeDimension", ["STATUS", "DEPARTMENT"], "employees")


def _group_by(name: str, dimension: type, what: str) -> type:
    namespace = {
        "__annotations__": {"bucket": Optional[TimeBucket], "dimensions": Optional[List[dimension]]},
        "bucket": strawberry.field(default=UNSET, description="Group by this calendar period."),
        "dimensions": strawberry.field(default=UNSET, description="Group by these dimensions, in this order."),
    }
    return strawberry.input(
        type(name, (), namespace), description=f"How to group {what}; with nothing, one group of all of them."
    )


OrderGroupBy = _group_by("OrderGroupBy", OrderDimension, "orders")
InvoiceGroupBy = _group_by("InvoiceGroupBy", InvoiceDimension, "invoices")
PaymentGroupBy = _group_by("PaymentGroupBy", PaymentDimension, "payments")
OrderLineGroupBy = _group_by("OrderLineGroupBy", OrderLineDimension, "order lines")
EmployeeGroupBy = _group_by("EmployeeGroupBy", EmployeeDimension, "employees")
